"""Record a PufferLib 3.0.0 C game's trajectory, with the rand() stream it drew from.

Run with the peer's interpreter (``../shared/peers/pufferlib3_build.sh`` builds it), never ours:
both packages are named ``pufferlib``. The recording is what ``tests/ocean_games/replay.py`` replays
through our port, step for step, with the same random numbers (``NativeEnv.use_random_tape``)::

    $P3/venv3/bin/python bench/pufferlib3/record.py breakout tests/ocean_games/fixtures/breakout.npz \\
        --steps 3000 --seed 7 --policy random --kwargs '{"frameskip": 4}'

A game module under ``bench/pufferlib3/`` may supply its own ``actions(observation, rng)``
policy (``--policy MODULE:FUNCTION``) to reach the states worth comparing. Saved arrays:
``tape`` (the glibc ``rand()`` values the game drew after ``srand(seed)``, uint32),
``actions``, ``observations`` (``steps + 1`` rows: after reset, then after each step),
``rewards``, ``terminals``, ``truncations`` and ``kwargs`` (JSON).
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

LIBC = ctypes.CDLL(None)


def rand_tape(seed: int, count: int) -> np.ndarray:
    """The first ``count`` values glibc's ``rand()`` returns after ``srand(seed)``."""
    LIBC.srand(ctypes.c_uint(seed))
    return np.array([LIBC.rand() for _ in range(count)], dtype=np.uint64)


def consumed(tape: np.ndarray) -> np.ndarray:
    """The part of ``tape`` the game drew: the next two ``rand()`` values locate where it stopped."""
    probe = [LIBC.rand(), LIBC.rand()]
    hits = np.flatnonzero((tape[:-1] == probe[0]) & (tape[1:] == probe[1]))
    if not len(hits):
        raise SystemExit(f"the game drew more than {len(tape)} random numbers: raise --tape-length")
    return tape[: hits[0]]


def make_peer_env(game: str, kwargs: dict):
    """One PufferLib 3.0 env of ``game`` with one game (see ``make_peer_env_batch``)."""
    return make_peer_env_batch(game, 1, kwargs)


@functools.cache
def peer_environment():
    """3.0's ``pufferlib.ocean.environment``, imported from a scratch folder (made once per
    process): 3.0's import writes a ``resources`` link into the current folder."""
    os.chdir(tempfile.mkdtemp(prefix="pufferlib3-"))
    return importlib.import_module("pufferlib.ocean.environment")


def make_peer_env_batch(game: str, num_envs: int, kwargs: dict):
    """A PufferLib 3.0 env of ``num_envs`` games of ``game`` (see ``peer_environment``)."""
    environment = peer_environment()
    cls = environment.env_creator(f"puffer_{game}")
    return cls(num_envs=num_envs, **kwargs)


def record(env, seed: int, steps: int, policy, tape_length: int) -> dict[str, np.ndarray]:
    """Reset ``env`` with ``seed`` (3.0 calls ``srand(seed)`` for its only game) and step it."""
    rng = np.random.default_rng(seed)
    tape = rand_tape(seed, tape_length)
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards, terminals, truncations = [obs.copy()], [], [], [], []
    for _ in range(steps):
        action = policy(env, obs, rng)
        obs, reward, terminal, truncation, _ = env.step(action)
        observations.append(obs.copy())
        actions.append(np.array(action).copy())
        rewards.append(reward.copy())
        terminals.append(terminal.copy())
        truncations.append(truncation.copy())
    return {"tape": consumed(tape).astype(np.uint32), "actions": np.array(actions),
            "observations": np.array(observations), "rewards": np.array(rewards),
            "terminals": np.array(terminals), "truncations": np.array(truncations)}


def random_policy(env, observation, rng):
    space = env.single_action_space
    if hasattr(space, "n"):
        return rng.integers(0, space.n, env.num_agents)
    if hasattr(space, "nvec"):
        return np.stack([rng.integers(0, n, env.num_agents) for n in space.nvec], axis=-1)
    return rng.uniform(space.low, space.high, (env.num_agents, *space.shape)).astype(np.float32)


def load_policy(spec: str):
    if spec == "random":
        return random_policy
    module, _, function = spec.partition(":")
    sys.path.insert(0, str(Path(__file__).parent))
    return getattr(importlib.import_module(module), function)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game")
    parser.add_argument("output", type=Path)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policy", default="random", help="random, or MODULE:FUNCTION in bench/pufferlib3")
    parser.add_argument("--kwargs", default="{}", help="the 3.0 env's keyword arguments, as JSON")
    parser.add_argument("--tape-length", type=int, default=200_000)
    args = parser.parse_args()
    output = args.output.resolve()
    kwargs = json.loads(args.kwargs)
    policy = load_policy(args.policy)
    env = make_peer_env(args.game, kwargs)
    arrays = record(env, args.seed, args.steps, policy, args.tape_length)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, kwargs=np.array(json.dumps(kwargs)), **arrays)
    print(f"{args.game}: {args.steps} steps, {int(arrays['terminals'].sum())} episode ends -> {output}")


if __name__ == "__main__":
    main()
