"""Crafter (Hafner 2021): an open-world survival game with 22 achievements.

``CrafterEnv`` puts ``crafter.Env`` (old Gym API) behind the Gymnasium API: ``(64, 64,
3)`` uint8 RGB observations (channels last), ``Discrete(17)`` actions. An episode
terminates when the player dies and is truncated after ``length`` steps. The final
step's info holds ``achievements/<name>`` = 1.0 for each achievement unlocked in the
episode (0.0 otherwise), so averaging over episodes gives the success rates that the
Crafter score is computed from. ``reset(seed=s)`` rebuilds the world generator with
seed ``s``; unseeded resets continue its episode sequence. The seed fixes the world, but
not every later frame: Crafter despawns creatures chosen from a Python set of objects,
whose order follows memory addresses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "crafter"
NAMES = ("crafter", "crafter_reward", "crafter_noreward")


class CrafterEnv(gymnasium.Env):
    """One Crafter game behind the Gymnasium API (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, reward: bool = True, length: int = 10_000, size: int = 64,
                 render_mode: str | None = None):
        self._crafter = try_import("crafter", EXTRA)
        self._kwargs = dict(reward=reward, length=length, size=(size, size))
        self.render_mode = render_mode
        self.observation_space = gymnasium.spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.action_space = gymnasium.spaces.Discrete(len(self._crafter.constants.actions))
        self._env = self._crafter.Env(**self._kwargs)
        self._observation: np.ndarray | None = None

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._env = self._crafter.Env(seed=int(seed) % 2**31, **self._kwargs)
        self._observation = self._env.reset()
        return self._observation, {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._observation, reward, done, info = self._env.step(int(action))
        if not done:
            return self._observation, float(reward), False, False, {}
        terminated = info["discount"] == 0.0
        stats = {f"achievements/{name}": float(count > 0) for name, count in info["achievements"].items()}
        return self._observation, float(reward), terminated, not terminated, stats

    def render(self) -> np.ndarray | None:
        return self._observation


def _name(name: str) -> str:
    if name not in NAMES:
        raise APIUsageError(f"Unknown Crafter environment {name!r}. Valid names: {', '.join(NAMES)}.")
    return name


def make_env(name: str = "crafter", length: int = 10_000, size: int = 64,
             render_mode: str | None = None) -> GymnasiumPufferEnv:
    """One Crafter game; ``crafter_noreward`` gives zero rewards (achievements still counted)."""
    env = CrafterEnv(reward=_name(name) != "crafter_noreward", length=length, size=size,
                     render_mode=render_mode)
    return GymnasiumPufferEnv(env=EpisodeStats(env))


def env_creator(name: str = "crafter") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    return functools.partial(make_env, _name(name))


make = make_env
