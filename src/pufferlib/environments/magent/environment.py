"""MAgent2: many-agent grid battles and gathering (PettingZoo parallel API).

Supported: ``battle``, ``battlefield`` and ``gather``, whose agents share one
observation space (a ``(view, view, channels)`` float32 egocentric grid) and one
action space. The mixed-team games (``adversarial_pursuit``, ``tiger_deer``,
``combined_arms``) give the two teams different spaces, which one shared policy
cannot serve without padding, so they are not offered. Agents that die drop out and
appear as padded rows with mask False.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from pufferlib.emulation import PettingZooPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import MultiagentEpisodeStats

EXTRA = "magent"
ENV_MODULES = {
    "battle": "magent2.environments.battle_v4",
    "battlefield": "magent2.environments.battlefield_v5",
    "gather": "magent2.environments.gather_v5",
}


def _module_name(name: str) -> str:
    if name not in ENV_MODULES:
        raise APIUsageError(
            f"Unknown magent environment {name!r}. Valid names: {', '.join(ENV_MODULES)} "
            "(the mixed-team games have per-team spaces and are not supported)."
        )
    return ENV_MODULES[name]


def make_env(name: str = "battle", render_mode: str | None = None, **kwargs: Any) -> PettingZooPufferEnv:
    """Build one MAgent2 env; extra kwargs go to its ``parallel_env`` (``map_size``, ``max_cycles``, ...)."""
    module_name = _module_name(name)
    try_import("magent2", EXTRA)
    env = importlib.import_module(module_name).parallel_env(render_mode=render_mode, **kwargs)
    return PettingZooPufferEnv(env=MultiagentEpisodeStats(env))


def env_creator(name: str = "battle") -> Callable[..., PettingZooPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _module_name(name)
    return functools.partial(make_env, name)


make = make_env
