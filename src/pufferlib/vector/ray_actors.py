"""``Ray``: envs hosted by Ray actors, for simulation spread over a cluster (spec 3.4).

Cluster: ``Ray`` joins the cluster of an earlier ``ray.init``, else the one at ``address=``
(or ``RAY_ADDRESS``), else starts a local one. Start a cluster with ``ray start --head`` on
one machine and ``ray start --address HEAD:6379`` on the others, then pass
``address="HEAD:6379"``.

Placement (``placement=``): ``"spread"`` (the default) asks Ray to spread the actors over
the cluster's nodes (Ray's ``SPREAD`` strategy), ``"default"`` leaves it to Ray's default
policy (fills the local node first), and a mapping of node resources, e.g.
``{"simulator": 1}``, pins the actors to the nodes started with those resources
(``ray start --resources '{"simulator": 4}'``), spread over them. Each actor asks for
``min(1, CPUs of the eligible nodes / num_workers)`` CPUs, so the pool always fits.

Failures: an exception in an env is re-raised by ``recv`` (a ``RayTaskError`` that is also an
instance of the original type); an actor that dies (its node removed or lost, its process
killed) raises ``WorkerError``; with ``timeout=SECONDS`` an actor that has not answered within
it while starting, resetting or stepping raises ``WorkerTimeoutError``. Each names the worker,
its envs, its pid and its node. The vecenv can then only be closed; ``close()`` kills the
actors within seconds. With ``recover=True`` a lost actor is instead restarted on the
remaining nodes (asking for no CPU, so that it fits) and its envs reset with fresh seeds:
their next ``recv`` rows carry the reset observations with ``truncations`` set and reward 0,
so a trainer sees the episode boundary; a ``RuntimeWarning`` names the replaced worker.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError
from pufferlib.vector.base import VecEnv
from pufferlib.vector.buffers import Buffers, BufferSpec
from pufferlib.vector.config import default_num_workers, normalize_creators, resolve_pool
from pufferlib.vector.group import EnvGroup, create_env, create_envs, env_signature
from pufferlib.vector.workers import SILENT_WARNING_S, WorkerError, WorkerTimeoutError, check_timeout

ACTOR_START_TIMEOUT_S = 300.0  # building the envs, without a timeout: an actor that cannot be placed
CONNECT_TIMEOUT_S = 10.0  # address=: how long the cluster's head may take to accept a connection
CLOSE_GRACE_S = 2.0  # close(): how long actors get to close their envs before they are killed
PLACEMENTS = ("spread", "default")
# The per-agent arrays an actor sends back: a contiguous span of its buffers' layout.
RESULT_FIELDS = ("observations", "rewards", "terminals", "truncations", "masks")
_DOING = {"start": "building its envs", "reset": "resetting its envs", "step": "stepping its envs"}


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

    def location(self) -> dict[str, Any]:
        """Where this actor runs: Ray node id, node IP and process id."""
        import ray

        return {"node_id": ray.get_runtime_context().get_node_id(), "ip": ray.util.get_node_ip_address(),
                "pid": os.getpid()}

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


def _connect(ray: Any, address: str | None) -> None:
    """Join an earlier ``ray.init``, else the cluster at ``address`` or ``RAY_ADDRESS``, else start one."""
    if ray.is_initialized():
        return
    target = address or os.environ.get("RAY_ADDRESS")
    if not target:
        ray.init(address="local", include_dashboard=False)
        return
    _check_reachable(target)
    try:
        ray.init(address=target)
    except (ConnectionError, ValueError, TimeoutError, RuntimeError) as e:
        raise APIUsageError(_connect_failure(target, e)) from e


def _connect_failure(target: str, error: BaseException) -> str:
    """What went wrong joining the cluster at ``target``, and the fix for that case."""
    reason = f"{type(error).__name__}: {error}"
    if any(word in str(error).lower() for word in ("auth", "token", "unauthenticated", "permission")):
        return (f"The Ray cluster at {target!r} refused the connection ({reason}): it uses token "
                "authentication. Set RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN (or "
                "RAY_AUTH_TOKEN_PATH; `ray get-auth-token` on the head prints it), then run again.")
    return (f"Could not connect to the Ray cluster at {target!r} ({reason}). Start one with `ray start "
            "--head` and pass the address it prints (HOST:6379) as address= or RAY_ADDRESS, or pass "
            "address=None to start a local cluster.")


def _check_reachable(address: str) -> None:
    """Fail fast on a ``HOST:PORT`` nobody listens on (``ray.init`` would retry for minutes)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", "ray://..." and other forms are left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise APIUsageError(
            f"No Ray cluster answers at {address!r} ({e}). Start one with `ray start --head` and pass the "
            "address it prints (HOST:6379) as address= or RAY_ADDRESS, or pass address=None to start a "
            "local cluster."
        ) from e


def _check_placement(placement: Any) -> str | dict[str, float]:
    if isinstance(placement, str) and placement in PLACEMENTS:
        return placement
    if isinstance(placement, Mapping) and placement and all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v > 0
            for k, v in placement.items()):
        return {k: float(v) for k, v in placement.items()}
    raise APIUsageError(
        f"placement must be 'spread' (spread the actors over the cluster's nodes), 'default' (Ray's "
        f"default policy) or a mapping of node resources to pin the actors to, e.g. "
        f"{{'simulator': 1}} for nodes started with `ray start --resources '{{\"simulator\": 4}}'`; "
        f"got {placement!r}."
    )


def _eligible_nodes(ray: Any, placement: str | dict[str, float]) -> list[dict[str, Any]]:
    """The live nodes (``ray.nodes()`` entries) the actors may run on."""
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if not isinstance(placement, dict):
        return nodes
    eligible = [n for n in nodes if all(n["Resources"].get(k, 0) >= v for k, v in placement.items())]
    if not eligible:
        offered = sorted({k for n in nodes for k in n["Resources"]
                          if k not in ("CPU", "GPU", "memory", "object_store_memory")
                          and not k.startswith("node:")})
        raise APIUsageError(
            f"No node of the Ray cluster has the resources {placement} that placement= pins the actors "
            f"to (custom resources offered: {offered or 'none'}). Start nodes with "
            f"`ray start --resources '{{\"NAME\": N}}'` or change placement."
        )
    return eligible


class Ray(VecEnv):
    """Envs in ``num_workers`` Ray actors, with the batching, seeding and auto-reset of
    ``Multiprocessing`` (every env is stepped, each with its own seed).

    "Use this for distributed simulation on a cluster." See the module docstring for
    ``address`` (which cluster), ``placement`` (which nodes), ``timeout`` (seconds an actor may
    take to build its envs or answer a reset or step; default ``None``: wait, warning once
    after 60 s) and ``recover`` (restart lost actors instead of raising). The cluster is left
    running at ``close()``, which only ends this vecenv's actors. ``worker_locations`` lists
    each actor's node id, node IP and pid; ``restarts`` counts the actors ``recover`` replaced.
    """

    options = (*VecEnv.options, "address", "placement", "timeout", "recover")

    def __init__(self, env_creators: Callable | Sequence[Callable], env_args: Any = None,
                 env_kwargs: Any = None, num_envs: int = 1, num_workers: int | None = None,
                 batch_size: int | None = None, zero_copy: bool = True, address: str | None = None,
                 placement: str | Mapping[str, float] = "spread", timeout: float | None = None,
                 recover: bool = False):
        self._actors: list = []
        self._driver = None
        self.timeout = check_timeout(timeout)
        if address is not None and not (isinstance(address, str) and address):
            raise APIUsageError(
                f"address must be a Ray cluster address such as 'HOST:6379', got {address!r}.")
        if not isinstance(recover, bool):
            raise APIUsageError(f"recover must be True or False, got {recover!r}.")
        self._placement = _check_placement(placement)
        self._recover = recover
        self.restarts = 0
        self._warned_silent = False
        ray = try_import("ray", "ray", "the Ray backend")
        self._ray = ray
        creators, args, kwargs = normalize_creators(env_creators, env_args, env_kwargs, num_envs)
        _connect(ray, address)
        cpus = float(sum(n["Resources"].get("CPU", 0) for n in _eligible_nodes(ray, self._placement)))
        pool = resolve_pool(num_envs, num_workers, batch_size, zero_copy,
                            lambda n, b: default_num_workers(n, b, max(1, int(cpus))))
        driver = self._driver = create_env(creators[0], args[0], kwargs[0])
        spec = BufferSpec.for_env(driver, pool.num_envs, pool.num_workers)
        self._setup(driver, pool, Buffers(spec))
        per_worker = pool.envs_per_worker
        worker_spec = self._worker_spec = BufferSpec.for_env(driver, per_worker, 1)
        self._env_setup = (creators, args, kwargs, env_signature(driver))
        # Task events feed Ray's dashboard and state API at a cost on every step call.
        ray.method(enable_task_events=False)(RayWorker.step)
        self._actor_cpus = min(1.0, cpus / pool.num_workers)
        self._actor_class = ray.remote(RayWorker)
        self._states = ["start"] * pool.num_workers
        self.worker_locations: list[dict[str, Any]] = [{} for _ in range(pool.num_workers)]
        self._seeds: list[int | None] = [None] * pool.num_envs
        try:
            self._actors = [self._new_actor(self._actor_cpus) for _ in range(pool.num_workers)]
            limit = self.timeout or ACTOR_START_TIMEOUT_S
            starts = [self._start(w, actor) for w, actor in enumerate(self._actors)]
            for w, start in enumerate(starts):
                self._get(w, start, limit)
            locations = [actor.location.remote() for actor in self._actors]
            for w, location in enumerate(locations):
                self.worker_locations[w] = self._get(w, location, limit)
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
        self._staged: list[Buffers] = []
        self._copies: list[list[tuple[np.ndarray, np.ndarray]]] = []
        for r in rows:
            memory = np.zeros(worker_spec.nbytes, dtype=np.uint8)
            staged = Buffers(worker_spec, memory)
            self._staging.append(memory[start:stop])
            self._staged.append(staged)
            self._copies.append([(getattr(b, name)[r], getattr(staged, name)) for name in RESULT_FIELDS])

    def _new_actor(self, cpus: float) -> Any:
        options: dict[str, Any] = {"num_cpus": cpus, "scheduling_strategy": "DEFAULT"}
        if self._placement != "default":
            options["scheduling_strategy"] = "SPREAD"
        if isinstance(self._placement, dict):
            options["resources"] = self._placement
        return self._actor_class.options(**options).remote(self._worker_spec)

    def _start(self, w: int, actor: Any) -> Any:
        """Start building worker ``w``'s envs in ``actor``; returns the call's ref."""
        creators, args, kwargs, reference = self._env_setup
        envs = self._worker_envs(w)
        self._states[w] = "start"
        return actor.start.remote(creators[envs.start:envs.stop], args[envs.start:envs.stop],
                                  kwargs[envs.start:envs.stop], envs.start, reference)

    def _launch(self, workers: Sequence[int], seeds: list[int | None] | None) -> None:
        if seeds is None:
            steps, actions, futures, states = self._steps, self._worker_actions, self._futures, self._states
            for w in workers:
                futures[w] = steps[w].remote(actions[w].tobytes())
                states[w] = "step"
            return
        self._seeds = list(seeds)
        per_worker = self.envs_per_worker
        for w in workers:
            self._futures[w] = self._actors[w].reset.remote(seeds[w * per_worker:(w + 1) * per_worker])
            self._states[w] = "reset"

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
        limit = self.timeout
        if limit is None and not self._warned_silent:
            limit = SILENT_WARNING_S
        while len(ready) < count:
            finished, _ = self._ray.wait(list(pending), num_returns=min(count - len(ready), len(pending)),
                                         timeout=limit)
            if not finished:
                self._silent(list(pending.values())[0], limit)
                limit = None
                continue
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
        results, infos = self._get(w, ref, self.timeout)
        self._staging[w][:] = np.frombuffer(results, dtype=np.uint8)
        for rows, staged in self._copies[w]:
            rows[...] = staged
        if infos is not None:
            self._infos[w] = infos

    def _get(self, w: int, ref: Any, timeout: float | None) -> Any:
        """``ray.get`` of worker ``w``'s call, with its errors as ``WorkerError``s naming the worker."""
        ray = self._ray
        try:
            if timeout is None and not self._warned_silent:
                try:
                    return ray.get(ref, timeout=SILENT_WARNING_S)
                except ray.exceptions.GetTimeoutError:
                    self._silent(w, None)
            return ray.get(ref, timeout=timeout)
        except ray.exceptions.RayTaskError as e:
            if hasattr(e, "add_note"):
                e.add_note(f"Raised by an env in {self._describe(w)}.")
            raise
        except ray.exceptions.GetTimeoutError as e:
            self._silent(w, timeout, e)
        except ray.exceptions.RayActorError as e:
            if self._recover and self._states[w] != "start":
                return self._restart(w, e)
            raise WorkerError(
                f"{self._describe(w)} died while {_DOING[self._states[w]]}: its node was removed or "
                f"lost, or its process was killed ({type(e).__name__}). Close this vecenv and make a new "
                "one, or pass recover=True to restart lost workers on the remaining nodes.", w) from e
        except ray.exceptions.RayError as e:
            raise WorkerError(f"{self._describe(w)} failed while {_DOING[self._states[w]]}: {e}", w) from e

    def _silent(self, w: int, timeout: float | None, error: BaseException | None = None) -> None:
        """Worker ``w`` has not answered: raise past a hard ``timeout``, else warn once."""
        doing = _DOING[self._states[w]]
        if timeout is None or self.timeout is None and self._states[w] != "start":
            if not self._warned_silent:
                self._warned_silent = True
                warnings.warn(
                    f"{self._describe(w)} has not answered for {SILENT_WARNING_S:g}s while {doing}; "
                    "still waiting. Pass timeout=SECONDS to pufferlib.vector.make / Ray to raise an error "
                    "instead.", RuntimeWarning, stacklevel=4)
            return
        location = self.worker_locations[w]
        if self._states[w] == "start" and self.timeout is None:
            message = (f"{self._describe(w)} did not start within {timeout:g}s: the cluster may lack the "
                       f"resources for its actors (see ray.cluster_resources()).")
        else:
            message = (f"{self._describe(w)} has not answered within {timeout:g}s while {doing} "
                       f"(timeout={timeout:g}s). Close this vecenv (close() kills its actors) and make a new "
                       "one, or raise timeout if its envs are just slow.")
        raise WorkerTimeoutError(message, w, location.get("pid"), doing) from error

    def _describe(self, w: int) -> str:
        envs = self._worker_envs(w)
        where = self.worker_locations[w] if w < len(getattr(self, "worker_locations", ())) else {}
        place = f", pid {where['pid']} on node {where['ip']} ({where['node_id'][:12]})" if where else ""
        span = f"env {envs.start}" if len(envs) == 1 else f"envs {envs.start}-{envs.stop - 1}"
        return f"Ray worker {w} ({span}{place})"

    def _restart(self, w: int, error: BaseException) -> tuple[bytes, None]:
        """Replace lost worker ``w`` on the remaining nodes and reset its envs; return the reset
        results with every agent's ``truncations`` set (the episode ended with the worker)."""
        ray = self._ray
        ray.kill(self._actors[w], no_restart=True)
        # The other actors hold their CPUs and pinning resources: the replacement asks for none
        # and goes to the eligible node with the fewest of this vecenv's actors, so that it fits.
        # The lost actor's node is avoided (Ray may not have noticed yet that it is gone).
        lost_node = self.worker_locations[w].get("node_id")
        nodes = _eligible_nodes(ray, self._placement)
        nodes = [n for n in nodes if n["NodeID"] != lost_node] or nodes
        hosted = Counter(location.get("node_id") for location in self.worker_locations)
        node = min(nodes, key=lambda n: hosted[n["NodeID"]])["NodeID"]
        strategy = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(node, soft=False)
        actor = self._actor_class.options(num_cpus=0, scheduling_strategy=strategy).remote(self._worker_spec)
        self._actors[w] = actor
        self._steps[w] = actor.step
        self.worker_locations[w] = {}
        limit = self.timeout or ACTOR_START_TIMEOUT_S
        self._get(w, self._start(w, actor), limit)
        self.worker_locations[w] = self._get(w, actor.location.remote(), limit)
        self.restarts += 1
        envs = self._worker_envs(w)
        seeds = [None if s is None else (s + self.restarts * self.num_envs) % 2 ** 32
                 for s in self._seeds[envs.start:envs.stop]]
        self._states[w] = "reset"
        results, _ = self._get(w, actor.reset.remote(seeds), self.timeout)
        staged = self._staged[w]
        self._staging[w][:] = np.frombuffer(results, dtype=np.uint8)
        staged.truncations[...] = staged.masks
        staged.terminals[...] = False
        staged.rewards[...] = 0
        warnings.warn(f"{self._describe(w)} replaced a lost actor ({type(error).__name__}); its envs were "
                      "reset and report a truncation.", RuntimeWarning, stacklevel=5)
        return self._staging[w].tobytes(), None

    def _worker_envs(self, worker: int) -> range:
        per_worker = self._pool.envs_per_worker if hasattr(self, "_pool") else 0
        return range(worker * per_worker, (worker + 1) * per_worker)

    def _shutdown(self) -> None:
        actors, self._actors = self._actors, []
        if actors:
            ray = self._ray
            # Give live actors a moment to close their envs; stuck or dead ones are killed anyway.
            closing = [actor.close.remote() for actor in actors]
            ray.wait(closing, num_returns=len(closing), timeout=CLOSE_GRACE_S)
            for actor in actors:
                ray.kill(actor, no_restart=True)
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.close()
