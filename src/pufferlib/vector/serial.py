"""``Serial``: every env in the calling process, writing into one preallocated buffer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pufferlib.vector.base import VecEnv
from pufferlib.vector.buffers import Buffers, BufferSpec
from pufferlib.vector.config import normalize_creators, resolve_pool, serial_num_workers
from pufferlib.vector.group import EnvGroup, create_env, create_envs, env_signature


class Serial(VecEnv):
    """All envs stepped one after another in this process (spec 3.2).

    The fast path for debugging and for cheap native envs: no processes, no copies.
    ``num_workers`` only groups envs into batches here (default: as few groups as the
    ``batch_size`` allows); with ``batch_size < num_envs``, ``send`` steps just the envs
    of the last batch, and ``recv`` returns the next batch, round robin.
    """

    def __init__(self, env_creators: Callable | Sequence[Callable], env_args: Any = None,
                 env_kwargs: Any = None, num_envs: int = 1, num_workers: int | None = None,
                 batch_size: int | None = None, zero_copy: bool = True):
        self._groups: list[EnvGroup] = []
        self._envs: list = []
        creators, args, kwargs = normalize_creators(env_creators, env_args, env_kwargs, num_envs)
        pool = resolve_pool(num_envs, num_workers, batch_size, zero_copy, serial_num_workers)
        driver = create_env(creators[0], args[0], kwargs[0])
        self._envs = [driver]
        try:
            self._envs += create_envs(creators[1:], args[1:], kwargs[1:], 1, env_signature(driver))
            buffers = Buffers(BufferSpec.for_env(driver, pool.num_envs, pool.num_workers))
            per_worker, rows_per_env = pool.envs_per_worker, int(driver.num_agents)
            for first in range(0, pool.num_envs, per_worker):
                envs = self._envs[first:first + per_worker]
                self._groups.append(EnvGroup(envs, buffers, first * rows_per_env))
            self._setup(driver, pool, buffers)
        except BaseException:
            self._shutdown()
            raise

    @property
    def envs(self) -> list:
        """The env objects, in order (they live in this process: they can be rendered or inspected)."""
        return list(self._envs)

    def _launch(self, workers: Sequence[int], seeds: list[int | None] | None) -> None:
        per_worker = self.envs_per_worker
        for w in workers:
            group = self._groups[w]
            infos = group.step() if seeds is None else group.reset(seeds[w * per_worker:(w + 1) * per_worker])
            if infos:
                self._infos[w] = infos

    def _wait(self, candidates: list[int], count: int) -> list[int]:
        return list(candidates[:count])

    def _shutdown(self) -> None:
        envs, self._envs, self._groups = self._envs, [], []
        for env in envs:
            env.close()
