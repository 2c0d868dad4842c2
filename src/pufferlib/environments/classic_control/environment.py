"""Classic control (Gymnasium): CartPole, Acrobot, Pendulum and MountainCarContinuous.

``env_creator(name)`` accepts the short names ``cartpole``, ``acrobot``, ``pendulum`` and
``mountaincar_continuous`` or the Gymnasium ids ``CartPole-v1``, ``Acrobot-v1``,
``Pendulum-v1`` and ``MountainCarContinuous-v0``. Each env is wrapped in ``EpisodeStats`` and
``GymnasiumPufferEnv``; Pendulum and MountainCarContinuous keep their ``Box`` actions
(continuous control end to end).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

ALIASES = {
    "cartpole": "CartPole-v1",
    "pendulum": "Pendulum-v1",
    "mountaincar_continuous": "MountainCarContinuous-v0",
    "acrobot": "Acrobot-v1",
}
ENV_IDS = tuple(ALIASES.values())


def _env_id(name: str) -> str:
    env_id = ALIASES.get(name, name)
    if env_id not in ENV_IDS:
        valid = ", ".join([*ALIASES, *ENV_IDS])
        raise APIUsageError(f"Unknown classic_control environment {name!r}. Valid names: {valid}.")
    return env_id


def make_env(name: str = "cartpole", render_mode: str | None = None, **kwargs: Any) -> GymnasiumPufferEnv:
    """Build one classic-control env; extra kwargs go to ``gymnasium.make`` (e.g. ``max_episode_steps``)."""
    # Gymnasium's own envs need no passive checker; skipping it removes a wrapper from every step.
    kwargs.setdefault("disable_env_checker", True)
    env = gymnasium.make(_env_id(name), render_mode=render_mode, **kwargs)
    return GymnasiumPufferEnv(env=EpisodeStats(env))


def env_creator(name: str = "cartpole") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _env_id(name)
    return functools.partial(make_env, name)


make = make_env
