"""ViZDoom scenarios (Basic, Deadly Corridor, Health Gathering, ...) through its Gymnasium API.

The raw observation is a dict of a ``(240, 320, 3)`` RGB screen and game variables;
``DoomScreen`` keeps a grayscale screen subsampled by ``downsample`` (``(1, 60, 80)``
at the default 4), which is what the ``Convolutional`` policy sees. Actions are one
button combination per step (``Discrete``), repeated for ``frame_skip`` tics.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats
from pufferlib.spaces import space_shape

EXTRA = "vizdoom"
ENV_IDS = {
    "basic": "VizdoomBasic-v1",
    "deadly_corridor": "VizdoomDeadlyCorridor-v1",
    "defend_the_center": "VizdoomDefendCenter-v1",
    "defend_the_line": "VizdoomDefendLine-v1",
    "health_gathering": "VizdoomHealthGathering-v1",
    "health_gathering_supreme": "VizdoomHealthGatheringSupreme-v1",
    "my_way_home": "VizdoomMyWayHome-v1",
    "predict_position": "VizdoomPredictPosition-v1",
    "take_cover": "VizdoomTakeCover-v1",
    "deathmatch": "VizdoomDeathmatch-v1",
}
# The engine keeps its settings and saves under this folder of the working directory and
# creates it on its first start; an engine that finds it made by another in between fails,
# then crashes on reset (several workers starting games in a fresh folder).
ENGINE_FOLDER = "_vizdoom"
# ITU-R 601 luma weights: RGB -> grayscale.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _env_id(name: str) -> str:
    if name in ENV_IDS:
        return ENV_IDS[name]
    if name in ENV_IDS.values():
        return name
    valid = ", ".join([*ENV_IDS, *ENV_IDS.values()])
    raise APIUsageError(f"Unknown vizdoom environment {name!r}. Valid names: {valid}.")


class DoomScreen(gymnasium.ObservationWrapper):
    """The screen only, grayscale, subsampled by ``downsample``: ``(1, H / d, W / d)`` uint8."""

    def __init__(self, env: gymnasium.Env, downsample: int = 4):
        super().__init__(env)
        if downsample < 1:
            raise APIUsageError(f"downsample must be a positive integer, got {downsample}.")
        self.downsample = downsample
        space = env.observation_space
        assert isinstance(space, gymnasium.spaces.Dict), f"ViZDoom observations are a Dict, got {space}"
        height, width = space_shape(space["screen"])[:2]
        shape = (1, -(-height // downsample), -(-width // downsample))
        self.observation_space = gymnasium.spaces.Box(0, 255, shape, np.uint8)

    def observation(self, observation: dict) -> np.ndarray:
        screen = observation["screen"][::self.downsample, ::self.downsample]
        if screen.ndim == 3 and screen.shape[2] == 3:
            screen = screen @ LUMA
        return screen.reshape(self.observation_space.shape).astype(np.uint8)


def make_env(name: str = "basic", frame_skip: int = 4, downsample: int = 4,
             render_mode: str | None = None, **kwargs: Any) -> GymnasiumPufferEnv:
    """Build one scenario; extra kwargs go to ViZDoom's Gymnasium env."""
    env_id = _env_id(name)
    try_import("vizdoom.gymnasium_wrapper", EXTRA)
    os.makedirs(ENGINE_FOLDER, exist_ok=True)
    env = gymnasium.make(env_id, frame_skip=frame_skip, render_mode=render_mode,
                         disable_env_checker=True, **kwargs)
    return GymnasiumPufferEnv(env=EpisodeStats(DoomScreen(env, downsample)))


def env_creator(name: str = "basic") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _env_id(name)
    return functools.partial(make_env, name)


make = make_env
