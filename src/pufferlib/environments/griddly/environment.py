"""Griddly: fast grid-world games described in GDY (YAML), with a Gymnasium front end.

Griddly 1.6 speaks the old ``gym`` API (4-tuple ``step``, ``reset`` without info)
and uses old ``gym`` spaces, so ``GriddlyEnv`` adapts one single-player game to
Gymnasium: ``Box`` observations from Griddly's ``VECTOR`` observer (one ``uint8``
channel per object type and variable, ``(C, W, H)``), ``Discrete``/``MultiDiscrete``
actions, ``terminated`` when the game ends and ``truncated`` after ``max_steps``.

Each env plays one level (``level``, default 0): levels of a game may differ in size,
and a vectorized env needs one observation shape.
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

EXTRA = "griddly"
GAMES = {
    "spider_nest": "Single-Player/GVGAI/spider-nest.yaml",
    "sokoban": "Single-Player/GVGAI/sokoban.yaml",
    "butterflies": "Single-Player/GVGAI/butterflies.yaml",
    "clusters": "Single-Player/GVGAI/clusters.yaml",
    "zelda": "Single-Player/GVGAI/zelda.yaml",
    "bait": "Single-Player/GVGAI/bait.yaml",
    "labyrinth": "Single-Player/GVGAI/labyrinth.yaml",
    "zenpuzzle": "Single-Player/GVGAI/zenpuzzle.yaml",
    "cookmepasta": "Single-Player/GVGAI/cookmepasta.yaml",
    "doggo": "Single-Player/Mini-Grid/minigrid-doggo.yaml",
    "spiders": "Single-Player/Mini-Grid/minigrid-spiders.yaml",
    "eyeball": "Single-Player/Mini-Grid/minigrid-eyeball.yaml",
    "drunkdwarf": "Single-Player/Mini-Grid/minigrid-drunkdwarf.yaml",
}


def _game_file(name: str) -> str:
    if name not in GAMES:
        raise APIUsageError(f"Unknown griddly environment {name!r}. Valid names: {', '.join(GAMES)}.")
    return GAMES[name]


def _gymnasium_space(space: Any) -> gymnasium.Space:
    """Griddly's old-``gym`` action space as a Gymnasium space."""
    if hasattr(space, "nvec"):
        return gymnasium.spaces.MultiDiscrete(np.asarray(space.nvec, dtype=np.int64))
    return gymnasium.spaces.Discrete(int(space.n))


class GriddlyEnv(gymnasium.Env):
    """One single-player Griddly game as a Gymnasium env.

    ``reset(seed=s)`` seeds Griddly's game RNG. The final step's info carries
    ``win`` (1.0 when the game reports a win for the player, else 0.0).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, game_file: str, level: int = 0, max_steps: int = 1000,
                 render_mode: str | None = None):
        griddly = try_import("griddly", EXTRA)
        observer = griddly.gd.ObserverType.VECTOR
        # Griddly's own step limit would end episodes as a "Lose" (a termination);
        # counting here reports the limit as a truncation instead.
        self._game = griddly.GymWrapper(yaml_file=game_file, level=level, player_observer_type=observer,
                                        global_observer_type=observer)
        if self._game.player_count != 1:
            raise APIUsageError(f"{game_file} has {self._game.player_count} players; GriddlyEnv plays "
                                "single-player games.")
        self._game.reset()
        native = self._game.observation_space
        self.observation_space = gymnasium.spaces.Box(0, 255, tuple(native.shape), np.uint8)
        self.action_space = _gymnasium_space(self._game.action_space)
        self.max_steps = max_steps
        self.render_mode = render_mode
        self._steps = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._game.game.seed(seed)
        self._steps = 0
        return np.asarray(self._game.reset(), dtype=np.uint8), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, done, info = self._game.step(action)
        self._steps += 1
        truncated = not done and self._steps >= self.max_steps
        if done or truncated:
            results = info.get("PlayerResults") or {}
            info = {"win": float(results.get("1") == "Win")}
        return np.asarray(obs, dtype=np.uint8), float(reward), bool(done), truncated, info

    def render(self) -> np.ndarray:
        return self._game.render(mode="rgb_array", observer="global")

    def close(self) -> None:
        self._game.close()


def make_env(name: str = "spider_nest", level: int = 0, max_steps: int = 1000,
             render_mode: str | None = None) -> GymnasiumPufferEnv:
    """Build one Griddly game (``level`` of it), truncated after ``max_steps`` steps."""
    env = GriddlyEnv(_game_file(name), level=level, max_steps=max_steps, render_mode=render_mode)
    return GymnasiumPufferEnv(env=EpisodeStats(env))


def env_creator(name: str = "spider_nest") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _game_file(name)
    return functools.partial(make_env, name)


make = make_env
