"""``PufferEnv``: the base for natively vectorized environments (spec 2.6)."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.memory import require
from pufferlib.namespace import Namespace, namespace


class PufferEnv:
    """An environment that simulates ``num_agents`` agents in one object.

    Subclasses set ``single_observation_space`` (a ``Box``), ``single_action_space``
    (``Discrete``, ``MultiDiscrete`` or ``Box``) and ``num_agents`` before calling
    ``super().__init__(buf)``. They implement ``reset(seed=None) -> (observations,
    infos)`` and ``step(actions) -> (observations, rewards, terminals, truncations,
    infos)``, write their results **in place** into ``self.observations``,
    ``self.rewards``, ``self.terminals``, ``self.truncations`` and ``self.masks``, and
    reset finished sub-episodes themselves (auto-reset is the env's job, so ``done`` is
    always False). ``infos`` is a list of dicts, one per finished episode or event.

    A vector backend adopts shared-memory arrays by assigning ``env.buf`` before the
    first reset; the env's arrays then become views of that memory.
    """

    single_observation_space: gymnasium.spaces.Box
    single_action_space: gymnasium.Space
    num_agents: int
    render_mode: str | None = None

    def __init__(self, buf: Namespace | None = None):
        for name in ("single_observation_space", "single_action_space", "num_agents"):
            if not hasattr(self, name):
                raise APIUsageError(f"{type(self).__name__} must set {name} before PufferEnv.__init__")
        if not isinstance(self.single_observation_space, gymnasium.spaces.Box):
            raise APIUsageError(
                f"{type(self).__name__}.single_observation_space must be a Box, "
                f"got {self.single_observation_space}"
            )
        self.observation_space = self.single_observation_space
        self.action_space = self.single_action_space
        self.emulated = namespace(
            observation_dtype=self.single_observation_space.dtype,
            emulated_observation_dtype=self.single_observation_space.dtype,
            observation_space=self.single_observation_space,
            action_space=self.single_action_space,
        )
        self.is_obs_emulated = False
        self.is_atn_emulated = False
        self.done = False
        if buf is None:
            self._check_memory()
        self.agents = self.possible_agents = list(range(self.num_agents))
        self._buf: Namespace | None = None
        self.buf = buf if buf is not None else self._allocate()

    def _check_memory(self) -> None:
        """Refuse a number of agents whose buffers (and agent list) cannot fit in memory."""
        n = self.num_agents
        obs_space, atn_space = self.single_observation_space, self.single_action_space
        per_agent = obs_space.dtype.itemsize * int(np.prod(obs_space.shape, dtype=np.int64)) \
            + atn_space.dtype.itemsize * int(np.prod(atn_space.shape, dtype=np.int64)) + 7 + 64
        require(n * per_agent, f"The buffers of {n:,} agents of {type(self).__name__}",
                "lower the number of games or agents (e.g. --env.num-envs)")

    def _allocate(self) -> Namespace:
        n = self.num_agents
        obs_space, atn_space = self.single_observation_space, self.single_action_space
        return namespace(
            observations=np.zeros((n, *obs_space.shape), dtype=obs_space.dtype),
            rewards=np.zeros(n, dtype=np.float32),
            terminals=np.zeros(n, dtype=bool),
            truncations=np.zeros(n, dtype=bool),
            masks=np.ones(n, dtype=bool),
            actions=np.zeros((n, *atn_space.shape), dtype=atn_space.dtype),
        )

    @property
    def buf(self) -> Namespace | None:
        return self._buf

    @buf.setter
    def buf(self, buf: Namespace | None) -> None:
        if buf is None:
            return
        self._buf = buf
        self.observations = buf.observations
        self.rewards = buf.rewards
        self.terminals = buf.terminals
        self.truncations = buf.truncations
        self.masks = buf.masks
        self.masks[:] = True
        atn_space = self.single_action_space
        if getattr(buf, "actions", None) is None:
            buf.actions = np.zeros((self.num_agents, *atn_space.shape), dtype=atn_space.dtype)
        self.actions = buf.actions

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        raise NotImplementedError

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        raise NotImplementedError

    def render(self) -> Any:
        return None

    def close(self) -> None:
        pass
