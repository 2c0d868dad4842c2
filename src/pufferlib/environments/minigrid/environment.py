"""MiniGrid gridworlds (and BabyAI levels) registered by the ``minigrid`` package.

``env_creator(name)`` accepts a registered id (``MiniGrid-Empty-5x5-v0``) or the same
without its ``MiniGrid-`` prefix and version suffix, in any case (``empty-5x5``). The
text ``mission`` is dropped from the observation, leaving
``Dict(direction=Discrete(4), image=Box(0, 255, (7, 7, 3), uint8))``: the agent's heading
and its egocentric 7x7 view, each cell an ``(object, colour, state)`` index triple.
Episodes end on success (reward ``1 - 0.9 * steps / max_steps``) or are truncated
after ``max_steps``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import gymnasium

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "minigrid"
PREFIXES = ("MiniGrid-", "BabyAI-")


def _key(name: str, keep_version: bool) -> str:
    stem = name if keep_version else re.sub(r"-v\d+$", "", name)
    return stem.lower().removeprefix("minigrid-")


def env_id(name: str) -> str:
    """The registered id for ``name`` (``APIUsageError`` listing the valid ids if unknown)."""
    try_import("minigrid", EXTRA)
    ids = sorted(key for key in gymnasium.registry if key.startswith(PREFIXES))
    if name in ids:
        return name
    # An explicit version must exist; without one, the newest version is meant.
    versioned = re.search(r"-v\d+$", name) is not None
    matches = [i for i in ids if _key(i, versioned) == _key(name, versioned)]
    if not matches:
        raise APIUsageError(f"Unknown MiniGrid environment {name!r}. Valid names: {', '.join(ids)}.")
    # Several versions of one env: the newest.
    return max(matches, key=_version)


def _version(env_id: str) -> int:
    match = re.search(r"-v(\d+)$", env_id)
    assert match is not None, f"{env_id} has no version"  # every MiniGrid id has one
    return int(match.group(1))


class DropMission(gymnasium.ObservationWrapper):
    """Keep only the ``direction`` and ``image`` entries of MiniGrid's observation."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        space = env.observation_space
        assert isinstance(space, gymnasium.spaces.Dict), f"MiniGrid observations are a Dict, got {space}"
        self.observation_space = gymnasium.spaces.Dict(
            {"direction": space["direction"], "image": space["image"]}
        )

    def observation(self, observation: dict) -> dict:
        return {"direction": observation["direction"], "image": observation["image"]}


def make_env(name: str = "MiniGrid-Empty-5x5-v0", render_mode: str | None = None,
             **kwargs: Any) -> GymnasiumPufferEnv:
    """One MiniGrid env; extra kwargs go to its constructor (e.g. ``max_steps``)."""
    env = gymnasium.make(env_id(name), render_mode=render_mode, disable_env_checker=True, **kwargs)
    return GymnasiumPufferEnv(env=EpisodeStats(DropMission(env)))


def env_creator(name: str = "MiniGrid-Empty-5x5-v0") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    return functools.partial(make_env, env_id(name))


make = make_env
