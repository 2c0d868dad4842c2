"""Environments as a user writes them, outside pufferlib: trained with ``--env user_envs:NAME``.

Each is learnable in a few thousand steps, so tests can check that training did something.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class DictTupleEnv(gymnasium.Env):
    """Dict observations, Tuple actions: match ``goal`` with the first action, ``parity`` with the second.

    Reward 1 per correct part per step; ``length`` steps per episode.
    """

    metadata = {"render_modes": []}

    def __init__(self, length: int = 8, num_goals: int = 4):
        self.length, self.num_goals = length, num_goals
        self.observation_space = spaces.Dict({
            "goal": spaces.Discrete(num_goals),
            "noise": spaces.Box(-1.0, 1.0, (3,), np.float32),
            "parity": spaces.Discrete(2),
        })
        self.action_space = spaces.Tuple((spaces.Discrete(num_goals), spaces.Discrete(2)))
        self._t = 0

    def _observe(self) -> dict[str, Any]:
        self._goal = int(self.np_random.integers(self.num_goals))
        self._parity = int(self.np_random.integers(2))
        noise = self.np_random.uniform(-1, 1, 3).astype(np.float32)
        return {"goal": self._goal, "noise": noise, "parity": self._parity}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self._t = 0
        return self._observe(), {}

    def step(self, action: tuple) -> tuple[dict, float, bool, bool, dict]:
        choice, bit = int(action[0]), int(action[1])
        reward = float(choice == self._goal) + float(bit == self._parity)
        self._t += 1
        return self._observe(), reward, False, self._t >= self.length, {}


def make_dict_tuple_env(length: int = 8, num_goals: int = 4) -> DictTupleEnv:
    """A factory, as users often write one."""
    return DictTupleEnv(length=length, num_goals=num_goals)


class MatchAgents(ParallelEnv):
    """Three agents; each sees a one-hot target and is rewarded for naming it. ``length`` steps."""

    metadata = {"name": "match_agents_v0", "render_modes": []}

    def __init__(self, num_agents: int = 3, length: int = 10):
        self.possible_agents = [f"agent_{i}" for i in range(num_agents)]
        self.agents: list[str] = []
        self.length = length
        self._rng = np.random.default_rng(0)
        self._targets: dict[str, int] = {}
        self._t = 0

    def observation_space(self, agent: str) -> spaces.Space:
        return spaces.Box(0.0, 1.0, (4,), np.float32)

    def action_space(self, agent: str) -> spaces.Space:
        return spaces.Discrete(4)

    def _observe(self) -> dict[str, np.ndarray]:
        observations = {}
        for agent in self.agents:
            self._targets[agent] = int(self._rng.integers(4))
            observations[agent] = np.eye(4, dtype=np.float32)[self._targets[agent]]
        return observations

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._t = 0
        return self._observe(), {agent: {} for agent in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        rewards = {agent: float(int(actions[agent]) == self._targets[agent]) for agent in self.agents}
        self._t += 1
        done = self._t >= self.length
        observations = self._observe()
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, done)
        infos: dict[str, dict] = {agent: {} for agent in self.agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos


def recorded_cartpole() -> gymnasium.Env:
    """CartPole under Gymnasium's own ``RecordEpisodeStatistics`` (``info['episode']``)."""
    return gymnasium.wrappers.RecordEpisodeStatistics(gymnasium.make("CartPole-v1"))


class NeverEnds(gymnasium.Env):
    """An env whose episodes never finish (within any test's budget)."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.zeros(2, np.float32), 0.0, False, False, {}


def not_an_env() -> dict:
    return {}
