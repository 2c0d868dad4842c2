"""``EpisodeLog``: the finished episodes' statistics a run reports, from the envs' infos.

Envs report a finished episode as an info dict of numbers (``episode_return``,
``episode_length``, ``score``, ...). A native env summarises many episodes in one dict: their
means, with their count under ``n``; every statistic is then weighted by that count. The log
keeps the means since the last report (``take_means``, once per update) and the last 100
episodes of each statistic (``score``: what picks ``best.pt``; saved in checkpoints).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from itertools import repeat

import numpy as np

WINDOW = 100


class EpisodeLog:
    """Counts finished episodes and keeps their statistics (see the module docstring)."""

    def __init__(self) -> None:
        self.episodes = 0
        self.recent: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=WINDOW))
        self._since_report: dict[str, list[float]] = defaultdict(list)

    @property
    def returns(self) -> deque[float]:
        """Returns of the last 100 finished episodes."""
        return self.recent["episode_return"]

    def add(self, infos: list[dict]) -> None:
        for info in infos:
            count = int(info.get("n", 1))
            if "episode_return" in info:
                self.episodes += count
            for key, value in info.items():
                numeric = isinstance(value, int | float | np.number) and not isinstance(value, complex)
                if numeric and key not in ("n", "agent"):
                    self._since_report[key].extend(repeat(float(value), count))
                    self.recent[key].extend(repeat(float(value), min(count, WINDOW)))

    def take_means(self) -> dict[str, float]:
        """The mean of every statistic over the episodes since the last call (empty if none)."""
        means = {key: float(np.mean(values)) for key, values in self._since_report.items()}
        self._since_report.clear()
        return means

    def score(self, metric: str = "") -> float:
        """Mean ``metric`` over the last 100 episodes (empty: ``score`` if reported, else
        ``episode_return``); nan before any."""
        metric = metric or ("score" if self.recent.get("score") else "episode_return")
        values = self.recent.get(metric)
        return float(np.mean(values)) if values else math.nan

    def state_dict(self) -> dict[str, list[float]]:
        return {key: list(values) for key, values in self.recent.items()}

    def load_state_dict(self, state: dict[str, list[float]], episodes: int) -> None:
        self.episodes = episodes
        for key, values in state.items():
            self.recent[key].extend(float(v) for v in values)
