"""PettingZoo's butterfly environments: cooperative multi-agent games.

- ``pistonball``: 20 pistons (``n_pistons``) push a ball left; each sees a slice of
  the screen. Discrete actions (down, stay, up) by default.
- ``knights_archers_zombies``: archers and knights hold off zombies; vector
  observations, agents die and drop out mid-episode.
- ``cooperative_pong``: two paddles keep a ball in play.

Image observations become grayscale ``(1, H / d, W / d)`` uint8 (``downsample`` d);
vector observations become float32. Each env is wrapped in
``MultiagentEpisodeStats`` and ``PettingZooPufferEnv``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper

from pufferlib.emulation import PettingZooPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import MultiagentEpisodeStats

EXTRA = "butterfly"
# name -> (PettingZoo id, default kwargs, default image downsampling)
ENVS: dict[str, tuple[str, dict[str, Any], int]] = {
    "pistonball": ("butterfly/pistonball-v6", {"continuous": False}, 2),
    "knights_archers_zombies": ("butterfly/knights_archers_zombies-v11", {}, 1),
    "cooperative_pong": ("butterfly/cooperative_pong-v6", {}, 4),
}
# ITU-R 601 luma weights: RGB -> grayscale.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _spec(name: str) -> tuple[str, dict[str, Any], int]:
    if name not in ENVS:
        raise APIUsageError(f"Unknown butterfly environment {name!r}. Valid names: {', '.join(ENVS)}.")
    return ENVS[name]


class CompactObservations(BaseParallelWrapper):
    """Shrink every agent's observation: RGB frames to subsampled grayscale
    ``(1, H / d, W / d)`` uint8, anything else to float32 of the same shape."""

    def __init__(self, env: Any, downsample: int = 1):
        super().__init__(env)
        if downsample < 1:
            raise APIUsageError(f"downsample must be a positive integer, got {downsample}.")
        self.downsample = downsample
        native = env.observation_space(env.possible_agents[0])
        self.is_image = len(native.shape) == 3 and native.shape[2] == 3 and native.dtype == np.uint8
        self._space: gymnasium.spaces.Box
        if self.is_image:
            height, width = native.shape[:2]
            shape = (1, -(-height // downsample), -(-width // downsample))
            self._space = gymnasium.spaces.Box(0, 255, shape, np.uint8)
        else:
            self._space = gymnasium.spaces.Box(native.low.astype(np.float32), native.high.astype(np.float32),
                                               native.shape, np.float32)

    def observation_space(self, agent: Any) -> gymnasium.spaces.Box:
        return self._space

    def _compact(self, observation: np.ndarray) -> np.ndarray:
        if self.is_image:
            frame = observation[::self.downsample, ::self.downsample] @ LUMA
            return frame.reshape(self._space.shape).astype(np.uint8)
        return np.asarray(observation, dtype=np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        observations, infos = self.env.reset(seed=seed, options=options)
        return {agent: self._compact(obs) for agent, obs in observations.items()}, infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        observations, rewards, terminals, truncations, infos = self.env.step(actions)
        observations = {agent: self._compact(obs) for agent, obs in observations.items()}
        return observations, rewards, terminals, truncations, infos


def _parallel_env(env_id: str, **kwargs: Any) -> Any:
    """PettingZoo >= 1.27 builds envs from its registry (importing a versioned module
    directly is deprecated there); older releases only have the modules."""
    import pettingzoo

    if hasattr(pettingzoo, "make"):
        return pettingzoo.make("parallel", env_id, **kwargs)
    family, version_name = env_id.split("/")
    module = importlib.import_module(f"pettingzoo.{family}.{version_name.replace('-', '_')}")
    return module.parallel_env(**kwargs)


def make_env(name: str = "pistonball", downsample: int | None = None, render_mode: str | None = None,
             **kwargs: Any) -> PettingZooPufferEnv:
    """Build one butterfly env; extra kwargs go to its ``parallel_env`` (e.g. ``n_pistons``)."""
    env_id, defaults, default_downsample = _spec(name)
    try_import("pymunk", EXTRA)
    try_import("pygame", EXTRA)
    env = _parallel_env(env_id, render_mode=render_mode, **{**defaults, **kwargs})
    env = CompactObservations(env, default_downsample if downsample is None else downsample)
    return PettingZooPufferEnv(env=MultiagentEpisodeStats(env))


def env_creator(name: str = "pistonball") -> Callable[..., PettingZooPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _spec(name)
    return functools.partial(make_env, name)


make = make_env
