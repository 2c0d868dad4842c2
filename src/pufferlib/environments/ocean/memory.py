"""Memory: repeat a random bit string after a delay (needs a recurrent policy)."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from pufferlib.environments.ocean.render import ansi_rows, check_render_mode
from pufferlib.exceptions import APIUsageError


class Memory(gymnasium.Env):
    """Listen to ``mem_length`` random bits, wait ``mem_delay`` steps, then repeat them.

    The observation (shape ``(1,)``) shows bit ``i`` as +1 (a one) or -1 (a zero) on
    steps ``0 .. mem_length-1`` (step 0 being the reset observation) and 0 afterwards.
    An episode lasts ``2 * mem_length + mem_delay - 1`` steps:

    - while the bits are shown, action 0 ("stay quiet") earns 1;
    - during the ``mem_delay`` waiting steps nothing is earned;
    - then the ``i``-th of the last ``mem_length`` actions earns 1 if it equals bit ``i``.

    A perfect episode returns ``2 * mem_length - 1``. Final info: ``score`` = 1.0 if
    every bit was reproduced. Bits come from the env's own generator.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, mem_length: int = 2, mem_delay: int = 2, render_mode: str | None = None):
        if not isinstance(mem_length, int | np.integer) or mem_length < 1:
            raise APIUsageError(f"Memory needs an integer mem_length >= 1, got {mem_length!r}.")
        if not isinstance(mem_delay, int | np.integer) or mem_delay < 0:
            raise APIUsageError(f"Memory needs an integer mem_delay >= 0, got {mem_delay!r}.")
        self.mem_length = int(mem_length)
        self.mem_delay = int(mem_delay)
        self.horizon = 2 * self.mem_length + self.mem_delay
        self.render_mode = check_render_mode("Memory", render_mode, ["ansi"])
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.observation = np.zeros(1, dtype=np.float32)
        self.bits = np.zeros(self.mem_length, dtype=np.int64)
        self.submission = np.full(self.mem_length, -1, dtype=np.int64)
        self.tick = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.bits[:] = self.np_random.integers(0, 2, self.mem_length)
        self.submission[:] = -1
        self.tick = 1
        self.observation[0] = 2.0 * self.bits[0] - 1.0
        return self.observation.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        tick = self.tick
        if not 1 <= tick < self.horizon:
            raise APIUsageError("Memory: step() called before reset() or after the episode ended")
        if action not in (0, 1):
            raise APIUsageError(f"Memory: action must be 0 or 1, got {action!r}.")
        reward = 0.0
        answer_start = self.mem_length + self.mem_delay
        if tick < self.mem_length:
            reward = float(action == 0)
        elif tick >= answer_start:
            index = tick - answer_start
            self.submission[index] = action
            reward = float(action == self.bits[index])
        self.observation[0] = 2.0 * self.bits[tick] - 1.0 if tick < self.mem_length else 0.0
        self.tick = tick + 1
        terminated = self.tick == self.horizon
        info = {"score": float(np.array_equal(self.bits, self.submission))} if terminated else {}
        return self.observation.copy(), reward, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        shown = 2.0 * self.bits - 1.0
        given = np.where(self.submission < 0, 0.0, 2.0 * self.submission - 1.0)
        return ansi_rows({"Solution": shown, "Prediction": given})
