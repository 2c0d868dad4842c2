"""``VecEnv``: the API every backend shares (spec 3.1), with its batching and call-order rules.

A backend hosts ``num_workers`` groups of envs (``group.EnvGroup``) that write into one
``Buffers`` block and implements three hooks: ``_launch`` (start resetting or stepping some
workers), ``_wait`` (block until some of them have finished) and ``_shutdown``. Everything
else, from action validation to which workers form the next batch, lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import gymnasium
import numpy as np

from pufferlib import spaces
from pufferlib.exceptions import APIUsageError
from pufferlib.puffer_env import PufferEnv
from pufferlib.spaces import joint_space, space_shape
from pufferlib.vector.buffers import Buffers
from pufferlib.vector.config import PoolConfig, check_seeds

_IDLE, _SENT, _RECEIVED, _BROKEN, _CLOSED = range(5)

_UNSIGNED = {size: np.dtype(f"u{size}") for size in (1, 2, 4, 8)}

Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list, np.ndarray, np.ndarray]


class VecEnv:
    """Many envs stepped as one batch. Backends: ``Serial``, ``Multiprocessing``, ``Ray``.

    Counts:

    - ``num_envs``: env objects created (what ``make(num_envs=...)`` asks for). A
      Gymnasium env hosts one agent; a PettingZoo env or a native ``PufferEnv`` hosts
      ``agents_per_env`` agents.
    - ``num_agents = num_envs * agents_per_env``: rows of the full buffers. ``env_ids``
      returned by ``recv`` are these global agent rows: env ``i`` owns rows
      ``[i * agents_per_env, (i + 1) * agents_per_env)``.
    - ``batch_size``: envs per batch; ``agents_per_batch = batch_size * agents_per_env``
      rows come back from each ``recv`` and ``send`` takes one action row per one of them.
    - ``num_workers``: groups of ``num_envs / num_workers`` envs stepped together.

    Usage: ``reset(seed)`` / ``step(actions)``, or the asynchronous pair ``async_reset``
    then alternating ``recv()`` and ``send(actions)``. With ``batch_size < num_envs``
    each ``recv`` returns the next ready batch while the other envs keep simulating;
    ``send`` then steps the envs of that batch. Returned arrays may be views of the
    backend's buffers, valid until the next ``send``: copy what you keep.

    Auto-reset: the step that ends an episode returns its final observation with
    ``terminals`` (or ``truncations``) set; the next ``send`` resets that env instead of
    stepping it, returning the reset observation with reward 0 and both flags False.
    """

    options: ClassVar[tuple[str, ...]] = ("num_workers", "batch_size", "zero_copy")

    driver_env: Any
    single_observation_space: gymnasium.spaces.Box
    single_action_space: gymnasium.Space
    observation_space: gymnasium.Space
    action_space: gymnasium.Space
    num_envs: int
    num_agents: int
    agents_per_env: int
    agents_per_batch: int
    num_workers: int
    batch_size: int
    emulated: Any
    # Set by ``make`` only (read with getattr): what it built the envs from, for a run's config.json
    # (None unless one creator with no env_args).
    env_creator: Callable | None
    env_kwargs: dict[str, Any] | None

    if TYPE_CHECKING:  # every backend takes these (``make`` passes its options as keywords)
        def __init__(self, env_creators: Callable | Sequence[Callable], env_args: Any = None,
                     env_kwargs: Any = None, num_envs: int = 1, **options: Any) -> None: ...

    # ---------------------------------------------------------------------------------
    # Backend hooks

    def _launch(self, workers: Sequence[int], seeds: list[int | None] | None) -> None:
        """Start stepping ``workers`` (actions are in the buffers) or, given ``seeds`` (one
        per env of the whole vecenv), resetting them."""
        raise NotImplementedError

    def _wait(self, candidates: Sequence[int], count: int) -> list[int]:
        """Block until ``count`` of ``candidates`` have finished; return ``count`` finished
        ones (all of them, in order, when ``count == len(candidates)``). Their results are in
        the buffers and their info dicts in ``self._infos[w]``."""
        raise NotImplementedError

    def _shutdown(self) -> None:
        """Release workers and envs. Must tolerate a partly constructed backend."""
        raise NotImplementedError

    # ---------------------------------------------------------------------------------
    # Setup

    def _setup(self, driver_env: Any, pool: PoolConfig, buffers: Buffers) -> None:
        self.driver_env = driver_env
        self.emulated = driver_env.emulated
        self.single_observation_space = driver_env.single_observation_space
        self.single_action_space = driver_env.single_action_space
        self.agents_per_env = int(driver_env.num_agents)
        # A native PufferEnv seeds its games itself, one seed apart (see check_seeds).
        self._native = isinstance(driver_env, PufferEnv)
        self.num_envs, self.num_workers = pool.num_envs, pool.num_workers
        self.batch_size, self.zero_copy = pool.batch_size, pool.zero_copy
        self.envs_per_worker = pool.envs_per_worker
        self.agents_per_worker = pool.envs_per_worker * self.agents_per_env
        self.num_agents = pool.num_envs * self.agents_per_env
        self.agents_per_batch = pool.batch_size * self.agents_per_env
        self.observation_space = joint_space(self.single_observation_space, self.agents_per_batch)
        self.action_space = joint_space(self.single_action_space, self.agents_per_batch)
        self._pool = pool
        self._buffers = buffers
        self._agent_ids = np.arange(self.num_agents, dtype=np.int64)
        self._infos: list[list[dict]] = [[] for _ in range(pool.num_workers)]
        # Per worker; Python lists because numpy costs more per item on these few workers.
        self._in_flight = [False] * pool.num_workers
        self._returned = [False] * pool.num_workers
        self._batch: Sequence[int] = ()
        self._setup_action_checks()

        workers_per_batch = pool.workers_per_batch
        self._blocks: list[range] | None
        if pool.block_batches:
            self._blocks = [range(k, k + workers_per_batch)
                            for k in range(0, pool.num_workers, workers_per_batch)]
            self._block_views = [self._views(block) for block in self._blocks]
            self._next_block = 0
            self._batch_block = 0
        else:
            self._blocks = None
            b, rows = buffers, self.agents_per_batch
            self._gathered = (
                np.zeros((rows, *b.observations.shape[1:]), dtype=b.observations.dtype),
                np.zeros(rows, dtype=np.float32),
                np.zeros(rows, dtype=bool),
                np.zeros(rows, dtype=bool),
                np.zeros(rows, dtype=np.int64),
                np.zeros(rows, dtype=bool),
            )
        self._state = _IDLE

    def _views(self, block: range) -> tuple:
        rows = slice(block.start * self.agents_per_worker, block.stop * self.agents_per_worker)
        b = self._buffers
        outputs = (b.observations[rows], b.rewards[rows], b.terminals[rows], b.truncations[rows],
                   self._agent_ids[rows], b.masks[rows])
        return outputs, b.actions[rows]

    def _setup_action_checks(self) -> None:
        space = self.single_action_space
        self._action_shape = (self.agents_per_batch, *space_shape(space))
        self._integer_actions = isinstance(space, spaces.Discrete + spaces.MultiDiscrete)
        self._discrete_bounds: tuple[int, int] | None = None
        self._action_start: int | np.ndarray
        self._action_span: int | np.ndarray
        if isinstance(space, spaces.Discrete):
            self._action_start = int(space.start)
            self._action_span = int(space.n) - 1
            self._discrete_bounds = (self._action_start, self._action_start + self._action_span)
        elif isinstance(space, spaces.MultiDiscrete):
            start = np.asarray(space.start)
            self._action_start = int(start.flat[0]) if (start == start.flat[0]).all() else start
            self._action_span = (np.asarray(space.nvec) - 1).astype(np.uint64)
        if self._integer_actions:
            self._action_offset = bool(np.any(self._action_start))
        elif not isinstance(space, spaces.Box):
            raise APIUsageError(
                f"Unsupported action space {space}: vector backends need Discrete, MultiDiscrete or "
                "Box. Wrap the env in pufferlib.emulation to flatten structured actions."
            )

    # ---------------------------------------------------------------------------------
    # Public API

    def reset(self, seed: Any = 42) -> tuple[np.ndarray, list[dict]]:
        """Reset every env (env ``i`` with ``seed + i``) and return the first batch's
        observations and infos. ``seed`` may also be a list of per-env seeds, or None."""
        self.async_reset(seed)
        obs, _, _, _, infos, _, _ = self.recv()
        return obs, infos

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """``send(actions)`` then ``recv()``, without ``env_ids`` and ``masks``."""
        self.send(actions)
        obs, rewards, terminals, truncations, infos, _, _ = self.recv()
        return obs, rewards, terminals, truncations, infos

    def async_reset(self, seed: Any = 42) -> None:
        """Start resetting every env; the next ``recv`` returns the first batch."""
        self._check_usable("async_reset")
        seeds = check_seeds(seed, self.num_envs, self.agents_per_env if self._native else 1)
        try:
            pending = [w for w, flying in enumerate(self._in_flight) if flying]
            if pending:
                self._wait(pending, len(pending))
            for infos in self._infos:
                infos.clear()
            self._launch(range(self.num_workers), seeds)
        except BaseException:
            self._state = _BROKEN
            raise
        self._in_flight[:] = [True] * self.num_workers
        self._returned[:] = [False] * self.num_workers
        if self._blocks is not None:
            self._next_block = 0
        self._state = _SENT

    def send(self, actions: Any) -> None:
        """Step the envs of the batch returned by the last ``recv`` with ``actions``, one
        row per agent of that batch (shape ``(agents_per_batch, *single_action_space.shape)``)."""
        if self._state != _RECEIVED:
            self._raise_call_order("send")
        array = self._validated_actions(actions)
        workers = self._batch
        if self._blocks is not None:
            self._block_views[self._batch_block][1][...] = array
        else:
            per_worker, buffer = self.agents_per_worker, self._buffers.actions
            for j, w in enumerate(workers):
                buffer[w * per_worker:(w + 1) * per_worker] = array[j * per_worker:(j + 1) * per_worker]
        try:
            self._launch(workers, None)
        except BaseException:
            self._state = _BROKEN
            raise
        in_flight = self._in_flight
        for w in workers:
            in_flight[w] = True
        self._state = _SENT

    def recv(self) -> Batch:
        """Wait for the next batch: ``(obs, rewards, terminals, truncations, infos, env_ids,
        masks)``, ``agents_per_batch`` rows each, ``infos`` the batch's non-empty info dicts."""
        if self._state != _SENT:
            self._raise_call_order("recv")
        workers: Sequence[int]
        try:
            if self._blocks is not None:
                k = self._next_block
                workers = self._blocks[k]
                self._wait(workers, len(workers))
                self._next_block = (k + 1) % len(self._blocks)
                self._batch_block = k
                outputs = self._block_views[k][0]
                in_flight = self._in_flight
                for w in workers:
                    in_flight[w] = False
            else:
                workers = self._choose_ready()
                outputs = self._gather(workers)
        except BaseException:
            self._state = _BROKEN
            raise
        infos: list[dict] = []
        worker_infos = self._infos
        for w in workers:
            if worker_infos[w]:
                infos.extend(worker_infos[w])
                worker_infos[w] = []
        self._batch = workers
        self._state = _RECEIVED
        obs, rewards, terminals, truncations, env_ids, masks = outputs
        return obs, rewards, terminals, truncations, infos, env_ids, masks

    def close(self) -> None:
        """Stop the workers and close every env. Idempotent."""
        if getattr(self, "_state", None) == _CLOSED:
            return
        self._state = _CLOSED
        try:
            self._shutdown()
        finally:
            # Drops the buffers: the (shared) memory is freed once the caller drops the arrays it
            # still holds. (A partly constructed or block-batched vecenv lacks some of these.)
            for name in ("_buffers", "_block_views", "_gathered"):
                self.__dict__.pop(name, None)

    def __enter__(self) -> VecEnv:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if not hasattr(self, "_pool"):
            return f"{type(self).__name__}(unconfigured)"
        return (f"{type(self).__name__}(num_envs={self.num_envs}, num_workers={self.num_workers}, "
                f"batch_size={self.batch_size}, zero_copy={self.zero_copy}, "
                f"agents_per_env={self.agents_per_env})")

    # ---------------------------------------------------------------------------------
    # Internals

    def _check_usable(self, call: str) -> None:
        if self._state == _CLOSED:
            raise APIUsageError(f"{call}() called after close(): make a new vecenv.")
        if self._state == _BROKEN:
            raise APIUsageError(
                f"{call}() called after this vecenv raised an error (see the earlier exception): "
                "close() it and make a new one."
            )

    def _raise_call_order(self, call: str) -> None:
        self._check_usable(call)
        if self._state == _IDLE:
            raise APIUsageError("Call reset before stepping")
        if call == "send":
            raise APIUsageError(
                "send() called twice without recv(): call recv() to collect the batch in flight "
                "before sending more actions."
            )
        raise APIUsageError(
            "recv() called twice without send(): send() actions for the batch returned by the "
            "last recv() first."
        )

    def _validated_actions(self, actions: Any) -> np.ndarray:
        """``actions`` as an array of the joint action space, or ``APIUsageError``."""
        array = actions if type(actions) is np.ndarray else self._as_array(actions)
        if array.shape == self._action_shape:
            kind = array.dtype.kind
            bounds = self._discrete_bounds
            if bounds is not None:
                # argmin/argmax cost a fraction of a ufunc reduction on small batches.
                if (kind in "iu" and bounds[0] <= array.item(array.argmin())
                        and array.item(array.argmax()) <= bounds[1]):
                    return array
            elif self._integer_actions:
                if kind in "iu" and self._actions_in_range(array):
                    return array
            elif kind in "iuf":
                return array
        elif self._integer_actions and array.shape == (*self._action_shape, 1):
            return self._validated_actions(array.reshape(self._action_shape))
        self._raise_invalid_actions(array)

    @staticmethod
    def _as_array(actions: Any) -> np.ndarray:
        try:
            return np.asarray(actions)
        except Exception as e:
            raise APIUsageError(
                f"Actions must be a numpy array (move tensors to the CPU first), got {type(actions)}: {e}"
            ) from e

    def _raise_invalid_actions(self, array: np.ndarray) -> NoReturn:
        if array.shape != self._action_shape:
            problem = f"shape {array.shape}"
        elif self._integer_actions and array.dtype.kind in "iu":
            problem = f"values out of range: {array}"
        else:
            problem = f"dtype {array.dtype}"
        if self._integer_actions:
            low, high = self._action_start, self._action_start + self._action_span
            kind = f"an integer dtype, values in [{low}, {high}]"
        else:
            kind = "a numeric dtype"
        raise APIUsageError(
            f"Actions do not fit the joint action space {self.action_space}: expected shape "
            f"{self._action_shape} (agents_per_batch={self.agents_per_batch}, "
            f"{self.single_action_space} per agent) and {kind}; got {problem}."
        )

    def _actions_in_range(self, array: np.ndarray) -> bool:
        """MultiDiscrete actions within their per-column bounds."""
        # Offsets from the space's start, viewed as unsigned: negative ones become huge, so a
        # single comparison against the span checks both bounds.
        offsets = array - self._action_start if self._action_offset else array
        unsigned = offsets.view(_UNSIGNED[offsets.dtype.itemsize])
        return not np.greater(unsigned, self._action_span).any()

    def _choose_ready(self) -> list[int]:
        """The next batch when any ready workers may form it: the first to finish, except
        that every worker is returned once per cycle before any is returned again."""
        chosen: list[int] = []
        need = self._pool.workers_per_batch
        while need:
            eligible = [w for w in range(self.num_workers) if self._in_flight[w] and not self._returned[w]]
            if not eligible:
                self._returned[:] = [False] * self.num_workers
                continue
            got = self._wait(eligible, min(need, len(eligible)))
            for w in got:
                self._returned[w] = True
                self._in_flight[w] = False
            chosen.extend(got)
            need -= len(got)
        if all(self._returned):
            self._returned[:] = [False] * self.num_workers
        return chosen

    def _gather(self, workers: Sequence[int]) -> tuple:
        obs, rewards, terminals, truncations, env_ids, masks = self._gathered
        b, per_worker = self._buffers, self.agents_per_worker
        for j, w in enumerate(workers):
            src = slice(w * per_worker, (w + 1) * per_worker)
            dst = slice(j * per_worker, (j + 1) * per_worker)
            obs[dst] = b.observations[src]
            rewards[dst] = b.rewards[src]
            terminals[dst] = b.terminals[src]
            truncations[dst] = b.truncations[src]
            masks[dst] = b.masks[src]
            env_ids[dst] = self._agent_ids[src]
        return self._gathered

    def _worker_envs(self, worker: int) -> range:
        return range(worker * self.envs_per_worker, (worker + 1) * self.envs_per_worker)
