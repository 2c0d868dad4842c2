"""What the worker-based backends (``Multiprocessing``, ``Ray``) share: their errors and timeouts.

A worker that fails raises ``WorkerError`` in the parent; one that stays silent past the
vecenv's ``timeout`` raises ``WorkerTimeoutError``; without a timeout, one silent for
``SILENT_WARNING_S`` seconds gets a single warning naming it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pufferlib.exceptions import APIUsageError

SILENT_WARNING_S = 60.0  # without a timeout: warn once about a worker silent this long


class WorkerError(RuntimeError):
    """A worker failed: its process died, or its env raised an exception that could not be
    rebuilt in the parent. ``worker_index`` says which worker."""

    def __init__(self, message: str, worker_index: int):
        super().__init__(message)
        self.message = message
        self.worker_index = worker_index


class WorkerTimeoutError(WorkerError, TimeoutError):
    """A worker did not answer within the vecenv's ``timeout``: stopped (SIGSTOP), stuck in
    a C call, deadlocked or just too slow. ``worker_index``, ``pid`` and ``state`` (the
    process state, e.g. ``'T (stopped)'``) say which and how. The vecenv can only be
    closed afterwards; ``close()`` kills the stuck worker."""

    def __init__(self, message: str, worker_index: int, pid: int | None, state: str):
        super().__init__(message, worker_index)
        self.pid = pid
        self.state = state

    def __reduce__(self) -> tuple:
        return type(self), (self.message, self.worker_index, self.pid, self.state)


def process_exists(pid: int) -> bool:
    """True while process ``pid`` exists (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_state(pid: int | None) -> str:
    """The kernel's state of process ``pid`` (``'S (sleeping)'``, ``'T (stopped)'``, ...)."""
    if pid is None:
        return "not started"
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("State:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        import psutil

        return psutil.Process(pid).status()
    except Exception:  # noqa: BLE001 - psutil missing, or the process is gone: state unknown
        return "unknown"


def check_timeout(timeout: Any) -> float | None:
    """``timeout`` as positive finite seconds, or ``None`` (no hard timeout)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, np.integer, np.floating)) or not (
            0 < float(timeout) < float("inf")):
        raise APIUsageError(
            f"timeout must be a positive number of seconds (how long a worker may take to answer) "
            f"or None for no limit, got {timeout!r}."
        )
    return float(timeout)
