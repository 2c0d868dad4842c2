"""The part of PufferLib 1.0's ``pufferlib.utils`` that 1.0 client code calls.

1.0 trainers and scripts (``clean_pufferl.py``, ``demo.py`` and env bindings written for
1.0) import these names; they keep working unchanged against this package:

- profiling: ``Profiler`` (a reusable timer/counter, also a context manager), the
  ``profile`` method decorator and ``aggregate_profilers``, with ``format_bytes``;
- configuration: ``get_init_args`` and ``validate_args`` (keyword options of a creator or
  policy), ``unroll_nested_dict`` (``"a/b"`` keys for loggers) and ``install_and_import``;
- quieting noisy dependencies: ``Suppress`` (Python and C-level stdout/stderr) and
  ``silence_warnings``.

Unlike 1.0, ``install_and_import`` never runs ``pip``: a missing binding raises
``EnvironmentSetupError`` with the install command instead.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import io
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import redirect_stderr, redirect_stdout
from types import ModuleType
from typing import Any

from pufferlib.exceptions import EnvironmentSetupError, install_hint

__all__ = [
    "Profiler",
    "Suppress",
    "aggregate_profilers",
    "format_bytes",
    "get_init_args",
    "install_and_import",
    "profile",
    "silence_warnings",
    "unroll_nested_dict",
    "validate_args",
]


# --------------------------------------------------------------------------------------
# Profiling


def format_bytes(size: float) -> str:
    """``size`` in bytes as a short human-readable string (``'1.50 KB'``, ``'3.00 GB'``)."""
    for unit, scale in (("TB", 1024 ** 4), ("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if abs(size) >= scale:
            return f"{size / scale:.2f} {unit}"
    return f"{size} B"


class Profiler:
    """Accumulated wall time and call count of a code section (1.0's ``Profiler``).

    Use as a context manager (``with profiler: ...``) or with ``start()``/``stop()``.
    ``elapsed`` is the total seconds over all calls, ``calls`` their number, and ``delta``
    the seconds added since ``delta`` was last read. With ``memory=True`` it also records
    the process's resident memory change over the last call (needs ``psutil``); with
    ``pytorch_memory=True`` the change in CUDA memory allocated by torch.
    """

    def __init__(self, elapsed: bool = True, calls: bool = True, memory: bool = False,
                 pytorch_memory: bool = False):
        self.elapsed: float | None = 0.0 if elapsed else None
        self.calls: int | None = 0 if calls else None
        self.memory: int | None = None
        self.pytorch_memory: int | None = None
        self.prev = 0.0
        self.track_elapsed = elapsed
        self.track_calls = calls
        self.track_memory = memory
        self.track_pytorch_memory = pytorch_memory
        self.start_time = 0.0
        if memory:
            import psutil

            self.process = psutil.Process()
        if pytorch_memory:
            import torch

            self.torch = torch

    @property
    def serial(self) -> dict[str, Any]:
        """The counters as a dict (reading it advances ``delta``, as in 1.0)."""
        return {"elapsed": self.elapsed, "calls": self.calls, "memory": self.memory,
                "pytorch_memory": self.pytorch_memory, "delta": self.delta}

    @property
    def delta(self) -> float | None:
        """Seconds accumulated since the previous read of ``delta``."""
        if self.elapsed is None:
            return None
        delta, self.prev = self.elapsed - self.prev, self.elapsed
        return delta

    def __enter__(self) -> Profiler:
        if self.track_elapsed:
            self.start_time = time.perf_counter()
        if self.track_memory:
            self.start_mem = self.process.memory_info().rss
        if self.track_pytorch_memory:
            self.start_torch_mem = self.torch.cuda.memory_allocated()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.elapsed is not None:  # tracked
            self.elapsed += time.perf_counter() - self.start_time
        if self.calls is not None:
            self.calls += 1
        if self.track_memory:
            self.memory = self.process.memory_info().rss - self.start_mem
        if self.track_pytorch_memory:
            self.pytorch_memory = self.torch.cuda.memory_allocated() - self.start_torch_mem

    start = __enter__
    stop = __exit__

    def __repr__(self) -> str:
        parts = []
        if self.track_elapsed:
            parts.append(f"Elapsed: {self.elapsed:.4f} s")
        if self.track_calls:
            parts.append(f"Calls: {self.calls}")
        if self.track_memory and self.memory is not None:
            parts.append(f"Memory: {format_bytes(self.memory)}")
        if self.track_pytorch_memory and self.pytorch_memory is not None:
            parts.append(f"PyTorch Memory: {format_bytes(self.pytorch_memory)}")
        return ", ".join(parts)


def profile(func: Callable) -> Callable:
    """Time every call of ``func`` in ``Profiler``s kept per first argument.

    ``func``'s first argument (``self``, or 1.0's ``data`` namespace) gets a ``_timers``
    dict, ``{func.__name__: Profiler}``.
    """
    name = func.__name__

    @functools.wraps(func)
    def wrapper(owner: Any, *args: Any, **kwargs: Any) -> Any:
        timers = getattr(owner, "_timers", None)
        if timers is None:
            timers = {}
            owner._timers = timers
        timer = timers.get(name)
        if timer is None:
            timer = timers[name] = Profiler()
        with timer:
            return func(owner, *args, **kwargs)

    return wrapper


def aggregate_profilers(profiler_dicts: list[Mapping[str, Profiler]]) -> dict[str, Profiler]:
    """One ``Profiler`` per key summing ``elapsed`` and ``calls`` over ``profiler_dicts``.

    A profiler that does not track a counter (``Profiler(calls=False)``) adds nothing to it.
    """
    merged: dict[str, Profiler] = {}
    if not profiler_dicts:
        return merged
    for key in profiler_dicts[0]:
        timers = [profilers[key] for profilers in profiler_dicts]
        total = merged[key] = Profiler()
        total.elapsed = sum((t.elapsed for t in timers if t.elapsed is not None), 0.0)
        total.calls = sum((t.calls for t in timers if t.calls is not None), 0)
    return merged


# --------------------------------------------------------------------------------------
# Configuration


def get_init_args(fn: Callable | None) -> dict[str, Any]:
    """``{name: default}`` of ``fn``'s named parameters (``None`` where there is no default).

    ``env`` and ``policy`` (passed positionally by trainers), ``*args`` and ``**kwargs``
    are left out; for a ``functools.partial`` its bound keywords are returned.
    """
    if fn is None:
        return {}
    if isinstance(fn, functools.partial):
        return dict(fn.keywords)
    options = {}
    for name, param in inspect.signature(fn).parameters.items():
        if name in ("env", "policy") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        options[name] = None if param.default is inspect.Parameter.empty else param.default
    return options


def validate_args(fn: Callable, kwargs: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` (as 1.0 did) naming any key of ``kwargs`` that ``fn`` does not take."""
    accepted = get_init_args(fn)
    for key in kwargs:
        if key not in accepted:
            raise ValueError(
                f"Invalid argument {key!r} to {fn!r}, which takes {sorted(accepted)}: "
                "check your config."
            )


def unroll_nested_dict(d: Any) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` pairs of a nested dict, nested keys joined by ``/`` (for loggers)."""
    if not isinstance(d, dict):
        return
    for key, value in d.items():
        if isinstance(value, dict):
            for sub_key, sub_value in unroll_nested_dict(value):
                yield f"{key}/{sub_key}", sub_value
        else:
            yield key, value


def install_and_import(package: str) -> ModuleType:
    """Import ``package`` (1.0 demo: ``'pufferlib.environments.<name>'``).

    1.0 ran ``pip install`` when the import failed; this raises ``EnvironmentSetupError``
    naming the extra to install instead, so importing never changes the environment.
    """
    name = package.rsplit(".", 1)[-1]
    try:
        return importlib.import_module(package)
    except ImportError as e:
        binding = package.startswith("pufferlib.environments.")
        raise EnvironmentSetupError(e, name, hint=None if binding and install_hint(name) else
                                    f"Install it with: pip install {name}") from e


# --------------------------------------------------------------------------------------
# Quieting dependencies


def silence_warnings(original_func: Callable, category: type[Warning] = DeprecationWarning) -> Callable:
    """``original_func`` with warnings of ``category`` ignored while it runs."""

    @functools.wraps(original_func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=category)
            return original_func(*args, **kwargs)

    return wrapper


class Suppress:
    """Context manager that silences stdout and stderr, from Python and from C libraries.

    Python output is captured in ``self.f`` (a ``StringIO``); file descriptors 1 and 2
    point at ``/dev/null`` inside the block and are restored after it, also on error.
    """

    def __init__(self) -> None:
        self.f = io.StringIO()

    def __enter__(self) -> Suppress:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        self._saved = (os.dup(1), os.dup(2))
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            os.dup2(null, 2)
        finally:
            os.close(null)
        self._redirects = (redirect_stdout(self.f), redirect_stderr(self.f))
        for redirect in self._redirects:
            redirect.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for redirect in reversed(self._redirects):
            redirect.__exit__(*exc_info)
        saved_out, saved_err = self._saved
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
