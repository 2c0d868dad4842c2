"""Performance: synthetic step cost and observation size, for benchmarking vectorization."""

from __future__ import annotations

import time
from typing import Any

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError

_BOUND = 2.0**20


class _Synthetic(gymnasium.Env):
    """Shared body: a never-ending episode of constant ``(bandwidth,)`` float32 observations."""

    def __init__(self, bandwidth: int):
        if not isinstance(bandwidth, int | np.integer) or bandwidth < 1:
            raise APIUsageError(f"{type(self).__name__} needs an integer bandwidth >= 1, got {bandwidth!r}.")
        self.bandwidth = int(bandwidth)
        self.observation_space = gymnasium.spaces.Box(-_BOUND, _BOUND, (self.bandwidth,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.observation = np.zeros(self.bandwidth, dtype=np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.observation[:] = self.np_random.standard_normal(self.bandwidth)
        return self.observation.copy(), {}

    def _draw(self, mean: float, std: float) -> float:
        return mean + std * self.np_random.standard_normal() if std else mean


class Performance(_Synthetic):
    """Each step busy-waits ``Normal(delay_mean, delay_std)`` seconds of this process's CPU time.

    CPU time rather than wall time, so a step costs the same CPU work whether or not the
    worker is descheduled: like a real simulator. Reward 0; episodes never end.
    """

    def __init__(self, delay_mean: float = 0, delay_std: float = 0, bandwidth: int = 1):
        if delay_mean < 0 or delay_std < 0:
            raise APIUsageError(
                f"Performance needs delay_mean, delay_std >= 0, got {delay_mean}, {delay_std}.")
        super().__init__(bandwidth)
        self.delay_mean = float(delay_mean)
        self.delay_std = float(delay_std)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        delay = self._draw(self.delay_mean, self.delay_std)
        if delay > 0:
            deadline = time.process_time() + delay
            while time.process_time() < deadline:
                pass
        return self.observation.copy(), 0.0, False, False, {}


class PerformanceEmpiric(_Synthetic):
    """Each step runs ``Normal(count_n, count_std)`` iterations of an empty Python loop.

    Reward 0; episodes never end.
    """

    def __init__(self, count_n: int = 0, count_std: float = 0, bandwidth: int = 1):
        if count_n < 0 or count_std < 0:
            raise APIUsageError(
                f"PerformanceEmpiric needs count_n, count_std >= 0, got {count_n}, {count_std}.")
        super().__init__(bandwidth)
        self.count_n = count_n
        self.count_std = float(count_std)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        for _ in range(max(0, int(self._draw(self.count_n, self.count_std)))):
            pass
        return self.observation.copy(), 0.0, False, False, {}
