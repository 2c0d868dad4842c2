"""What a ``Multiprocessing`` vecenv keeps in ``/dev/shm``, for leak checks.

Only the vecenv's own files are checked, never a listing of ``/dev/shm``: other processes
(another test of a parallel run) create and remove files there at any time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SHM = Path("/dev/shm")


def semaphore_files(vecenv) -> set[str]:
    """The ``/dev/shm`` files of ``vecenv``'s named semaphores.

    Spawn and forkserver name their semaphores; fork unlinks them at creation (none). The
    shared buffers are unlinked at creation under every start method.
    """
    workers = vecenv._workers
    semaphores = [*workers.go, *workers.done, *([workers.wake] if workers.wake is not None else [])]
    names = (semaphore._semlock.name for semaphore in semaphores)
    return {"sem." + name.lstrip("/") for name in names if name is not None}


def still_there(files: Iterable[str]) -> set[str]:
    """Those of ``files`` that still exist in ``/dev/shm``."""
    return {name for name in files if (SHM / name).exists()}
