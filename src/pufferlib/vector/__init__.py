"""Vectorization: step many environments as one batch (spec 3).

``make(env_creator, backend=..., num_envs=...)`` builds a ``Serial``, ``Multiprocessing``
or ``Ray`` vecenv; all share the ``VecEnv`` API. ``autotune`` benchmarks configurations
and returns the fastest as keyword arguments for ``make``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pufferlib.exceptions import APIUsageError
from pufferlib.vector.autotune import autotune
from pufferlib.vector.base import VecEnv
from pufferlib.vector.multiprocess import Multiprocessing
from pufferlib.vector.ray_actors import Ray
from pufferlib.vector.serial import Serial
from pufferlib.vector.workers import WorkerError, WorkerTimeoutError

__all__ = ["Multiprocessing", "Ray", "Serial", "VecEnv", "WorkerError", "WorkerTimeoutError", "autotune",
           "make"]

_BACKENDS_BY_NAME = {"serial": "Serial", "multiprocessing": "Multiprocessing", "ray": "Ray"}


def _resolve_backend(backend: Any) -> type[VecEnv]:
    if isinstance(backend, str):
        name = _BACKENDS_BY_NAME.get(backend.lower())
        if name is None:
            raise APIUsageError(
                f"Unknown backend {backend!r}: use one of {sorted(_BACKENDS_BY_NAME)} or the classes "
                "pufferlib.vector.Serial, Multiprocessing, Ray."
            )
        return {"Serial": Serial, "Multiprocessing": Multiprocessing, "Ray": Ray}[name]
    if isinstance(backend, type) and issubclass(backend, VecEnv):
        return backend
    raise APIUsageError(
        f"backend must be pufferlib.vector.Serial, Multiprocessing or Ray (or their names), got {backend!r}."
    )


def make(env_creator_or_creators: Callable | Sequence[Callable], env_args: Any = None,
         env_kwargs: Any = None, backend: Any = Serial, num_envs: int = 1, **kwargs: Any) -> VecEnv:
    """Build a vecenv of ``num_envs`` envs, each made by ``creator(*env_args, **env_kwargs)``.

    ``env_creator_or_creators`` is one creator or a list of ``num_envs`` creators (then
    ``env_args``/``env_kwargs`` are lists too). Each creator must return a Puffer env
    (``GymnasiumPufferEnv``, ``PettingZooPufferEnv`` or ``PufferEnv``). ``backend`` is a
    class or its name; ``env_kwargs`` is a dict or any mapping (a ``pufferlib.Namespace``, as
    1.0 trainers pass). Keyword arguments: ``num_workers``, ``batch_size`` (envs per batch),
    ``zero_copy``; for ``Multiprocessing`` ``start_method``; for ``Multiprocessing`` and
    ``Ray`` ``timeout`` (seconds a worker may take to build its envs or answer a reset or
    step before ``WorkerTimeoutError``; default ``None``: wait, with one warning after 60 s).
    Options are passed on only when given.
    """
    backend_class = _resolve_backend(backend)
    for key in kwargs:
        if key not in backend_class.options:
            raise APIUsageError(
                f"Invalid argument: {key}. {backend_class.__name__} accepts {list(backend_class.options)}."
            )
    vecenv = backend_class(env_creator_or_creators, env_args, env_kwargs, num_envs, **kwargs)
    # What the envs were made from, for a run folder's config.json (a single creator only).
    creator = env_creator_or_creators if callable(env_creator_or_creators) else None
    single = creator is not None and env_args is None and isinstance(env_kwargs, Mapping | None)
    vecenv.env_creator = creator if single else None
    vecenv.env_kwargs = dict(env_kwargs or {}) if single else None
    return vecenv
