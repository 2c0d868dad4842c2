"""Refusing, up front, allocations the machine cannot hold.

A buffer sized by a typo (``--env.num-envs 100000000``) or an env with a huge observation would
otherwise be allocated lazily and grow until the machine runs out of memory. ``require`` compares
the bytes a buffer needs with the memory available now and raises ``APIUsageError`` with both
figures instead.
"""

from __future__ import annotations

from pufferlib.exceptions import APIUsageError

# One buffer may take at most this share of the memory available: the run needs room for its other
# buffers (the vecenv's, the rollout's, the model's) and the machine for everything else.
USABLE_FRACTION = 0.5


def available_bytes() -> int | None:
    """Memory available for new allocations (``MemAvailable``), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return None


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


def require(nbytes: int, what: str, fix: str) -> None:
    """``APIUsageError`` if ``nbytes`` for ``what`` exceed the memory available; ``fix`` says how to
    need less."""
    available = available_bytes()
    if available is not None and nbytes > USABLE_FRACTION * available:
        raise APIUsageError(f"{what} need {gib(nbytes)}, more than {USABLE_FRACTION:.0%} of the "
                            f"{gib(available)} of memory available now: {fix}.")
