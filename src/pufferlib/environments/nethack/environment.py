"""NetHack through the NetHack Learning Environment (NLE).

``env_creator(name)`` accepts the short names in ``ENV_IDS`` (``nethack`` is the score
task) or their NLE ids (``NetHackScore-v0``, ...). The env keeps the dict observation
that the policy needs (``glyphs``, ``blstats`` and ``message`` by default) and
``pufferlib.emulation`` lays it out as one flat ``uint8`` row per step; the policy
rebuilds the three leaves with ``pufferlib.pytorch.nativize_tensor``.

``reset(seed=s)`` seeds NetHack's own generators (NLE ignores the Gymnasium seed), so
the same seed and actions replay the same game.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "nethack"
ENV_IDS = {
    "nethack": "NetHackScore-v0",
    "score": "NetHackScore-v0",
    "staircase": "NetHackStaircase-v0",
    "staircase_pet": "NetHackStaircasePet-v0",
    "oracle": "NetHackOracle-v0",
    "gold": "NetHackGold-v0",
    "eat": "NetHackEat-v0",
    "scout": "NetHackScout-v0",
    "challenge": "NetHackChallenge-v0",
}
OBSERVATION_KEYS = ("glyphs", "blstats", "message")


def _env_id(name: str) -> str:
    if name in ENV_IDS:
        return ENV_IDS[name]
    if name in ENV_IDS.values():
        return name
    valid = ", ".join([*ENV_IDS, *dict.fromkeys(ENV_IDS.values())])
    raise APIUsageError(f"Unknown nethack environment {name!r}. Valid names: {valid}.")


class NetHackSeeding(gymnasium.Wrapper):
    """Route ``reset(seed=s)`` to NetHack's core and display generators.

    NLE's ``reset`` only seeds Gymnasium's ``np_random``, which NetHack never reads;
    without this a seeded reset would still start a fresh random dungeon. NetHack's
    anti-TAS reseeding is switched off so the game stays reproducible.
    """

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is not None:
            nle_env: Any = self.env.unwrapped  # NLE's own seed(core, disp, reseed)
            nle_env.seed(core=seed, disp=seed + 1, reseed=False)
        return self.env.reset(seed=seed, options=options)


def make_nle(env_id: str, observation_keys: Sequence[str], render_mode: str | None,
             **kwargs: Any) -> GymnasiumPufferEnv:
    """Build an NLE-family env (NetHack or MiniHack) with seeding and episode statistics.

    ``kwargs`` go to the NLE constructor (e.g. ``max_episode_steps``, ``penalty_step``).
    The caller has already imported the NLE package that registers ``env_id``.
    """
    env = gymnasium.make(env_id, observation_keys=tuple(observation_keys), render_mode=render_mode,
                         disable_env_checker=True, **kwargs)
    # NLE's observations are views of buffers that the next step overwrites; emulation
    # copies them into its own row at once, so nothing downstream sees them change.
    return GymnasiumPufferEnv(env=EpisodeStats(NetHackSeeding(env)))


def make_env(name: str = "nethack", observation_keys: Sequence[str] = OBSERVATION_KEYS,
             render_mode: str | None = None, **kwargs: Any) -> GymnasiumPufferEnv:
    """Build one NetHack env; extra kwargs go to NLE (e.g. ``max_episode_steps=5000``)."""
    env_id = _env_id(name)
    try_import("nle", EXTRA)
    return make_nle(env_id, observation_keys, render_mode, **kwargs)


def env_creator(name: str = "nethack") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _env_id(name)
    return functools.partial(make_env, name)


make = make_env
