"""Agent steps per second of pufferlib.vector backends against peers, in one run.

Profiles: (a) ``free``: a near-free step with a 4-float observation; (b) ``cartpole``:
Gymnasium CartPole-v1; (c) ``slow``: a 100 us busy-wait step with an 84x84 uint8
observation; (d) ``nested``: a near-free step with a nested Dict observation.
For each profile and ``num_envs`` in {2, 8, 32} it measures Serial, Multiprocessing
(synchronous and async pools), Gymnasium SyncVectorEnv/AsyncVectorEnv and
Stable-Baselines3 DummyVecEnv/SubprocVecEnv, plus the physical limit: one bare stepping
loop of the raw env per core, each in its own process, all at the same time.

Each implementation of a (profile, num_envs) group is measured in several interleaved
rounds and keeps its best, so that load from other processes skews no single entry.
Prints one JSON line per measurement, then a table of ratios.
Usage: python bench/vector.py [--quick] [--profiles free,cartpole] [--num-envs 2,8,32]
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

import pufferlib.vector
from measure import timed
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.vector.config import physical_cores

# ------------------------------------------------------------------------------------------
# Env profiles (raw Gymnasium envs; pufferlib wraps them, peers use them as they are)


class FreeEnv(gymnasium.Env):
    """(a) A near-free step: returns a preallocated 4-float observation."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gymnasium.spaces.Discrete(2)

    def __init__(self) -> None:
        self.obs = np.zeros(4, np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        return self.obs, {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        return self.obs, 1.0, False, False, {}


class SlowEnv(gymnasium.Env):
    """(c) A 100 microsecond busy-wait step with an 84x84 uint8 observation."""

    observation_space = gymnasium.spaces.Box(0, 255, (84, 84), np.uint8)
    action_space = gymnasium.spaces.Discrete(4)

    def __init__(self, step_seconds: float = 100e-6) -> None:
        self.step_seconds = step_seconds
        self.obs = np.zeros((84, 84), np.uint8)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        return self.obs, {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        end = time.perf_counter() + self.step_seconds
        while time.perf_counter() < end:
            pass
        return self.obs, 1.0, False, False, {}


class NestedEnv(gymnasium.Env):
    """(d) A near-free step with a nested Dict observation."""

    observation_space = gymnasium.spaces.Dict({
        "position": gymnasium.spaces.Box(-1.0, 1.0, (3,), np.float32),
        "inventory": gymnasium.spaces.Dict({
            "items": gymnasium.spaces.Box(0, 10, (4,), np.int64),
            "slot": gymnasium.spaces.Discrete(5),
        }),
        "view": gymnasium.spaces.Box(0.0, 1.0, (3, 3), np.float32),
    })
    action_space = gymnasium.spaces.Discrete(3)

    def __init__(self) -> None:
        self.obs = self.observation_space.sample()

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        return self.obs, {}

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        return self.obs, 1.0, False, False, {}


def cartpole() -> gymnasium.Env:
    return gymnasium.make("CartPole-v1")


PROFILES: dict[str, Callable[[], gymnasium.Env]] = {
    "free": FreeEnv,
    "cartpole": cartpole,
    "slow": SlowEnv,
    "nested": NestedEnv,
}


# ------------------------------------------------------------------------------------------
# Measurements


def _bare_loop(creator: Callable, seconds: float, start_at: float, results: Any, index: int) -> None:
    env = creator()
    env.reset(seed=index)
    actions = [env.action_space.sample() for _ in range(64)]
    while time.time() < start_at:
        time.sleep(0.001)
    steps = 0
    start = time.perf_counter()
    while True:
        _, _, terminal, truncated, _ = env.step(actions[steps & 63])
        if terminal or truncated:
            env.reset()
        steps += 1
        if steps & 63 == 0 and time.perf_counter() - start >= seconds:
            break
    results[index] = steps / (time.perf_counter() - start)


def physical_limit(creator: Callable, seconds: float, cores: int) -> float:
    """Sum of the step rates of ``cores`` bare loops running at once, one process each."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Array("d", cores)
    start_at = time.time() + 0.3
    processes = [ctx.Process(target=_bare_loop, args=(creator, seconds, start_at, results, i))
                 for i in range(cores)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return float(sum(results))


class Runner:
    """An open vectorized env and a closure taking one batch step (returns agent steps)."""

    def __init__(self, step: Callable[[int], int], close: Callable[[], None]):
        self.step, self.close = step, close


def puffer_runner(creator: Callable, num_envs: int, **kwargs: Any) -> Runner:
    wrapped = functools.partial(GymnasiumPufferEnv, env_creator=creator)
    vecenv = pufferlib.vector.make(wrapped, num_envs=num_envs, **kwargs)
    vecenv.action_space.seed(0)
    actions = [vecenv.action_space.sample() for _ in range(16)]
    vecenv.async_reset(0)
    batch = vecenv.agents_per_batch

    def step(i: int) -> int:
        vecenv.recv()
        vecenv.send(actions[i & 15])
        return batch

    return Runner(step, vecenv.close)


def gymnasium_runner(kind: str, creator: Callable, num_envs: int) -> Runner:
    vector = gymnasium.vector
    envs = (vector.SyncVectorEnv if kind == "sync" else vector.AsyncVectorEnv)([creator] * num_envs)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(16)]
    return Runner(lambda i: envs.step(actions[i & 15]) and num_envs, envs.close)


def sb3_runner(kind: str, creator: Callable, num_envs: int) -> Runner:
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    envs = (DummyVecEnv if kind == "dummy" else SubprocVecEnv)([creator] * num_envs)
    envs.reset()
    space = envs.action_space
    space.seed(0)
    actions = [np.array([space.sample() for _ in range(num_envs)]) for _ in range(16)]
    return Runner(lambda i: envs.step(actions[i & 15]) and num_envs, envs.close)


def candidates(num_envs: int, cores: int) -> dict[str, dict]:
    """pufferlib configurations: Serial, synchronous Multiprocessing, async pools (two workers
    per core in batches of half the envs, with and without zero copy; one batch per core)."""
    configs = {
        "puffer-serial": dict(backend="serial"),
        "puffer-mp-sync": dict(backend="multiprocessing", num_workers=min(cores, num_envs)),
    }
    if num_envs >= 2 * cores:
        half = num_envs // 2
        configs["puffer-mp-pool"] = dict(backend="multiprocessing", num_workers=2 * cores, batch_size=half)
        configs["puffer-mp-pool-copy"] = dict(configs["puffer-mp-pool"], zero_copy=False)
        if num_envs % cores == 0:
            # One batch per core (what autotune tries first): each worker's envs are one
            # batch, stepped while the parent handles the other workers' batches.
            configs["puffer-mp-pool-core"] = dict(backend="multiprocessing", num_workers=cores,
                                                  batch_size=num_envs // cores)
    elif num_envs >= 2:
        configs["puffer-mp-pool"] = dict(backend="multiprocessing", num_workers=num_envs,
                                         batch_size=num_envs // 2)
    return configs


def run(profiles: list[str], sizes: list[int], seconds: float, rounds: int) -> list[dict]:
    """Every implementation of a (profile, num_envs) group is measured once per round, the
    rounds interleaved, and keeps its best round: on a shared machine, load that comes and
    goes then hits every implementation alike instead of whichever ran at the wrong time."""
    cores = physical_cores()
    rows = []

    def emit(**row: Any) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)

    for profile in profiles:
        creator = PROFILES[profile]
        limit = 0.0
        for num_envs in sizes:
            factories: dict[str, Callable[[], Runner]] = {
                name: functools.partial(puffer_runner, creator, num_envs, **config)
                for name, config in candidates(num_envs, cores).items()
            }
            for kind in ("sync", "async"):
                factories[f"gymnasium-{kind}"] = functools.partial(gymnasium_runner, kind, creator, num_envs)
            if profile != "nested":  # SB3 vector envs reject nested Dict observations
                for kind in ("dummy", "subproc"):
                    factories[f"sb3-{kind}"] = functools.partial(sb3_runner, kind, creator, num_envs)
            runners = {name: make() for name, make in factories.items()}
            best = dict.fromkeys(runners, 0.0)
            try:
                for _ in range(rounds):
                    limit = max(limit, physical_limit(creator, seconds, cores))
                    for name, runner in runners.items():
                        best[name] = max(best[name], timed(runner.step, seconds))
            finally:
                for runner in runners.values():
                    runner.close()
            for name, sps in best.items():
                config = candidates(num_envs, cores).get(name)
                emit(profile=profile, num_envs=num_envs, impl=name, config=config, sps=sps)
        emit(profile=profile, num_envs=None, impl="limit", sps=limit, cores=cores)
    return rows


def report(rows: list[dict]) -> None:
    limits = {r["profile"]: r["sps"] for r in rows if r["impl"] == "limit"}
    table: dict[tuple, dict[str, float]] = {}
    for r in rows:
        if r["impl"] != "limit":
            table.setdefault((r["profile"], r["num_envs"]), {})[r["impl"]] = r["sps"]
    print(f"\n{'profile':>9} {'envs':>4} {'impl':>20} {'agent SPS':>12} {'/limit':>7} {'/serial':>8} "
          f"{'/sync':>6} {'/async':>7}")
    for (profile, num_envs), results in table.items():
        serial, sync, asynch = (results[k] for k in ("puffer-serial", "gymnasium-sync", "gymnasium-async"))
        for impl, sps in sorted(results.items(), key=lambda kv: -kv[1]):
            print(f"{profile:>9} {num_envs:>4} {impl:>20} {sps:>12,.0f} {sps / limits[profile]:>7.2f} "
                  f"{sps / serial:>8.2f} {sps / sync:>6.2f} {sps / asynch:>7.2f}")
    print("\nphysical limits (one bare loop per core): "
          + ", ".join(f"{p}={s:,.0f}" for p, s in limits.items()))

    def best_mp(results: dict[str, float]) -> float:
        return max(v for k, v in results.items() if k.startswith("puffer-mp"))

    def best_peer(results: dict[str, float]) -> float:
        return max(v for k, v in results.items() if not k.startswith("puffer"))

    print("\ntargets (measured ratios):")
    for (profile, num_envs), r in table.items():
        mp, peer = best_mp(r), best_peer(r)
        line = (f"  {profile}/{num_envs}: best MP / limit {mp / limits[profile]:.2f}, best MP / best peer "
                f"{mp / peer:.2f}, best MP / Serial {mp / r['puffer-serial']:.2f}, "
                f"Serial / SyncVectorEnv {r['puffer-serial'] / r['gymnasium-sync']:.2f}, "
                f"best MP / AsyncVectorEnv {mp / r['gymnasium-async']:.2f}")
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short measurements (2 rounds of 0.2 s)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per measurement and round")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (best one kept)")
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--num-envs", default="2,8,32")
    args = parser.parse_args()
    seconds = args.seconds or (0.2 if args.quick else 0.5)
    rounds = args.rounds or (2 if args.quick else 4)
    rows = run(args.profiles.split(","), [int(n) for n in args.num_envs.split(",")], seconds, rounds)
    report(rows)


if __name__ == "__main__":
    main()
