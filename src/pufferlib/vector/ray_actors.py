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


class RayWorker:
    """An actor's envs, stepping into the actor's own buffers; results go back as copies."""

    def __init__(self, spec: BufferSpec):
        self.buffers = Buffers(spec)
        self.group: EnvGroup | None = None

    def start(self, creators: Sequence[Callable], args: Sequence, kwargs: Sequence, first_env: int,
              reference: tuple) -> None:
        """Build the envs (a method, not ``__init__``, so that errors keep their type)."""
        self.group = EnvGroup(create_envs(creators, args, kwargs, first_env, reference), self.buffers, 0)

    def reset(self, seeds: list[int | None]) -> tuple:
        return self._results(self.group.reset(seeds))

    def step(self, actions: np.ndarray) -> tuple:
        self.buffers.actions[...] = actions
        return self._results(self.group.step())

    def _results(self, infos: list[dict]) -> tuple:
        b = self.buffers
        return b.observations, b.rewards, b.terminals, b.truncations, b.masks, infos

    def close(self) -> None:
        if self.group is not None:
            self.group.close()


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

    def _launch(self, workers: Sequence[int], seeds: list[int | None] | None) -> None:
        per_worker, per_agent = self.envs_per_worker, self.agents_per_worker
        for w in workers:
            actor = self._actors[w]
            if seeds is None:
                self._futures[w] = actor.step.remote(self._buffers.actions[w * per_agent:(w + 1) * per_agent])
            else:
                self._futures[w] = actor.reset.remote(seeds[w * per_worker:(w + 1) * per_worker])

    def _wait(self, candidates: Sequence[int], count: int) -> list[int]:
        ready = [w for w in candidates if self._ready[w]]
        pending = {self._futures[w]: w for w in candidates if not self._ready[w]}
        while len(ready) < count:
            finished, _ = self._ray.wait(list(pending), num_returns=min(count - len(ready), len(pending)))
            for ref in finished:
                w = pending.pop(ref)
                self._collect(w, ref)
                ready.append(w)
                self._ready[w] = True
        chosen = list(candidates) if count == len(candidates) else ready[:count]
        for w in chosen:
            self._ready[w] = False
        return chosen

    def _collect(self, w: int, ref: Any) -> None:
        obs, rewards, terminals, truncations, masks, infos = self._get(w, ref)
        rows = slice(w * self.agents_per_worker, (w + 1) * self.agents_per_worker)
        b = self._buffers
        b.observations[rows] = obs
        b.rewards[rows] = rewards
        b.terminals[rows] = terminals
        b.truncations[rows] = truncations
        b.masks[rows] = masks
        if infos:
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
