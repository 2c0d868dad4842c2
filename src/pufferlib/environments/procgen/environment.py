"""Procgen games (procgen-mirror) as Gymnasium envs.

Procgen speaks gym3: a batch of games that reset themselves, observed with
``observe() -> (reward, {'rgb': obs}, first)`` after ``act(actions)``. ``ProcgenEnv``
drives one game through that API and presents it as a Gymnasium env: observations
``(64, 64, 3)`` uint8 (channels last), ``Discrete(15)`` actions. An episode ends when
gym3 reports ``first`` (the game has already started its next level; ``reset`` then
returns that level's first frame without restarting). ``reset(seed=s)`` recreates the
game with ``rand_seed=s``, so the same seed replays the same levels.

The final step's info carries ``level_complete`` (1 if the level was solved), which
``EpisodeStats`` reports next to the episode return and length.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "procgen"

GAMES = (
    "bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot",
    "heist", "jumper", "leaper", "maze", "miner", "ninja", "plunder", "starpilot",
)


def _game(name: str) -> str:
    game = name.lower().removeprefix("procgen-").removeprefix("procgen:procgen-").split("-v")[0]
    if game not in GAMES:
        raise APIUsageError(f"Unknown Procgen game {name!r}. Valid names: {', '.join(GAMES)}.")
    return game


class ProcgenEnv(gymnasium.Env):
    """One Procgen game behind the Gymnasium API (see the module docstring).

    ``num_levels=0`` draws from unlimited levels starting at ``start_level``;
    ``distribution_mode`` is ``'easy'`` or ``'hard'`` (and ``'exploration'``/``'memory'``
    for the games that have them).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, name: str = "coinrun", num_levels: int = 0, start_level: int = 0,
                 distribution_mode: str = "easy", render_mode: str | None = None):
        self.game = _game(name)
        self._options = dict(env_name=self.game, num_levels=num_levels, start_level=start_level,
                             distribution_mode=distribution_mode)
        self.render_mode = render_mode
        self.observation_space = gymnasium.spaces.Box(0, 255, (64, 64, 3), np.uint8)
        self.action_space = gymnasium.spaces.Discrete(15)
        self._procgen = try_import("procgen", EXTRA)
        self._env = self._create(None)
        self._action = np.zeros(1, dtype=np.int32)
        self._observation = np.zeros((64, 64, 3), np.uint8)
        self._started = False

    def _create(self, seed: int | None) -> Any:
        # num_threads=0: step synchronously; parallelism comes from the vector backend.
        return self._procgen.ProcgenGym3Env(num=1, rand_seed=seed, num_threads=0, **self._options)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._env.close()
            self._env = self._create(int(seed) % 2**31)
            self._started = False
        if not self._started:
            _, observation, _ = self._env.observe()
            self._observation = observation["rgb"][0]
            self._started = True
        return self._observation, {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._action[0] = action
        self._env.act(self._action)
        reward, observation, first = self._env.observe()
        self._observation = observation["rgb"][0]
        if first[0]:
            # The game restarted by itself: the frame shown is the next level's first one.
            info = {"level_complete": float(self._env.get_info()[0]["prev_level_complete"])}
            return self._observation, float(reward[0]), True, False, info
        return self._observation, float(reward[0]), False, False, {}

    def render(self) -> np.ndarray:
        return self._observation

    def close(self) -> None:
        self._env.close()


def make_env(name: str = "coinrun", num_levels: int = 0, start_level: int = 0,
             distribution_mode: str = "easy", render_mode: str | None = None) -> GymnasiumPufferEnv:
    """One Procgen game with episode statistics."""
    env = ProcgenEnv(name, num_levels=num_levels, start_level=start_level,
                     distribution_mode=distribution_mode, render_mode=render_mode)
    return GymnasiumPufferEnv(env=EpisodeStats(env))


def env_creator(name: str = "coinrun") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for game ``name``: call it with ``make_env``'s keyword arguments."""
    return functools.partial(make_env, _game(name))


make = make_env
