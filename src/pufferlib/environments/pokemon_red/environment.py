"""Pokémon Red on the PyBoy Game Boy emulator.

The ROM cannot ship with pufferlib: pass ``rom_path=`` or set ``POKEMON_RED_ROM`` to
a legally obtained ``Pokemon Red.gb``; without one, construction raises
``MissingROMError`` (an ``EnvironmentSetupError``) saying how to provide it.

- Actions (``Discrete(7)``): down, left, right, up, A, B, start; each press is held
  for 8 frames, then the emulator runs to ``frame_skip`` frames in total.
- Observation: the 160x144 screen in grayscale, subsampled by ``downsample``:
  ``(1, 72, 80)`` uint8 at the default 2.
- Reward: ``explore_reward`` per map tile visited for the first time this episode,
  plus ``level_reward`` per party level gained, plus ``badge_reward`` per badge.
- Episodes are truncated after ``max_steps``; the final info has ``tiles_explored``,
  ``party_levels`` and ``badges``.
- ``reset`` restores ``state_path`` (a PyBoy save state, e.g. one taken after the
  intro) or, without one, the state captured right after boot. The emulator is
  deterministic, so a seed changes nothing.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.postprocess import EpisodeStats

EXTRA = "pokemon_red"
ROM_ENV_VAR = "POKEMON_RED_ROM"
ENV_NAMES = ("pokemon_red",)
BUTTONS = ("down", "left", "right", "up", "a", "b", "start")
PRESS_FRAMES = 8
# Pokémon Red RAM addresses (see the pret/pokered disassembly).
PLAYER_X, PLAYER_Y, MAP_ID = 0xD362, 0xD361, 0xD35E
PARTY_SIZE = 0xD163
PARTY_LEVELS = (0xD18C, 0xD1B8, 0xD1E4, 0xD210, 0xD23C, 0xD268)
BADGES = 0xD356
# ITU-R 601 luma weights: RGB -> grayscale.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class MissingROMError(EnvironmentSetupError):
    """No Pokémon Red ROM was given: it cannot ship with pufferlib."""

    def __init__(self, path: str | None):
        cause = FileNotFoundError(path) if path else None
        super().__init__(cause, EXTRA)
        where = f"No file at {path!r}. " if path else ""
        self.message = (
            f"{where}Pokémon Red needs its ROM, which pufferlib cannot ship: pass "
            f"rom_path='/path/to/Pokemon Red.gb' or set the {ROM_ENV_VAR} environment variable. "
            f"The emulator itself comes with `pip install pufferlib[{EXTRA}]`."
        )
        self.args = (self.message,)


def resolve_rom_path(rom_path: str | os.PathLike | None = None) -> str:
    """``rom_path``, else ``$POKEMON_RED_ROM``; ``MissingROMError`` if neither names a file."""
    path = rom_path if rom_path is not None else os.environ.get(ROM_ENV_VAR)
    if not path or not os.path.isfile(path):
        raise MissingROMError(os.fspath(path) if path else None)
    return os.fspath(path)


class PokemonRedEnv(gymnasium.Env):
    """Pokémon Red as a Gymnasium env over PyBoy (see the module doc for the contract)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, rom_path: str | os.PathLike | None = None, state_path: str | os.PathLike | None = None,
                 frame_skip: int = 24, downsample: int = 2, max_steps: int = 2048,
                 explore_reward: float = 0.01, level_reward: float = 1.0, badge_reward: float = 5.0,
                 render_mode: str | None = None):
        rom = resolve_rom_path(rom_path)
        if frame_skip < PRESS_FRAMES:
            raise APIUsageError(
                f"frame_skip must be at least {PRESS_FRAMES} (one button press), got {frame_skip}.")
        if downsample < 1:
            raise APIUsageError(f"downsample must be a positive integer, got {downsample}.")
        pyboy = try_import("pyboy", EXTRA)
        self.pyboy = pyboy.PyBoy(rom, window="null", sound_emulated=False)
        if state_path is not None:
            with open(state_path, "rb") as f:
                self._initial_state = f.read()
        else:
            self.pyboy.tick(1, True)
            snapshot = io.BytesIO()
            self.pyboy.save_state(snapshot)
            self._initial_state = snapshot.getvalue()
        self.frame_skip = frame_skip
        self.downsample = downsample
        self.max_steps = max_steps
        self.explore_reward = explore_reward
        self.level_reward = level_reward
        self.badge_reward = badge_reward
        self.render_mode = render_mode
        height, width = 144, 160
        shape = (1, -(-height // downsample), -(-width // downsample))
        self.observation_space = gymnasium.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gymnasium.spaces.Discrete(len(BUTTONS))
        self._seen: set[tuple[int, int, int]] = set()
        self._levels = 0
        self._badges = 0
        self._steps = 0

    def _observation(self) -> np.ndarray:
        screen = self.pyboy.screen.ndarray[::self.downsample, ::self.downsample, :3] @ LUMA
        return screen.reshape(self.observation_space.shape).astype(np.uint8)

    def _party_levels(self) -> int:
        memory = self.pyboy.memory
        size = min(memory[PARTY_SIZE], len(PARTY_LEVELS))
        return sum(memory[address] for address in PARTY_LEVELS[:size])

    def _badge_count(self) -> int:
        return int(self.pyboy.memory[BADGES]).bit_count()

    def _visit(self) -> bool:
        memory = self.pyboy.memory
        tile = (memory[MAP_ID], memory[PLAYER_X], memory[PLAYER_Y])
        if tile in self._seen:
            return False
        self._seen.add(tile)
        return True

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.pyboy.load_state(io.BytesIO(self._initial_state))
        self._seen.clear()
        self._visit()
        self._levels = self._party_levels()
        self._badges = self._badge_count()
        self._steps = 0
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.pyboy.button(BUTTONS[int(action)], PRESS_FRAMES)
        self.pyboy.tick(self.frame_skip, True)
        self._steps += 1
        levels, badges = self._party_levels(), self._badge_count()
        reward = (self.explore_reward * self._visit()
                  + self.level_reward * max(levels - self._levels, 0)
                  + self.badge_reward * max(badges - self._badges, 0))
        self._levels, self._badges = max(levels, self._levels), max(badges, self._badges)
        truncated = self._steps >= self.max_steps
        info = {}
        if truncated:
            info = {"tiles_explored": len(self._seen), "party_levels": self._levels, "badges": self._badges}
        return self._observation(), float(reward), False, truncated, info

    def render(self) -> np.ndarray:
        return np.array(self.pyboy.screen.ndarray[:, :, :3])

    def close(self) -> None:
        self.pyboy.stop(save=False)


def _check_name(name: str) -> None:
    if name not in ENV_NAMES:
        raise APIUsageError(f"Unknown pokemon_red environment {name!r}. Valid names: {', '.join(ENV_NAMES)}.")


def make_env(name: str = "pokemon_red", rom_path: str | os.PathLike | None = None,
             **kwargs: Any) -> GymnasiumPufferEnv:
    """Build one Pokémon Red env; kwargs go to ``PokemonRedEnv`` (``state_path``, ``frame_skip``, ...)."""
    _check_name(name)
    return GymnasiumPufferEnv(env=EpisodeStats(PokemonRedEnv(rom_path=rom_path, **kwargs)))


def env_creator(name: str = "pokemon_red") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _check_name(name)
    return functools.partial(make_env, name)


make = make_env
