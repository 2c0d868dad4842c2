"""Timing helpers shared by the benchmarks (run them as scripts: ``python bench/NAME.py``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any


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


def step_rate(step: Callable[[Any], Any], batches: Sequence[Any], seconds: float) -> float:
    """Calls per second of ``step(batch)``, cycling through ``batches``, for about ``seconds``
    after one warm-up pass. The loop that times our native envs (``bench/ocean.py``) and
    PufferLib 3.0's C games (``bench/pufferlib3/speed.py``, in the peer's interpreter): the
    same code on both sides, with the clock read once per pass, not once per call."""
    for batch in batches:
        step(batch)
    calls, start = 0, time.perf_counter()
    while True:
        for batch in batches:
            step(batch)
        calls += len(batches)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def load_average() -> float:
    """The 1-minute load average, recorded beside each result (these machines are shared)."""
    return round(os.getloadavg()[0], 2)
