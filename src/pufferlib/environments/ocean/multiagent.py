"""Multiagent: a two-agent PettingZoo parallel env with one-step episodes."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pettingzoo

from pufferlib.environments.ocean.render import ansi_rows, check_render_mode
from pufferlib.exceptions import APIUsageError, InvalidAgentError


class Multiagent(pettingzoo.ParallelEnv):
    """Agent 1 must pick action 0 and agent 2 must pick action 1.

    Agents are ``1`` and ``2``; agent 1 observes ``[0.0]``, agent 2 ``[1.0]``. Each
    episode is one step, after which both agents terminate: each agent's reward is 1
    if it picked its action (0 for agent 1, 1 for agent 2) and 0 otherwise. Final
    info per agent: ``score`` = that reward.
    """

    metadata = {"render_modes": ["ansi"], "name": "puffer_multiagent_v0", "render_fps": 4}
    CORRECT_ACTION = {1: 0, 2: 1}

    def __init__(self, render_mode: str | None = None):
        self.render_mode = check_render_mode("Multiagent", render_mode, ["ansi"])
        self.possible_agents = [1, 2]
        self.agents: list[int] = []
        self._observation_space = gymnasium.spaces.Box(0.0, 1.0, (1,), np.float32)
        self._action_space = gymnasium.spaces.Discrete(2)
        self._observations = {1: np.zeros(1, dtype=np.float32), 2: np.ones(1, dtype=np.float32)}
        self._last_actions: dict[int, int] = {}

    def observation_space(self, agent: Any) -> gymnasium.spaces.Box:
        if agent not in self.CORRECT_ACTION:
            raise InvalidAgentError(agent, self.possible_agents)
        return self._observation_space

    def action_space(self, agent: Any) -> gymnasium.spaces.Discrete:
        if agent not in self.CORRECT_ACTION:
            raise InvalidAgentError(agent, self.possible_agents)
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.agents = list(self.possible_agents)
        self._last_actions = {}
        return {agent: self._observations[agent].copy() for agent in self.agents}, {1: {}, 2: {}}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise APIUsageError("Multiagent: step() called before reset() or after the episode ended")
        for agent in self.agents:
            if agent not in actions or actions[agent] not in (0, 1):
                raise APIUsageError(f"Multiagent: agent {agent} needs an action in (0, 1), got {actions!r}.")
        rewards = {agent: float(actions[agent] == self.CORRECT_ACTION[agent]) for agent in self.agents}
        self._last_actions = {agent: int(actions[agent]) for agent in self.agents}
        observations = {agent: self._observations[agent].copy() for agent in self.agents}
        terminals = dict.fromkeys(self.agents, True)
        truncations = dict.fromkeys(self.agents, False)
        infos = {agent: {"score": reward} for agent, reward in rewards.items()}
        self.agents = []
        return observations, rewards, terminals, truncations, infos

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        rows = {}
        for agent in self.possible_agents:
            cells = [0.0, 0.0]
            if agent in self._last_actions:
                action = self._last_actions[agent]
                cells[action] = 1.0 if action == self.CORRECT_ACTION[agent] else -1.0
            rows[f"Agent {agent}"] = cells
        return ansi_rows(rows)

    def close(self) -> None:
        pass
