"""Timing helpers shared by the benchmarks (run them as scripts: ``python bench/NAME.py``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def timed(step: Callable[[int], int], seconds: float) -> float:
    """Calls ``step(i)`` (returning agent steps taken) for ``seconds`` after 3 warm-up calls;
    agent steps/s."""
    for i in range(3):
        step(i)
    steps, i = 0, 0
    start = time.perf_counter()
    while True:
        steps += step(i)
        i += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def load_average() -> float:
    """The 1-minute load average, recorded beside each result (these machines are shared)."""
    return round(os.getloadavg()[0], 2)
