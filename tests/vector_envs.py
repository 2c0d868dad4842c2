"""Small envs for the vector backend tests (module level, so ``spawn`` workers can import them)."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import gymnasium
import numpy as np

import pufferlib
from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv


class CountingEnv(gymnasium.Env):
    """Observation = [steps since reset, env tag]; terminates after ``length`` steps.

    ``delay`` sleeps in every step (to make some envs slower than others).
    """

    def __init__(self, length: int = 3, tag: int = 0, delay: float = 0.0):
        self.observation_space = gymnasium.spaces.Box(-1e9, 1e9, (2,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(4)
        self.length, self.tag, self.delay = length, tag, delay
        self.count = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        self.count = 0
        return np.array([0, self.tag], np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.delay:
            time.sleep(self.delay)
        self.count += 1
        done = self.count >= self.length
        return np.array([self.count, self.tag], np.float32), float(action) + 1.0, done, False, {}


def counting(length: int = 3, tag: int = 0, delay: float = 0.0) -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(env_creator=CountingEnv, env_kwargs=dict(length=length, tag=tag, delay=delay))


class StubbornError(Exception):
    """An exception that cannot be rebuilt from its pickle (its args are not its __init__'s)."""

    def __init__(self, code: int, detail: str):
        super().__init__(f"stubborn {code}: {detail}")


class FailingEnv(CountingEnv):
    """Raises ``ValueError('boom ...')`` (or, with ``unpicklable``, a ``StubbornError``) on
    step ``fail_at`` when ``fail`` is set."""

    def __init__(self, fail: bool = False, fail_at: int = 2, unpicklable: bool = False):
        super().__init__(length=1000)
        self.fail, self.fail_at, self.unpicklable = fail, fail_at, unpicklable

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.fail and self.count + 1 >= self.fail_at:
            if self.unpicklable:
                raise StubbornError(7, "ghost")
            raise ValueError(f"boom at step {self.count + 1}")
        return super().step(action)


def failing(fail: bool = False, fail_at: int = 2, unpicklable: bool = False) -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(env_creator=FailingEnv, env_kwargs=dict(fail=fail, fail_at=fail_at,
                                                                       unpicklable=unpicklable))


class BrokenInitEnv(CountingEnv):
    def __init__(self) -> None:
        raise RuntimeError("cannot build this env")


def broken_init() -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(env_creator=BrokenInitEnv)


def wide(size: int) -> GymnasiumPufferEnv:
    """A CountingEnv variant with a different observation space."""
    env = GymnasiumPufferEnv(env_creator=CountingEnv)
    env.single_observation_space = env.observation_space = gymnasium.spaces.Box(0, 1, (size,), np.float32)
    return env


def raw_gymnasium() -> gymnasium.Env:
    return CountingEnv()


class BigInfoEnv(CountingEnv):
    """Returns a 1 MB info dict on every step: larger than a pipe buffer."""

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminal, truncated, _ = super().step(action)
        return obs, reward, terminal, truncated, {"blob": np.full(2**20, self.count, np.uint8)}


def big_info() -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(env_creator=BigInfoEnv, env_kwargs=dict(length=5))


def pid_env() -> GymnasiumPufferEnv:
    """An env whose observation is the pid of the process hosting it."""

    class PidEnv(CountingEnv):
        def reset(self, seed=None, options=None):
            return np.array([os.getpid(), 0], np.float32), {}

    return GymnasiumPufferEnv(env=PidEnv())


class NativeCounter(pufferlib.PufferEnv):
    """A native env of ``num_agents`` independent counters; counter ``a`` ends after ``a + 2``
    steps and resets itself, reporting ``{'episode_length': ...}``. Seeding offsets the start."""

    def __init__(self, num_agents: int = 3, buf: Any = None):
        self.single_observation_space = gymnasium.spaces.Box(0, 1e6, (2,), np.float32)
        self.single_action_space = gymnasium.spaces.MultiDiscrete([3, 2])
        self.num_agents = num_agents
        super().__init__(buf)
        self.lengths = np.arange(num_agents) + 2
        self.counts = np.zeros(num_agents, np.int64)
        self.offset = 0

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        self.offset = 0 if seed is None else seed
        self.counts[:] = 0
        self.observations[:, 0] = 0
        self.observations[:, 1] = self.offset
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        return self.observations, []

    def step(self, actions: np.ndarray) -> tuple:
        actions = np.asarray(actions)
        self.counts += 1
        self.rewards[:] = actions[:, 0] + 10 * actions[:, 1]
        done = self.counts >= self.lengths
        self.terminals[:] = done
        self.truncations[:] = False
        infos = [{"episode_length": int(n)} for n in self.counts[done]]
        self.observations[:, 0] = self.counts
        self.observations[:, 1] = self.offset
        self.counts[done] = 0
        return self.observations, self.rewards, self.terminals, self.truncations, infos


def native(num_agents: int = 3) -> NativeCounter:
    return NativeCounter(num_agents)


def wrap_single(creator: Any) -> Any:
    return functools.partial(GymnasiumPufferEnv, env_creator=creator)


def wrap_multi(creator: Any) -> Any:
    return functools.partial(PettingZooPufferEnv, env_creator=creator)
