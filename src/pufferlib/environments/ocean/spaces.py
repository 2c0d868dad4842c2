"""Spaces: Dict observations and Dict actions, exercising the whole flatten/unflatten path."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gymnasium
import numpy as np

from pufferlib.environments.ocean.render import ansi_rows, check_render_mode
from pufferlib.exceptions import APIUsageError


class Spaces(gymnasium.Env):
    """Guess the sign of each of two observation parts in a one-step episode.

    Observation ``Dict(flat=Box(-1, 1, (5,), int8), image=Box(-1, 1, (5, 5), float32))``;
    action ``Dict(flat=Discrete(2), image=Discrete(2))`` (Gymnasium orders keys, so
    emulated as ``MultiDiscrete([2, 2])`` = ``[flat, image]``). The right ``image``
    action is 1 if the image sums to more than 0, else 0; likewise for ``flat``. Each
    right guess earns 0.5. Final info: ``score`` = the reward.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None):
        self.render_mode = check_render_mode("Spaces", render_mode, ["ansi"])
        self.observation_space = gymnasium.spaces.Dict({
            "image": gymnasium.spaces.Box(-1.0, 1.0, (5, 5), np.float32),
            "flat": gymnasium.spaces.Box(-1, 1, (5,), np.int8),
        })
        self.action_space = gymnasium.spaces.Dict({
            "image": gymnasium.spaces.Discrete(2),
            "flat": gymnasium.spaces.Discrete(2),
        })
        self.observation: dict[str, np.ndarray] = {
            "flat": np.zeros(5, dtype=np.int8),
            "image": np.zeros((5, 5), dtype=np.float32),
        }
        self.image_sign = self.flat_sign = 0
        self._started = False
        self._last_action: dict | None = None

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        rng = self.np_random
        self.observation["image"][:] = rng.uniform(-1.0, 1.0, (5, 5))
        self.observation["flat"][:] = rng.integers(-1, 2, 5)
        self.image_sign = int(self.observation["image"].sum() > 0)
        self.flat_sign = int(self.observation["flat"].sum() > 0)
        self._started = True
        self._last_action = None
        return self._observe(), {}

    def step(self, action: Any) -> tuple[dict, float, bool, bool, dict]:
        if not self._started:
            raise APIUsageError("Spaces: step() called before reset() or after the episode ended")
        if not isinstance(action, dict) or set(action) != {"image", "flat"} or not all(
                value in (0, 1) for value in action.values()):
            raise APIUsageError(f"Spaces: action must be {{'flat': 0|1, 'image': 0|1}}, got {action!r}.")
        reward = 0.5 * (action["image"] == self.image_sign) + 0.5 * (action["flat"] == self.flat_sign)
        self._started = False
        self._last_action = dict(action)
        return self._observe(), float(reward), True, False, {"score": float(reward)}

    def _observe(self) -> dict[str, np.ndarray]:
        return {key: value.copy() for key, value in self.observation.items()}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        rows: dict[str, Iterable[float]] = {
            f"image row {i}": row for i, row in enumerate(self.observation["image"])}
        rows["flat"] = self.observation["flat"]
        signs = [2.0 * self.flat_sign - 1.0, 2.0 * self.image_sign - 1.0]
        rows["Solution (flat, image)"] = signs
        if self._last_action is not None:
            rows["Prediction (flat, image)"] = [2.0 * self._last_action[k] - 1.0 for k in ("flat", "image")]
        return ansi_rows(rows)
