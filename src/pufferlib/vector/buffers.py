"""One block of memory holding every per-agent array of a vecenv.

Rows are global agent indices: env ``i`` owns rows ``[i * A, (i + 1) * A)`` where ``A`` is
its number of agents, and worker ``w`` owns the contiguous rows of its envs. Envs write
their results straight into their rows (the ``env.buf`` contract, spec 2.5) and read their
actions from them, so no backend copies per-env data. For ``Multiprocessing`` the block is
shared memory; small control arrays (commands, seeds, message flags) live in it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pufferlib.memory import require
from pufferlib.namespace import Namespace, namespace

_ALIGN = 64  # cache line: workers writing neighbouring arrays do not share lines at the seams


@dataclass(frozen=True)
class BufferSpec:
    """Shapes and dtypes of the arrays; picklable, so workers can rebuild the views."""

    num_envs: int
    agents_per_env: int
    num_workers: int
    obs_shape: tuple
    obs_dtype: str
    atn_shape: tuple
    atn_dtype: str

    @classmethod
    def for_env(cls, env: Any, num_envs: int, num_workers: int) -> BufferSpec:
        obs, atn = env.single_observation_space, env.single_action_space
        return cls(num_envs, int(env.num_agents), num_workers, tuple(obs.shape), np.dtype(obs.dtype).str,
                   tuple(atn.shape), np.dtype(atn.dtype).str)

    @property
    def num_agents(self) -> int:
        return self.num_envs * self.agents_per_env

    def fields(self) -> list[tuple[str, tuple, np.dtype]]:
        n = self.num_agents
        return [
            ("observations", (n, *self.obs_shape), np.dtype(self.obs_dtype)),
            ("actions", (n, *self.atn_shape), np.dtype(self.atn_dtype)),
            ("rewards", (n,), np.dtype(np.float32)),
            ("terminals", (n,), np.dtype(bool)),
            ("truncations", (n,), np.dtype(bool)),
            ("masks", (n,), np.dtype(bool)),
            ("seeds", (self.num_envs,), np.dtype(np.int64)),
            ("seeded", (self.num_envs,), np.dtype(bool)),
            ("commands", (self.num_workers,), np.dtype(np.int32)),
            ("messages", (self.num_workers,), np.dtype(np.int32)),
        ]

    def layout(self) -> tuple[list[tuple[str, tuple, np.dtype, int]], int]:
        """``[(name, shape, dtype, byte offset)]`` and the total size in bytes."""
        offset, layout = 0, []
        for name, shape, dtype in self.fields():
            offset = -(-offset // _ALIGN) * _ALIGN
            layout.append((name, shape, dtype, offset))
            offset += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        return layout, max(offset, 1)

    @property
    def nbytes(self) -> int:
        return self.layout()[1]


class Buffers:
    """Views of ``memory`` (any writable buffer of ``spec.nbytes`` bytes) as named arrays.

    Attributes: ``observations (N, *obs_shape)``, ``actions (N, *atn_shape)``,
    ``rewards (N,) float32``, ``terminals``, ``truncations``, ``masks (N,) bool`` with
    ``N = spec.num_agents``; control arrays ``seeds``, ``seeded`` (per env), ``commands``,
    ``messages`` (per worker).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray
    masks: np.ndarray
    seeds: np.ndarray
    seeded: np.ndarray
    commands: np.ndarray
    messages: np.ndarray

    def __init__(self, spec: BufferSpec, memory: Any = None):
        self.spec = spec
        layout, nbytes = spec.layout()
        if memory is None:
            require(nbytes, "The vecenv's buffers", "lower vec.num_copies or the env's number of games")
        raw = np.zeros(nbytes, dtype=np.uint8) if memory is None else np.frombuffer(memory, dtype=np.uint8)
        if raw.nbytes < nbytes:
            raise ValueError(f"Shared memory of {raw.nbytes} bytes is smaller than the {nbytes} needed")
        for name, shape, dtype, offset in layout:
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            setattr(self, name, raw[offset:offset + size].view(dtype).reshape(shape))

    def rows(self, start: int, stop: int) -> Namespace:
        """The ``env.buf`` namespace for agent rows ``[start, stop)``."""
        return namespace(
            observations=self.observations[start:stop],
            rewards=self.rewards[start:stop],
            terminals=self.terminals[start:stop],
            truncations=self.truncations[start:stop],
            masks=self.masks[start:stop],
            actions=self.actions[start:stop],
        )
