"""Neural MMO (``nmmo``): a massively multi-agent survival game (PettingZoo parallel API).

Status: **does not install on Python 3.11 with numpy 2**. Every nmmo 2.x release pins
``numpy==1.23.3``, ``gymnasium==0.29.1``, ``pettingzoo==1.24.1`` and ``pytest==7.3.0``
and depends on ``vec-noise==1.1.4``, whose sdist fails to build with current
setuptools; nmmo 1.x needs ``gym==0.17`` and ``pettingzoo==1.14``. The binding below
follows nmmo 2's documented API (``nmmo.Env(config)``, a parallel env with a Dict
observation per agent) and is untested here; ``make_env`` raises
``EnvironmentSetupError`` naming the ``nmmo`` extra when the package is missing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pufferlib.emulation import PettingZooPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import MultiagentEpisodeStats

EXTRA = "nmmo"
ENV_NAMES = ("nmmo",)


def _check_name(name: str) -> None:
    if name not in ENV_NAMES:
        raise APIUsageError(f"Unknown nmmo environment {name!r}. Valid names: {', '.join(ENV_NAMES)}.")


def make_env(name: str = "nmmo", config: Any = None, **kwargs: Any) -> PettingZooPufferEnv:
    """Build one Neural MMO env from ``config`` (an ``nmmo.config.Config``; nmmo's default if None)."""
    _check_name(name)
    nmmo = try_import("nmmo", EXTRA)
    env = nmmo.Env(config, **kwargs) if config is not None else nmmo.Env(**kwargs)
    return PettingZooPufferEnv(env=MultiagentEpisodeStats(env))


def env_creator(name: str = "nmmo") -> Callable[..., PettingZooPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _check_name(name)
    return functools.partial(make_env, name)


make = make_env
