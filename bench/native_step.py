"""Where a native Ocean ``step()`` spends its time at few games: per-call nanoseconds, in parts.

At 32 games a step is a few microseconds, so the fixed cost of one call decides the speed. The
parts, each the fastest of many interleaved timings (the machine is shared; the minimum is the
cost without interference):

- ``null_python``: ``NativeEnv.step`` over a ``_step_games`` that returns at once (Python only):
  the base class's own overhead (action checks, tick and report bookkeeping, the result tuple).
- ``null_kernel``: the same over a Numba kernel that does nothing but takes CartPole's
  arguments (9 arrays, 3 scalars); ``null_kernel_call`` is the bare kernel call, and
  ``null_kernel_entry_point`` the same compiled function called past Numba's dispatcher (what
  the dispatcher's type checks cost; the rest is unboxing each array, about 35 ns apiece).
- ``dispatch_K_ARRAYS``: the bare call of a kernel taking K float32 (or bool) arrays.
- ``GAME_step`` / ``GAME_step_games``: a registered game at 32 games: ``step()``, and its
  ``_step_games`` alone (kernel call and work).

Usage: python bench/native_step.py [--games cartpole,pong] [--rounds 5]
Prints one JSON line per part.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import gymnasium
import numba
import numpy as np

from measure import load_average
from pufferlib.environments import ocean
from pufferlib.environments.ocean.native.base import NativeEnv


@numba.njit(cache=True)
def _null_kernel(state, ticks, rng, actions, flag, limit, obs, rewards, terminals, truncations, log,
                 reset_all):
    return 0


@numba.njit(cache=True)
def _dispatch_1(a):
    return 0


@numba.njit(cache=True)
def _dispatch_4(a, b, c, d):
    return 0


@numba.njit(cache=True)
def _dispatch_8(a, b, c, d, e, f, g, h):
    return 0


class _NullPython(NativeEnv):
    """A native env whose games cost nothing: what remains is ``NativeEnv.step`` itself."""

    def __init__(self, num_envs: int = 32, render_mode: str | None = None, report_interval: int = 32,
                 buf: Any = None):
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(2)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((4, self.num_envs))
        self.ticks = np.zeros(self.num_envs, dtype=np.int64)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return 0


class _NullKernel(_NullPython):
    """CartPole's kernel call (its arguments) to a kernel that does nothing."""

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return _null_kernel(self.state, self.ticks, self.rng, actions, False, 500, self.observations,
                            self.rewards, self.terminals, self.truncations, self.log, reset_all)


def per_call_ns(call: Callable[[], Any], block_ns: float = 300_000, repeats: int = 60) -> float:
    """The fastest of ``repeats`` timings of blocks of calls lasting about ``block_ns``, in ns per
    call. Short blocks: on a loaded machine, a block longer than a scheduler slice is rarely quiet."""
    start = time.perf_counter_ns()
    for _ in range(100):
        call()
    calls = max(10, int(block_ns * 100 / max(time.perf_counter_ns() - start, 1)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter_ns() - start) / calls)
    return best


def parts(games: list[str]) -> dict[str, Callable[[], Any]]:
    null_python, null_kernel = _NullPython(), _NullKernel()
    kernel_args = (null_kernel.state, null_kernel.ticks, null_kernel.rng, null_kernel.actions, False, 500,
                   null_kernel.observations, null_kernel.rewards, null_kernel.terminals,
                   null_kernel.truncations, null_kernel.log, False)
    floats = [np.zeros(32, dtype=np.float32) for _ in range(8)]
    bools = [np.zeros(32, dtype=np.bool_) for _ in range(4)]
    _null_kernel(*kernel_args)
    entry_point = _null_kernel.overloads[_null_kernel.signatures[0]].entry_point
    null_actions = null_python.actions.copy()
    result: dict[str, Callable[[], Any]] = {
        "null_python": lambda: null_python.step(null_actions),
        "null_kernel": lambda: null_kernel.step(null_actions),
        "null_kernel_call": lambda: _null_kernel(*kernel_args),
        "null_kernel_entry_point": lambda: entry_point(*kernel_args),
        "dispatch_1_array": lambda: _dispatch_1(floats[0]),
        "dispatch_4_arrays": lambda: _dispatch_4(*floats[:4]),
        "dispatch_8_arrays": lambda: _dispatch_8(*floats),
        "dispatch_4_bool_arrays": lambda: _dispatch_4(*bools),
    }
    for env in (null_python, null_kernel):
        env.reset(seed=0)
    for name in games:
        env = ocean.make_env(name, num_envs=32)
        env.reset(seed=0)
        space = env.single_action_space
        actions = np.zeros((env.num_agents, *space.shape), dtype=space.dtype)
        result[f"{name}_step"] = lambda e=env, a=actions: e.step(a)
        result[f"{name}_step_games"] = lambda e=env, a=actions: e._step_games(a)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", default="cartpole,pong", help="native games to time at 32 games")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    calls = parts([g for g in args.games.split(",") if g])
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(args.rounds):
        for name, call in calls.items():
            best[name] = min(best[name], per_call_ns(call))
    for name, ns in best.items():
        row = {"section": "step_overhead", "part": name, "ns": round(ns, 1), "load": load_average()}
        print(json.dumps(row))


if __name__ == "__main__":
    main()
