"""bsuite (Osband et al. 2020): small experiments that each probe one core RL capability.

``env_creator(name)`` accepts a bsuite id (``catch/0``, ``deep_sea/12``) or an experiment
name (``catch``: its setting 0). The ``dm_env`` environment is adapted by
``pufferlib.environments.dm_control.DMEnv``: float32 ``Box`` observations of the
experiment's own shape (``(10, 5)`` for catch), ``Discrete`` actions, episodes ending
by termination. ``reset(seed=s)`` rebuilds the experiment with ``seed=s``. The
``mnist`` experiments download their data at run time and need network access.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.environments.dm_control.environment import DMEnv
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "bsuite"


def bsuite_id(name: str) -> str:
    """The bsuite id for ``name`` (``APIUsageError`` listing the experiments if unknown)."""
    sweep = try_import("bsuite.sweep", EXTRA)
    if name in sweep.SETTINGS:
        return name
    if f"{name}/0" in sweep.SETTINGS:
        return f"{name}/0"
    experiments = sorted({i.split("/")[0] for i in sweep.SWEEP})
    raise APIUsageError(
        f"Unknown bsuite environment {name!r}. Valid names: an experiment ({', '.join(experiments)}) "
        "or one of its ids '<experiment>/<setting>' (e.g. catch/0)."
    )


def load(bsuite_id: str, seed: int | None) -> Any:
    """The experiment ``bsuite_id`` as a ``dm_env`` environment, seeded with ``seed`` if given."""
    bsuite = try_import("bsuite", EXTRA)
    sweep = try_import("bsuite.sweep", EXTRA)
    kwargs = dict(sweep.SETTINGS[bsuite_id])
    if seed is not None and "seed" in kwargs:
        kwargs["seed"] = seed
    return bsuite.load(bsuite_id.split("/")[0], kwargs)


def make_env(name: str = "catch/0", render_mode: str | None = None) -> GymnasiumPufferEnv:
    """One bsuite experiment with episode statistics."""
    env = DMEnv(functools.partial(load, bsuite_id(name)), render_mode=render_mode)
    return GymnasiumPufferEnv(env=EpisodeStats(env))


def env_creator(name: str = "catch/0") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    return functools.partial(make_env, bsuite_id(name))


make = make_env
