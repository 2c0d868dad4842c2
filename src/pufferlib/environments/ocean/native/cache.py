"""Numba's on-disk cache of compiled kernels: recovering when it is damaged.

Kernels are compiled once and cached (``cache=True``) next to their module (``__pycache__``) or
under ``NUMBA_CACHE_DIR``. A cache file torn by a crash or a full disk makes every later start
fail inside Numba with ``UnpicklingError``/``EOFError``, naming neither the cache nor the fix.
``recompiling_if_damaged`` deletes the damaged game's cache files and compiles again.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from pufferlib.exceptions import APIUsageError

DAMAGED = (pickle.UnpicklingError, EOFError)


def cache_files(modules: Iterable[ModuleType]) -> list[Path]:
    """The cache files (``.nbi`` index, ``.nbc`` code) of the compiled functions of ``modules``."""
    found: set[Path] = set()
    for module in modules:
        stem = Path(getattr(module, "__file__", "") or "").stem
        for value in vars(module).values():
            folder = getattr(getattr(value, "_cache", None), "_cache_path", None)
            if stem and folder and Path(folder).is_dir():
                found.update(p for p in Path(folder).glob(f"{stem}.*") if p.suffix in (".nbi", ".nbc"))
    return sorted(found)


def recompiling_if_damaged(call: Callable[[], Any], modules: Iterable[ModuleType], what: str) -> Any:
    """``call()``; if Numba's cache of ``modules`` turns out unreadable, delete it and ``call()`` again."""
    try:
        return call()
    except DAMAGED as first:
        modules = list(modules)
        damaged = cache_files(modules)
        for path in damaged:
            path.unlink(missing_ok=True)
        try:
            result = call()
        except DAMAGED:
            folders = sorted({str(p.parent) for p in damaged}) or ["__pycache__ or NUMBA_CACHE_DIR"]
            raise APIUsageError(
                f"Numba's cache of {what}'s compiled kernels is unreadable ({type(first).__name__}: "
                f"{first}). "
                f"Delete the .nbi/.nbc files in {', '.join(folders)} (or set NUMBA_CACHE_DIR to an empty "
                "folder) and run again."
            ) from first
        warnings.warn(f"Numba's cache of {what}'s compiled kernels was unreadable ({first}); deleted "
                      f"{len(damaged)} cache files and compiled again.", stacklevel=3)
        return result
