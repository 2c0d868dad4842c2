"""MiniHack: small, procedurally generated NetHack tasks built on NLE.

``env_creator(name)`` accepts the short names in ``ENV_IDS`` or any registered
``MiniHack-...`` id. Observations are an NLE dict (by default the full ``glyphs`` map,
the 9x9 ``glyphs_crop`` around the agent, ``blstats`` and ``message``), flattened by
``pufferlib.emulation`` and rebuilt by the shared NLE policy
(``pufferlib.environments.nethack.torch.Policy``). ``reset(seed=s)`` seeds the level
generator, so the same seed gives the same level.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.environments.nethack.environment import make_nle
from pufferlib.exceptions import APIUsageError

EXTRA = "minihack"
ENV_IDS = {
    "room": "MiniHack-Room-5x5-v0",
    "room_random": "MiniHack-Room-Random-5x5-v0",
    "room_dark": "MiniHack-Room-Dark-5x5-v0",
    "room_monster": "MiniHack-Room-Monster-5x5-v0",
    "room_15x15": "MiniHack-Room-15x15-v0",
    "corridor": "MiniHack-Corridor-R2-v0",
    "corridor_r3": "MiniHack-Corridor-R3-v0",
    "keyroom": "MiniHack-KeyRoom-S5-v0",
    "mazewalk": "MiniHack-MazeWalk-9x9-v0",
    "multiroom": "MiniHack-MultiRoom-N2-v0",
    "lavacrossing": "MiniHack-LavaCrossingS9N1-v0",
    "simplecrossing": "MiniHack-SimpleCrossingS9N1-v0",
    "river": "MiniHack-River-v0",
    "memento": "MiniHack-Memento-Short-F2-v0",
    "eat": "MiniHack-Eat-v0",
    "wear": "MiniHack-Wear-v0",
    "closed_door": "MiniHack-ClosedDoor-v0",
}
OBSERVATION_KEYS = ("glyphs", "glyphs_crop", "blstats", "message")


def _env_id(name: str) -> str:
    if name in ENV_IDS:
        return ENV_IDS[name]
    if name.startswith("MiniHack-"):
        return name  # checked against MiniHack's registry once it is imported
    raise APIUsageError(
        f"Unknown minihack environment {name!r}. Valid names: {', '.join(ENV_IDS)}, "
        "or any registered MiniHack id such as 'MiniHack-Room-5x5-v0'."
    )


def make_env(name: str = "room", observation_keys: Sequence[str] = OBSERVATION_KEYS,
             render_mode: str | None = None, **kwargs: Any) -> GymnasiumPufferEnv:
    """Build one MiniHack env; extra kwargs go to MiniHack (e.g. ``max_episode_steps=200``)."""
    env_id = _env_id(name)
    try_import("minihack", EXTRA)
    if env_id not in gymnasium.registry:
        registered = sorted(k for k in gymnasium.registry if k.startswith("MiniHack-"))
        raise APIUsageError(
            f"MiniHack has no environment {env_id!r}. Registered ids: {', '.join(registered)}.")
    return make_nle(env_id, observation_keys, render_mode, **kwargs)


def env_creator(name: str = "room") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _env_id(name)
    return functools.partial(make_env, name)


make = make_env
