"""Validating ``make`` arguments: env creators, and how envs are split into workers and batches.

The rules every backend shares (spec 3.1):

- ``num_envs`` env objects (each hosting ``agents_per_env`` agents) are split evenly over
  ``num_workers`` workers, so ``num_envs % num_workers == 0``;
- a worker always steps all of its ``num_envs / num_workers`` envs together, so a batch is
  a whole number of workers: ``batch_size % (num_envs / num_workers) == 0``;
- ``zero_copy=True`` returns batches as views of contiguous, aligned blocks of workers, so
  ``num_envs % batch_size == 0``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.memory import require

# A floor on what one env object costs beyond its buffers (the object, its argument lists, its
# worker-side bookkeeping): enough to refuse absurd counts before anything is built.
ENV_BOOKKEEPING_BYTES = 1024


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_num_envs(num_envs: Any) -> int:
    if not _is_int(num_envs) or num_envs < 1:
        raise APIUsageError(
            f"num_envs must be an integer >= 1 (the number of env objects to create), got {num_envs!r}."
        )
    return int(num_envs)


def normalize_creators(env_creators: Any, env_args: Any, env_kwargs: Any,
                       num_envs: Any) -> tuple[list[Callable], list[tuple], list[dict]]:
    """One creator, one args tuple and one kwargs dict per env.

    ``env_creators`` is one callable (used for every env) or a list of ``num_envs``
    callables. With one creator, ``env_args`` is one argument list and ``env_kwargs`` is one
    mapping (a dict or a ``pufferlib.Namespace``) or a list of ``num_envs`` of them; with a
    list of creators, they are ``None`` or lists of ``num_envs`` argument lists and mappings.
    """
    num_envs = check_num_envs(num_envs)
    # Before the per-env lists are built: a typo like 10**9 copies would fill the machine here.
    require(num_envs * ENV_BOOKKEEPING_BYTES, f"{num_envs} env objects", "lower vec.num_copies")
    many = isinstance(env_creators, (list, tuple))
    creators = list(env_creators) if many else [env_creators] * num_envs
    if len(creators) != num_envs:
        raise APIUsageError(
            f"Got {len(creators)} env creators for num_envs={num_envs}: pass one creator per env, "
            "or a single creator to use for all of them."
        )
    for creator in creators:
        if not callable(creator):
            raise APIUsageError(
                f"Env creator {creator!r} is not callable: pass a function or class that returns a "
                "Puffer env, e.g. functools.partial(pufferlib.emulation.GymnasiumPufferEnv, "
                "env_creator=gymnasium.make, env_args=['CartPole-v1'])."
            )

    if env_args is None:
        args = [()] * num_envs
    elif many:
        if not isinstance(env_args, (list, tuple)) or len(env_args) != num_envs or not all(
                isinstance(a, (list, tuple)) for a in env_args):
            raise APIUsageError(
                f"With a list of {num_envs} env creators, env_args must be a list of {num_envs} "
                f"argument lists (or None), got {env_args!r}."
            )
        args = [tuple(a) for a in env_args]
    elif isinstance(env_args, (list, tuple)):
        args = [tuple(env_args)] * num_envs
    else:
        raise APIUsageError(
            f"env_args must be a list of positional arguments for the env creator, got {env_args!r}."
        )

    kwargs: list[dict]
    if env_kwargs is None:
        kwargs = [{} for _ in range(num_envs)]
    elif isinstance(env_kwargs, Mapping) and not many:
        # Any mapping: 1.0 trainers pass a pufferlib.Namespace here.
        kwargs = [dict(env_kwargs) for _ in range(num_envs)]
    elif isinstance(env_kwargs, (list, tuple)):
        if len(env_kwargs) != num_envs or not all(isinstance(k, Mapping) for k in env_kwargs):
            raise APIUsageError(
                f"env_kwargs as a list needs one dict per env ({num_envs}), got {env_kwargs!r}."
            )
        kwargs = [dict(k) for k in env_kwargs]
    elif many:
        raise APIUsageError(
            f"With a list of {num_envs} env creators, env_kwargs must be a list of {num_envs} dicts "
            f"(or None), got {env_kwargs!r}."
        )
    else:
        raise APIUsageError(f"env_kwargs must be a dict of keyword arguments, got {env_kwargs!r}.")
    return creators, args, kwargs


def physical_cores() -> int:
    """Physical cores this process may use (psutil if installed, else logical CPUs)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or available
    except ImportError:
        physical = available
    return max(1, min(physical, available))


@dataclass(frozen=True)
class PoolConfig:
    """How ``num_envs`` envs are split into workers and batches (all counts in envs)."""

    num_envs: int
    num_workers: int
    batch_size: int
    zero_copy: bool

    @property
    def envs_per_worker(self) -> int:
        return self.num_envs // self.num_workers

    @property
    def workers_per_batch(self) -> int:
        return self.batch_size // self.envs_per_worker

    @property
    def synchronous(self) -> bool:
        return self.batch_size == self.num_envs

    @property
    def block_batches(self) -> bool:
        """Batches are fixed contiguous blocks of workers, returned round robin as views."""
        return self.zero_copy or self.synchronous


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def default_num_workers(num_envs: int, batch_size: int | None, cores: int) -> int:
    """The most workers, at most ``cores``, that split ``num_envs`` evenly and fit ``batch_size``.

    If no count up to ``cores`` fits the batch size, the fewest workers above it that do.
    """
    fits = [d for d in _divisors(num_envs) if batch_size is None or batch_size % (num_envs // d) == 0]
    within = [d for d in fits if d <= cores]
    return max(within) if within else min(fits)


def resolve_pool(num_envs: Any, num_workers: Any, batch_size: Any, zero_copy: Any,
                 default_workers: Callable[[int, int | None], int]) -> PoolConfig:
    """Validate the worker and batch layout; every error says how to fix it."""
    num_envs = check_num_envs(num_envs)
    if batch_size is not None and (not _is_int(batch_size) or batch_size < 1):
        raise APIUsageError(f"batch_size must be an integer >= 1 (envs per batch), got {batch_size!r}.")
    if batch_size is not None and batch_size > num_envs:
        raise APIUsageError(
            f"batch_size ({batch_size}) > num_envs ({num_envs}): a batch cannot hold more envs than "
            "exist. Lower batch_size or raise num_envs."
        )
    if num_workers is None:
        num_workers = default_workers(num_envs, None if batch_size is None else int(batch_size))
    if not _is_int(num_workers) or num_workers < 1:
        raise APIUsageError(f"num_workers must be an integer >= 1, got {num_workers!r}.")
    num_workers = int(num_workers)
    if num_workers > num_envs:
        raise APIUsageError(
            f"num_workers ({num_workers}) > num_envs ({num_envs}): every worker needs at least one "
            "env. Lower num_workers or raise num_envs."
        )
    if num_envs % num_workers:
        options = [d for d in _divisors(num_envs) if d <= num_workers * 2]
        raise APIUsageError(
            f"num_envs ({num_envs}) must be divisible by num_workers ({num_workers}) so that every "
            f"worker hosts the same number of envs. Use num_workers in {options} or change num_envs."
        )
    envs_per_worker = num_envs // num_workers
    batch_size = num_envs if batch_size is None else int(batch_size)
    if batch_size % envs_per_worker:
        raise APIUsageError(
            f"batch_size ({batch_size}) must be divisible by num_envs / num_workers "
            f"({envs_per_worker}): a worker steps all its envs together, so a batch is a whole "
            f"number of workers. Use a multiple of {envs_per_worker} or more workers."
        )
    if not isinstance(zero_copy, (bool, np.bool_)):
        raise APIUsageError(f"zero_copy must be True or False, got {zero_copy!r}.")
    if zero_copy and num_envs % batch_size:
        raise APIUsageError(
            f"zero_copy=True needs num_envs ({num_envs}) divisible by batch_size ({batch_size}): "
            "batches are returned as views of contiguous blocks of envs. Pass zero_copy=False "
            "(batches are then copied) or pick a batch_size that divides num_envs."
        )
    return PoolConfig(num_envs, num_workers, batch_size, bool(zero_copy))


def serial_num_workers(num_envs: int, batch_size: int | None) -> int:
    """Serial has no processes: group envs so that each batch is as few groups as possible."""
    return num_envs // math.gcd(num_envs, batch_size or num_envs)


SEED_LIMIT = 2 ** 32  # numpy's SeedSequence and most env RNGs take seeds in [0, 2**32)


def check_seeds(seed: Any, num_envs: int, stride: int = 1) -> list[int | None]:
    """``seed`` -> one seed per env: ``s + i * stride``, a list used as given, or ``None`` (unseeded).

    ``stride`` is 1 for envs that host one game; a native ``PufferEnv`` seeds each of its
    games from its own seed (game ``g`` of the env gets ``seed + g``), so it is given a stride
    of its agent count: every game of the vecenv then gets the same seed however the games
    are split into envs and workers. Every resulting seed must lie in ``[0, 2**32)``;
    anything else is an ``APIUsageError`` raised here, before any env or worker sees it
    (every backend calls this first).
    """
    if seed is None:
        return [None] * num_envs
    if _is_int(seed):
        first = int(seed)
        last = first + num_envs * stride - 1  # the last seed of the last env's games
        if not (first >= 0 and last < SEED_LIMIT):
            raise APIUsageError(
                f"seed={seed} gives seeds {first}..{last} (env i gets seed + i * {stride}), outside "
                f"[0, 2**32): pass a seed in [0, {SEED_LIMIT - num_envs * stride}] for {num_envs} envs."
            )
        return [first + i * stride for i in range(num_envs)]
    if isinstance(seed, (list, tuple, np.ndarray)):
        seeds = list(seed)
        if len(seeds) != num_envs:
            raise APIUsageError(
                f"Got {len(seeds)} seeds for {num_envs} envs: pass one seed per env, a single int "
                "(env i gets seed + i), or None."
            )
        if not all(s is None or _is_int(s) for s in seeds):
            raise APIUsageError(f"Seeds must be integers or None, got {seeds!r}.")
        bad = [(i, int(s)) for i, s in enumerate(seeds) if s is not None and not 0 <= int(s) < SEED_LIMIT]
        if bad:
            raise APIUsageError(
                f"Seeds must lie in [0, 2**32); got {', '.join(f'env {i}: {s}' for i, s in bad[:3])}."
            )
        return [None if s is None else int(s) for s in seeds]
    raise APIUsageError(f"seed must be an int, a list of {num_envs} ints, or None, got {seed!r}.")


def check_picklable(obj: Sequence, start_method: str) -> None:
    """Raise a clear error when env creators cannot be sent to ``spawn``ed workers."""
    import pickle

    try:
        pickle.dumps(obj)
    except Exception as e:
        raise APIUsageError(
            f"The env creators, args or kwargs cannot be pickled ({type(e).__name__}: {e}), which "
            f"the {start_method!r} start method needs to send them to worker processes. Define the "
            "creator at module level (or use functools.partial of one), or pass "
            "start_method='fork'."
        ) from e
