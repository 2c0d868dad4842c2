"""Per-step overhead of pufferlib's emulation wrappers.

For each observation layout, times ``step`` on the raw env, on Gymnasium's
``FlattenObservation`` wrapper and on ``GymnasiumPufferEnv`` (standalone, and with a
shared buffer injected as a vector backend does). Raw envs return preallocated
observations so that wrapper overhead dominates. Variants are interleaved within each
repetition and medians are taken, so machine noise hits all of them alike.

Prints one JSON line per case: microseconds per step of each variant, each wrapper's
overhead over the raw env, and ``ratio_vs_flatten`` = puffer overhead / Gymnasium
overhead measured in the same run (targets: <= 1.0 for nested observations; Box
passthrough overhead <= 2 us). A last line times ``PettingZooPufferEnv`` per agent step.

Usage: python bench/emulation.py [--steps 20000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from gymnasium.spaces import Box, Dict, Discrete, MultiBinary, Tuple
from gymnasium.wrappers import FlattenObservation
from pettingzoo import ParallelEnv

from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv, make_buffer


class ConstantEnv(gymnasium.Env):
    """Returns the same preallocated observation forever: the cheapest possible env."""

    def __init__(self, observation_space: gymnasium.Space, action_space: gymnasium.Space):
        self.observation_space, self.action_space = observation_space, action_space
        self.observation_space.seed(0)
        self.obs = self.observation_space.sample()
        self.info: dict = {}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        return self.obs, self.info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        return self.obs, 1.0, False, False, self.info


CASES: dict[str, tuple[gymnasium.Space, gymnasium.Space]] = {
    "box": (Box(-1.0, 1.0, (4,), np.float32), Discrete(2)),
    "ocean_spaces_dict": (
        Dict({"image": Box(0.0, 1.0, (5, 5), np.float32), "flat": Box(-1, 1, (5,), np.int8)}),
        Dict({"image": Discrete(2), "flat": Discrete(2)}),
    ),
    "deep_nested": (
        Dict({
            "agent": Dict({
                "pos": Box(-1.0, 1.0, (2,), np.float32),
                "stats": Tuple((Discrete(5), Box(0, 9, (3,), np.int32))),
            }),
            "map": Tuple((Box(0, 3, (4, 4), np.uint8), Dict({"seen": MultiBinary(6), "goal": Discrete(9)}))),
            "time": Box(0.0, 1.0, (1,), np.float64),
        }),
        Discrete(4),
    ),
}


def time_steps(step: Callable[[Any], Any], action: Any, steps: int) -> float:
    """Microseconds per call of ``step(action)``."""
    start = time.perf_counter_ns()
    for _ in range(steps):
        step(action)
    return (time.perf_counter_ns() - start) / steps / 1e3


def bench_case(name: str, steps: int, repeats: int) -> dict:
    observation_space, action_space = CASES[name]

    def raw_env() -> ConstantEnv:
        return ConstantEnv(observation_space, action_space)

    puffer = GymnasiumPufferEnv(raw_env())
    shared = GymnasiumPufferEnv(raw_env())
    shared.buf = make_buffer(shared.single_observation_space)
    variants = {
        "raw": raw_env(),
        "gymnasium_flatten": FlattenObservation(raw_env()),
        "puffer": puffer,
        "puffer_shared_buffer": shared,
    }
    action_space.seed(0)
    puffer.action_space.seed(0)
    native_action, flat_action = action_space.sample(), puffer.action_space.sample()
    actions = {key: flat_action if key.startswith("puffer") else native_action for key in variants}
    for env in variants.values():
        env.reset(seed=0)
        time_steps(env.step, actions[next(k for k, v in variants.items() if v is env)], 200)

    samples: dict[str, list[float]] = {key: [] for key in variants}
    for _ in range(repeats):
        for key, env in variants.items():
            samples[key].append(time_steps(env.step, actions[key], steps))
    us = {key: statistics.median(values) for key, values in samples.items()}
    overhead = {key: us[key] - us["raw"] for key in variants if key != "raw"}
    return {
        "bench": "emulation_step",
        "case": name,
        "us_per_step": {key: round(value, 3) for key, value in us.items()},
        "overhead_us": {key: round(value, 3) for key, value in overhead.items()},
        "ratio_vs_flatten": round(overhead["puffer"] / overhead["gymnasium_flatten"], 3),
        "ratio_vs_flatten_shared_buffer": round(
            overhead["puffer_shared_buffer"] / overhead["gymnasium_flatten"], 3),
    }


class ConstantParallelEnv(ParallelEnv):
    """A PettingZoo parallel env of ``n`` immortal agents with constant observations."""

    metadata = {"render_modes": [], "name": "constant_parallel"}

    def __init__(self, n: int, observation_space: gymnasium.Space, action_space: gymnasium.Space):
        self.possible_agents = self.agents = [f"agent_{i}" for i in range(n)]
        self._observation_space, self._action_space = observation_space, action_space
        observation_space.seed(0)
        self.obs = {agent: observation_space.sample() for agent in self.agents}
        self.zeros = dict.fromkeys(self.agents, 0.0)
        self.false = dict.fromkeys(self.agents, False)
        self.infos: dict = {agent: {} for agent in self.agents}

    def observation_space(self, agent: str) -> gymnasium.Space:
        return self._observation_space

    def action_space(self, agent: str) -> gymnasium.Space:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        return self.obs, self.infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        return self.obs, self.zeros, self.false, self.false, self.infos


def bench_pettingzoo(steps: int, repeats: int, n: int = 8) -> dict:
    observation_space, action_space = CASES["ocean_spaces_dict"]
    raw = ConstantParallelEnv(n, observation_space, action_space)
    shared = PettingZooPufferEnv(ConstantParallelEnv(n, observation_space, action_space))
    shared.buf = make_buffer(shared.single_observation_space, n)
    for env in (raw, shared):
        env.reset(seed=0)
    action_space.seed(0)
    native = {agent: action_space.sample() for agent in raw.agents}
    flat = np.zeros((n, 2), np.int64)
    samples: dict[str, list[float]] = {"raw": [], "puffer_shared_buffer": []}
    for _ in range(repeats):
        samples["raw"].append(time_steps(raw.step, native, steps // n))
        samples["puffer_shared_buffer"].append(time_steps(shared.step, flat, steps // n))
    us = {key: statistics.median(values) for key, values in samples.items()}
    return {
        "bench": "emulation_pettingzoo_step",
        "case": "ocean_spaces_dict",
        "agents": n,
        "us_per_step": {key: round(value, 3) for key, value in us.items()},
        "overhead_us_per_agent_step": round((us["puffer_shared_buffer"] - us["raw"]) / n, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for name in CASES:
        print(json.dumps(bench_case(name, args.steps, args.repeats)), flush=True)
    print(json.dumps(bench_pettingzoo(args.steps, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
