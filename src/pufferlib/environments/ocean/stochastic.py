"""Stochastic: the optimal policy is stochastic (action 0 with probability ``p``)."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from pufferlib.environments.ocean.render import ansi_rows, check_render_mode
from pufferlib.exceptions import APIUsageError


class Stochastic(gymnasium.Env):
    """Keep the fraction of 0-actions at ``p`` over an episode of ``horizon`` steps.

    The observation is always ``[0.0]``. After each step, with ``frac`` the fraction of
    0-actions so far (this one included), the reward is ``1 - (p - frac)**2`` when the
    action is on the right side of ``p`` (action 0 with ``frac < p``, or action 1 with
    ``frac >= p``) and 0 otherwise.
    The episode terminates after exactly ``horizon`` steps. Final info: ``score`` =
    ``1 - (p - frac)**2``. Solve it with a memoryless policy: an LSTM trivialises it.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, p: float = 0.7, horizon: int = 100, render_mode: str | None = None):
        if not 0.0 <= p <= 1.0:
            raise APIUsageError(f"Stochastic needs a probability p in [0, 1], got {p!r}.")
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise APIUsageError(f"Stochastic needs an integer horizon >= 1, got {horizon!r}.")
        self.p = float(p)
        self.horizon = int(horizon)
        self.render_mode = check_render_mode("Stochastic", render_mode, ["ansi"])
        self.observation_space = gymnasium.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.observation = np.zeros(1, dtype=np.float32)
        self.tick = self.horizon
        self.count = 0
        self.action = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.tick = 0
        self.count = 0
        self.action = 0
        return self.observation.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.tick >= self.horizon:
            raise APIUsageError("Stochastic: step() called before reset() or after the episode ended")
        if action not in (0, 1):
            raise APIUsageError(f"Stochastic: action must be 0 or 1, got {action!r}.")
        self.tick += 1
        self.count += action == 0
        self.action = int(action)
        fraction = self.count / self.tick
        proximity = 1.0 - (self.p - fraction) ** 2
        right_side = (action == 0 and fraction < self.p) or (action == 1 and fraction >= self.p)
        reward = proximity if right_side else 0.0
        terminated = self.tick == self.horizon
        info = {"score": proximity} if terminated else {}
        return self.observation.copy(), reward, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        fraction = self.count / self.tick if self.tick else 0.0
        solution = 1.0 if fraction < self.p else -1.0  # blue: action 0, red: action 1
        prediction = (1.0 if self.action == 0 else -1.0) if self.tick else 0.0
        return ansi_rows({"Solution": [solution], "Prediction": [prediction]})
