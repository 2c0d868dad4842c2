"""Atari 2600 games through ale-py, with the standard DeepMind preprocessing.

``env_creator(name)`` accepts any game whose ROM ships with ale-py, spelled as the ROM
id (``breakout``, ``space_invaders``), loosely (``spaceinvaders``, ``beam-rider``) or as
a Gymnasium id (``ALE/Breakout-v5``, ``BreakoutNoFrameskip-v4``). ``make_env`` builds
the game without sticky actions and applies, innermost first:

- no-op reset (up to ``noop_max`` random no-ops; none in the few games without a
  NOOP action, e.g. backgammon), frame skip ``frameskip`` with a
  max-pool over the last two frames, 84x84 grayscale (Gymnasium's ``AtariPreprocessing``);
- ``EpisodeStats``: placed *below* the life and reward wrappers, so the reported
  ``episode_return`` is the full, unclipped game score and an episode is a real game;
- ``EpisodicLife``: a lost life ends the training episode, the game goes on;
- ``FireReset``: presses FIRE after every reset in games that have it (action 1);
- ``ClipReward``: rewards become their sign;
- ``FrameStackObservation``: the last ``framestack`` frames, ``(framestack, 84, 84)`` uint8.

Reset infos are empty except when the no-op that continues a game after a lost life
ends the game: then the reset info carries that game's final statistics.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, Protocol, SupportsFloat, cast

import gymnasium
import numpy as np

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "atari"


def games() -> list[str]:
    """The ROM ids ale-py ships and can load.

    Some shipped ROMs fail ale-py's own MD5 check (0.12.1: combat, joust, maze_craze,
    warlords); loading one makes the emulator exit the whole process, so they are left out.
    """
    ale_py = try_import("ale_py", EXTRA)
    return [rom for rom in ale_py.roms.get_all_rom_ids()
            if ale_py.ALEInterface.isSupportedROM(ale_py.roms.get_rom_path(rom))]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def game_id(name: str) -> str:
    """The ale-py ROM id for ``name`` (``APIUsageError`` listing the games if unknown)."""
    roms = games()
    stem = re.sub(r"^ALE/", "", name)
    stem = re.sub(r"(NoFrameskip|Deterministic)?-v\d+$", "", stem)
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem)
    by_key = {_key(rom): rom for rom in roms}
    rom = by_key.get(_key(stem))
    if rom is None:
        raise APIUsageError(f"Unknown Atari game {name!r}. Valid names: {', '.join(sorted(roms))}.")
    return rom


class _AtariGame(Protocol):
    """What the wrappers below use of ale_py's ``AtariEnv`` (an optional, untyped dependency)."""

    ale: Any

    def get_action_meanings(self) -> list[str]: ...


def _game(env: gymnasium.Env) -> _AtariGame:
    """The ``AtariEnv`` under ``env``'s wrappers."""
    return cast(_AtariGame, env.unwrapped)


class EpisodicLife(gymnasium.Wrapper):
    """End the training episode when a life is lost; reset the game only when it is over.

    After a lost life, ``reset`` continues the same game with one no-op step instead
    of restarting it. If that no-op ends the game, the game is reset and the no-op's
    info (the final statistics) is returned as the reset info.
    """

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.lives = 0
        self.game_over = True

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = terminated or truncated
        lives = _game(self.env).ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return observation, reward, terminated, truncated, info

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if self.game_over or seed is not None:
            observation, _ = self.env.reset(seed=seed, options=options)
            info: dict = {}
        else:
            observation, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                observation, _ = self.env.reset(options=options)
            else:
                info = {}
        self.game_over = False
        self.lives = _game(self.env).ale.lives()
        return observation, info


class FireReset(gymnasium.Wrapper):
    """Press FIRE (then action 2) after reset, for games that wait for FIRE to start."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        meanings = _game(env).get_action_meanings()
        if len(meanings) < 3 or meanings[1] != "FIRE":
            raise APIUsageError(f"FireReset needs FIRE as action 1, got actions {meanings}.")

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        observation, info = self.env.reset(seed=seed, options=options)
        for action in (1, 2):
            observation, _, terminated, truncated, step_info = self.env.step(action)
            if terminated or truncated:
                observation, info = self.env.reset(options=options)
                info = step_info or info
        return observation, info


class ClipReward(gymnasium.RewardWrapper):
    """Rewards become their sign: -1, 0 or 1."""

    def reward(self, reward: SupportsFloat) -> float:
        return float(np.sign(float(reward)))


def make_env(name: str = "breakout", framestack: int = 4, frameskip: int = 4, noop_max: int = 30,
             repeat_action_probability: float = 0.0, episodic_life: bool = True, clip_rewards: bool = True,
             render_mode: str | None = None) -> GymnasiumPufferEnv:
    """One preprocessed Atari game (see the module docstring for the wrapper stack)."""
    game = game_id(name)
    ale_py = try_import("ale_py", EXTRA)
    try_import("cv2", EXTRA)  # AtariPreprocessing resizes with OpenCV
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner per env
    env: gymnasium.Env = ale_py.env.AtariEnv(
        game=game, frameskip=1, repeat_action_probability=repeat_action_probability,
        full_action_space=False, max_num_frames_per_episode=108_000, render_mode=render_mode,
    )
    meanings = _game(env).get_action_meanings()
    if meanings[0] != "NOOP":
        noop_max = 0
    env = gymnasium.wrappers.AtariPreprocessing(env, noop_max=noop_max, frame_skip=frameskip, screen_size=84)
    env = EpisodeStats(env)
    if episodic_life:
        env = EpisodicLife(env)
    if meanings[1:2] == ["FIRE"] and len(meanings) >= 3:
        env = FireReset(env)
    if clip_rewards:
        env = ClipReward(env)
    env = gymnasium.wrappers.FrameStackObservation(env, framestack)
    return GymnasiumPufferEnv(env=env)


def env_creator(name: str = "breakout") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for game ``name``: call it with ``make_env``'s keyword arguments."""
    return functools.partial(make_env, game_id(name))


make = make_env
