"""``Ray``: envs hosted by Ray actors, for simulation spread over a cluster (spec 3.4)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pufferlib.environments import try_import
from pufferlib.vector.base import VecEnv
from pufferlib.vector.buffers import Buffers, BufferSpec
from pufferlib.vector.config import default_num_workers, normalize_creators, resolve_pool
from pufferlib.vector.group import EnvGroup, create_env, create_envs, env_signature
from pufferlib.vector.multiprocess import WorkerError

ACTOR_START_TIMEOUT_S = 300.0
# The per-agent arrays an actor sends back: a contiguous span of its buffers' layout.
RESULT_FIELDS = ("observations", "rewards", "terminals", "truncations", "masks")


class RayWorker:
    """An actor's envs, stepping into the actor's own buffers.

    Per-call overhead dominates Ray stepping, so each call moves one ``bytes`` object each
    way: the actions in, and out the contiguous span of the buffers from ``observations``
    to ``masks`` (``result_span``), with the info dicts, or ``None`` when there are none.
    """

    def __init__(self, spec: BufferSpec):
        memory = np.zeros(spec.nbytes, dtype=np.uint8)
        self.buffers = Buffers(spec, memory)
        start, stop = result_span(spec)
        self._results = memory[start:stop]
        self._actions = self.buffers.actions.reshape(-1).view(np.uint8)  # a view: the block is contiguous
        self.group: EnvGroup | None = None

    def start(self, creators: Sequence[Callable], args: Sequence, kwargs: Sequence, first_env: int,
              reference: tuple) -> None:
        """Build the envs (a method, not ``__init__``, so that errors keep their type)."""
        self.group = EnvGroup(create_envs(creators, args, kwargs, first_env, reference), self.buffers, 0)

    def reset(self, seeds: list[int | None]) -> tuple[bytes, list[dict] | None]:
        infos = self.group.reset(seeds)
        return self._results.tobytes(), infos or None

    def step(self, actions: bytes) -> tuple[bytes, list[dict] | None]:
        self._actions[:] = np.frombuffer(actions, dtype=np.uint8)
        infos = self.group.step()
        return self._results.tobytes(), infos or None

    def close(self) -> None:
        if self.group is not None:
            self.group.close()


def result_span(spec: BufferSpec) -> tuple[int, int]:
    """Byte range of ``spec``'s layout from ``observations`` through ``masks``."""
    layout, _ = spec.layout()
    fields = {name: (offset, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
              for name, shape, dtype, offset in layout}
    masks_offset, masks_size = fields["masks"]
    return fields["observations"][0], masks_offset + masks_size


def _connect(ray: Any) -> None:
    """Join the cluster at ``RAY_ADDRESS`` or an existing ``ray.init``, else start a local one."""
    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init()
    else:
        ray.init(include_dashboard=False)


class Ray(VecEnv):
    """Envs in ``num_workers`` Ray actors, with the batching, seeding and auto-reset of
    ``Multiprocessing`` (every env is stepped, each with its own seed).

    "Use this for distributed simulation on a cluster." Connects to the cluster of an
    earlier ``ray.init`` or ``RAY_ADDRESS``, else starts a local one (dashboard off); the
    cluster is left running at ``close()``, which only kills this vecenv's actors.
    Each actor asks for ``min(1, cluster CPUs / num_workers)`` CPUs, so it always fits.
    An exception in an env is re-raised by ``recv`` (a ``RayTaskError`` that is also an
    instance of the original type); a dead actor raises ``WorkerError``.
    """

    def __init__(self, env_creators: Callable | Sequence[Callable], env_args: Any = None,
                 env_kwargs: Any = None, num_envs: int = 1, num_workers: int | None = None,
                 batch_size: int | None = None, zero_copy: bool = True):
        self._actors: list = []
        self._driver = None
        ray = try_import("ray", "ray")
        self._ray = ray
        creators, args, kwargs = normalize_creators(env_creators, env_args, env_kwargs, num_envs)
        _connect(ray)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        pool = resolve_pool(num_envs, num_workers, batch_size, zero_copy,
                            lambda n, b: default_num_workers(n, b, cpus))
        driver = self._driver = create_env(creators[0], args[0], kwargs[0])
        spec = BufferSpec.for_env(driver, pool.num_envs, pool.num_workers)
        self._setup(driver, pool, Buffers(spec))
        per_worker = pool.envs_per_worker
        worker_spec = BufferSpec.for_env(driver, per_worker, 1)
        # Task events feed Ray's dashboard and state API at a cost on every step call.
        ray.method(enable_task_events=False)(RayWorker.step)
        actor_class = ray.remote(num_cpus=min(1.0, cpus / pool.num_workers))(RayWorker)
        reference = env_signature(driver)
        try:
            for _ in range(pool.num_workers):
                self._actors.append(actor_class.remote(worker_spec))
            starts = []
            for w, actor in enumerate(self._actors):
                envs = slice(w * per_worker, (w + 1) * per_worker)
                starts.append(actor.start.remote(creators[envs], args[envs], kwargs[envs], envs.start,
                                                 reference))
            for w, start in enumerate(starts):
                self._get(w, start, timeout=ACTOR_START_TIMEOUT_S)
        except BaseException:
            self._shutdown()
            raise
        self._futures: list = [None] * pool.num_workers
        self._ready = [False] * pool.num_workers
        self._steps = [actor.step for actor in self._actors]
        per_agent = self.agents_per_worker
        rows = [slice(w * per_agent, (w + 1) * per_agent) for w in range(pool.num_workers)]
        b = self._buffers
        self._worker_actions = [b.actions[r] for r in rows]
        # Each worker's packed results land in a staging copy of its actor's layout, whose
        # views are then copied into the worker's rows of the batch buffers.
        start, stop = result_span(worker_spec)
        self._staging: list[np.ndarray] = []
        self._copies: list[list[tuple[np.ndarray, np.ndarray]]] = []
        for r in rows:
            memory = np.zeros(worker_spec.nbytes, dtype=np.uint8)
            staged = Buffers(worker_spec, memory)
            self._staging.append(memory[start:stop])
            self._copies.append([(getattr(b, name)[r], getattr(staged, name)) for name in RESULT_FIELDS])

    def _launch(self, workers: Sequence[int], seeds: list[int | None] | None) -> None:
        if seeds is None:
            steps, actions, futures = self._steps, self._worker_actions, self._futures
            for w in workers:
                futures[w] = steps[w].remote(actions[w].tobytes())
            return
        per_worker = self.envs_per_worker
        for w in workers:
            self._futures[w] = self._actors[w].reset.remote(seeds[w * per_worker:(w + 1) * per_worker])

    def _wait(self, candidates: Sequence[int], count: int) -> list[int]:
        if count == len(candidates):
            # All of them are needed anyway: get each in turn, skipping ray.wait's cost.
            futures, ready = self._futures, self._ready
            for w in candidates:
                if ready[w]:
                    ready[w] = False
                else:
                    self._collect(w, futures[w])
            return list(candidates)
        ready = [w for w in candidates if self._ready[w]]
        pending = {self._futures[w]: w for w in candidates if not self._ready[w]}
        while len(ready) < count:
            finished, _ = self._ray.wait(list(pending), num_returns=min(count - len(ready), len(pending)))
            for ref in finished:
                w = pending.pop(ref)
                self._collect(w, ref)
                ready.append(w)
                self._ready[w] = True
        chosen = ready[:count]
        for w in chosen:
            self._ready[w] = False
        return chosen

    def _collect(self, w: int, ref: Any) -> None:
        results, infos = self._get(w, ref)
        self._staging[w][:] = np.frombuffer(results, dtype=np.uint8)
        for rows, staged in self._copies[w]:
            rows[...] = staged
        if infos is not None:
            self._infos[w] = infos

    def _get(self, w: int, ref: Any, timeout: float | None = None) -> Any:
        ray = self._ray
        try:
            return ray.get(ref, timeout=timeout)
        except ray.exceptions.RayTaskError as e:
            if hasattr(e, "add_note"):
                e.add_note(f"Raised by an env in Ray worker {w} (envs {self._worker_envs(w).start}-"
                           f"{self._worker_envs(w).stop - 1}).")
            raise
        except ray.exceptions.GetTimeoutError as e:
            raise WorkerError(
                f"Ray worker {w} did not start within {timeout:.0f}s: the cluster may lack the "
                "resources for its actors (see ray.cluster_resources()).", w) from e
        except ray.exceptions.RayError as e:
            raise WorkerError(f"Ray worker {w} failed: {e}", w) from e

    def _worker_envs(self, worker: int) -> range:
        per_worker = self._pool.envs_per_worker if hasattr(self, "_pool") else 0
        return range(worker * per_worker, (worker + 1) * per_worker)

    def _shutdown(self) -> None:
        actors, self._actors = self._actors, []
        if actors:
            ray = self._ray
            with contextlib.suppress(ray.exceptions.RayError):  # dead actors need no closing
                ray.get([actor.close.remote() for actor in actors], timeout=10)
            for actor in actors:
                ray.kill(actor)
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.close()
