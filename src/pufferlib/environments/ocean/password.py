"""Password: guess a fixed hidden binary password (a sparse-reward exploration test)."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from pufferlib.environments.ocean.render import ansi_rows, check_render_mode
from pufferlib.exceptions import APIUsageError


class Password(gymnasium.Env):
    """Guess ``password_length`` binary digits, one per step.

    The observation (shape ``(password_length,)``, inside ``Box(-1, 1)``) holds the
    guesses so far, -1 for digits not guessed yet, so the task needs no memory. The
    reward is 0 except on the last step: 1 if every guess matched the password. Final
    info: ``score`` = that reward.

    The password is fixed by ``hard_fixed_seed`` (shared by every env built with the
    same value, so one policy can find it). With ``hard_fixed_seed=None`` it is drawn
    from the seed of ``reset(seed=...)`` and kept across unseeded resets.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, password_length: int = 5, hard_fixed_seed: int | None = 42,
                 render_mode: str | None = None):
        if not isinstance(password_length, int | np.integer) or password_length < 1:
            raise APIUsageError(f"Password needs an integer password_length >= 1, got {password_length!r}.")
        self.password_length = int(password_length)
        self.hard_fixed_seed = hard_fixed_seed
        self.render_mode = check_render_mode("Password", render_mode, ["ansi"])
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, (self.password_length,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.observation = np.full(self.password_length, -1.0, dtype=np.float32)
        self.solution: np.ndarray | None = None
        if hard_fixed_seed is not None:
            rng = np.random.default_rng(hard_fixed_seed)
            self.solution = rng.integers(0, 2, self.password_length).astype(np.float32)
        self.tick = self.password_length

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.hard_fixed_seed is None and (seed is not None or self.solution is None):
            self.solution = self.np_random.integers(0, 2, self.password_length).astype(np.float32)
        self.observation[:] = -1.0
        self.tick = 0
        return self.observation.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.tick >= self.password_length:
            raise APIUsageError("Password: step() called before reset() or after the episode ended")
        if action not in (0, 1):
            raise APIUsageError(f"Password: action must be 0 or 1, got {action!r}.")
        self.observation[self.tick] = action
        self.tick += 1
        if self.tick < self.password_length:
            return self.observation.copy(), 0.0, False, False, {}
        assert self.solution is not None  # drawn by __init__ or reset
        reward = float(np.array_equal(self.observation, self.solution))
        return self.observation.copy(), reward, True, False, {"score": reward}

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.solution is None:
            return None
        guesses = np.where(self.observation < 0, 0.0, 2.0 * self.observation - 1.0)
        return ansi_rows({"Solution": 2.0 * self.solution - 1.0, "Prediction": guesses})
