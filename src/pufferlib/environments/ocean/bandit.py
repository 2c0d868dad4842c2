"""Bandit: a multi-armed bandit with one-step episodes."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from pufferlib.environments.ocean.render import ansi_rows, check_render_mode
from pufferlib.exceptions import APIUsageError


class Bandit(gymnasium.Env):
    """Pull one of ``num_actions`` arms; one of them is the winner.

    Every episode is one step with the constant observation ``[1.0]``. The reward is
    ``(correct + noise) * reward_scale``, ``correct`` being 1 for the winning arm and 0
    otherwise, ``noise ~ Normal(0, reward_noise)`` from the env's own generator. Final
    info: ``score`` = 1.0 if the winning arm was pulled.

    The winner is fixed by ``hard_fixed_seed``, so every env built with the same value
    (all of them, by default) shares it and one policy can learn it. With
    ``hard_fixed_seed=None`` the winner is drawn from the seed of ``reset(seed=...)``
    instead and kept across unseeded resets: one winner per env seed.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, num_actions: int = 10, reward_scale: float = 1, reward_noise: float = 1,
                 hard_fixed_seed: int | None = 42, render_mode: str | None = None):
        if not isinstance(num_actions, int | np.integer) or num_actions < 2:
            raise APIUsageError(f"Bandit needs an integer num_actions >= 2, got {num_actions!r}.")
        if reward_noise < 0:
            raise APIUsageError(f"Bandit reward_noise is a standard deviation (>= 0), got {reward_noise!r}.")
        self.num_actions = int(num_actions)
        self.reward_scale = float(reward_scale)
        self.reward_noise = float(reward_noise)
        self.hard_fixed_seed = hard_fixed_seed
        self.render_mode = check_render_mode("Bandit", render_mode, ["ansi"])
        self.observation_space = gymnasium.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(self.num_actions)
        self.observation = np.ones(1, dtype=np.float32)
        self.solution_idx: int | None = None
        if hard_fixed_seed is not None:
            self.solution_idx = int(np.random.default_rng(hard_fixed_seed).integers(self.num_actions))
        self.last_action: int | None = None

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.hard_fixed_seed is None and (seed is not None or self.solution_idx is None):
            self.solution_idx = int(self.np_random.integers(self.num_actions))
        self.last_action = None
        return self.observation.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.solution_idx is None:
            raise APIUsageError("Bandit: step() called before reset()")
        if not 0 <= action < self.num_actions:
            raise APIUsageError(f"Bandit: action must be in [0, {self.num_actions}), got {action!r}.")
        correct = float(action == self.solution_idx)
        noise = self.np_random.normal(0.0, self.reward_noise) if self.reward_noise else 0.0
        self.last_action = int(action)
        return self.observation.copy(), (correct + noise) * self.reward_scale, True, False, {"score": correct}

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.solution_idx is None:
            return None
        arms = np.full(self.num_actions, -1.0)
        arms[self.solution_idx] = 1.0
        pulled = np.zeros(self.num_actions)
        if self.last_action is not None:
            pulled[self.last_action] = 1.0 if self.last_action == self.solution_idx else -1.0
        return ansi_rows({"Winning arm": arms, "Pulled": pulled})
