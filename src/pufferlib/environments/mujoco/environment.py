"""Gymnasium's MuJoCo locomotion tasks, and the continuous-control wrappers they share.

``env_creator(name)`` accepts a registered id (``HalfCheetah-v5``) or the task name in
any spelling (``halfcheetah``, ``half_cheetah``, ``walker2d``: the newest version).
``continuous_control`` is the wrapper stack every continuous-control binding uses:
actions clipped to the task's bounds, float32 observations, empty reset infos.
Observation and reward normalisation belong to the run, not to each worker: the binding's
``Policy`` normalises its inputs and ``TrainConfig.normalize_rewards`` scales rewards, with
statistics saved in checkpoints (``pufferlib.normalization``). ``normalize=True`` adds
CleanRL's per-env Gymnasium wrappers instead (running observation and return statistics,
clipped to [-10, 10]), for frameworks without that (e.g. Stable-Baselines3); their
statistics are per env and are not saved. Put ``EpisodeStats`` *under* the stack so that
the reported returns are the task's own, not the normalised ones.
"""

from __future__ import annotations

import ctypes.util
import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium
import numpy as np

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "mujoco"
CLIP = 10.0


class EmptyResetInfo(gymnasium.Wrapper):
    """Return ``{}`` from ``reset``: vector backends report every non-empty info dict."""

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        return self.env.reset(seed=seed, options=options)[0], {}


def _clip_observation(observation: np.ndarray) -> np.ndarray:
    return np.clip(observation, -CLIP, CLIP)


def _clip_reward(reward: SupportsFloat) -> float:
    return float(np.clip(float(reward), -CLIP, CLIP))


def _as_float32(observation: np.ndarray) -> np.ndarray:
    return observation.astype(np.float32, copy=False)


def continuous_control(env: gymnasium.Env, normalize: bool = False, gamma: float = 0.99) -> gymnasium.Env:
    """Wrap a ``Box``-action env for PPO (see the module docstring).

    ``normalize=True`` adds per-env observation and reward normalisation (``gamma`` is the
    discount the latter assumes); pufferlib's trainer normalises per run instead.
    """
    env = gymnasium.wrappers.ClipAction(env)
    if normalize:
        env = gymnasium.wrappers.NormalizeObservation(env)
        env = gymnasium.wrappers.TransformObservation(env, _clip_observation, env.observation_space)
        env = gymnasium.wrappers.NormalizeReward(env, gamma=gamma)
        env = gymnasium.wrappers.TransformReward(env, _clip_reward)
    space = env.observation_space
    assert isinstance(space, gymnasium.spaces.Box), f"continuous_control needs Box observations, got {space}"
    float32_space = gymnasium.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32),
                                         space.shape, np.float32)
    env = gymnasium.wrappers.TransformObservation(env, _as_float32, float32_space)
    return EmptyResetInfo(env)


def _key(name: str, keep_version: bool) -> str:
    stem = name if keep_version else re.sub(r"-v\d+$", "", name)
    return re.sub(r"[^a-z0-9]", "", stem.lower())


def env_id(name: str) -> str:
    """The registered id for ``name`` (``APIUsageError`` listing the tasks if unknown)."""
    try_import("mujoco", EXTRA)
    ids = sorted(
        key for key, spec in gymnasium.registry.items()
        if isinstance(spec.entry_point, str) and spec.entry_point.startswith("gymnasium.envs.mujoco")
    )
    if name in ids:
        return name
    # An explicit version must exist; without one, the newest version is meant.
    versioned = re.search(r"-v\d+$", name) is not None
    matches = [i for i in ids if _key(i, versioned) == _key(name, versioned)]
    if not matches:
        raise APIUsageError(f"Unknown MuJoCo environment {name!r}. Valid names: {', '.join(ids)}.")
    return max(matches, key=_version)


def _version(env_id: str) -> int:
    match = re.search(r"-v(\d+)$", env_id)
    assert match is not None, f"{env_id} has no version"  # every MuJoCo id has one
    return int(match.group(1))


def render_off_screen_without_a_display() -> None:
    """Without a display, MuJoCo's first OpenGL choice (GLFW) fails deep inside its renderer
    (``puffer eval`` of a MuJoCo run on a server): render through EGL instead, as MuJoCo's
    documentation advises for headless machines, where its library is installed. A
    ``MUJOCO_GL`` the user set is kept. Gymnasium reads it when a renderer is made, dm_control
    when it is imported."""
    if "MUJOCO_GL" in os.environ:  # the user's choice, or ours from an earlier call
        return
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not display and _egl_installed():
        os.environ["MUJOCO_GL"] = "egl"


@functools.cache
def _egl_installed() -> bool:
    # find_library runs ldconfig (milliseconds), and dm_control asks on every seeded reset.
    return ctypes.util.find_library("EGL") is not None


def make_env(name: str = "HalfCheetah-v5", normalize: bool = False, gamma: float = 0.99,
             render_mode: str | None = None, **kwargs: Any) -> GymnasiumPufferEnv:
    """One MuJoCo task; extra kwargs go to ``gymnasium.make`` (e.g. ``max_episode_steps``)."""
    if render_mode == "rgb_array":
        render_off_screen_without_a_display()
    env = gymnasium.make(env_id(name), render_mode=render_mode, disable_env_checker=True, **kwargs)
    return GymnasiumPufferEnv(env=continuous_control(EpisodeStats(env), normalize=normalize, gamma=gamma))


def env_creator(name: str = "HalfCheetah-v5") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    return functools.partial(make_env, env_id(name))


make = make_env
