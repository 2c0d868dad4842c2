"""Template native env (copy me): ``Chase``, an agent on a grid walking to a target.

The three parts every native env has, in the order to write them (``docs/native_env.md``
explains each):

1. Numba kernels, ``@numba.njit(cache=True)``, that reset and step *all* games in one call,
   writing observations, rewards and flags into the arrays they are given, restarting a game
   the moment it ends, and adding each finished episode to ``log``. They never allocate.
2. A ``NativeEnv`` subclass that declares the spaces, allocates the per-game state, and calls
   the kernels from ``_reset_games`` / ``_step_games``.
3. One line in ``ocean/environment.py``'s ``NATIVE_GAMES`` and a ``["ocean:NAME"]`` table in
   ``config/ocean.toml`` (see the guide).

Rules: each game is a ``size x size`` grid; the agent starts at a random cell, the target at
another. Actions: 0 stay, 1 up, 2 down, 3 left, 4 right (moves off the grid are ignored).
Reaching the target gives reward 1 and moves the target to a new random cell. Episodes end
(truncation) after ``max_episode_steps`` steps. Observations (float32): agent row and column,
target row and column, divided by ``size``. ``score`` = targets reached.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int

MOVES = np.array([(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)], dtype=np.int64)
# Per-game state columns (one int64 row per game).
AGENT_R, AGENT_C, TARGET_R, TARGET_C, TICKS, SCORE = range(6)


@numba.njit(cache=True)
def _new_target(state: np.ndarray, rng: np.ndarray, g: int, size: int) -> None:
    while True:  # a cell other than the agent's
        r, c = core.randint(rng, g, size), core.randint(rng, g, size)
        if r != state[g, AGENT_R] or c != state[g, AGENT_C]:
            break
    state[g, TARGET_R], state[g, TARGET_C] = r, c


@numba.njit(cache=True)
def _start(state: np.ndarray, rng: np.ndarray, g: int, size: int) -> None:
    state[g, AGENT_R], state[g, AGENT_C] = core.randint(rng, g, size), core.randint(rng, g, size)
    _new_target(state, rng, g, size)
    state[g, TICKS] = 0
    state[g, SCORE] = 0


@numba.njit(cache=True)
def _observe(state: np.ndarray, obs: np.ndarray, g: int, size: int) -> None:
    for k in range(4):  # AGENT_R, AGENT_C, TARGET_R, TARGET_C
        obs[g, k] = state[g, k] / size


@numba.njit(cache=True)
def step_kernel(
    state: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    size: int,
    max_steps: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Step every game (``reset_all``: start every game instead); return 1 if an action was
    out of range (the env then raises), else 0."""
    if reset_all:
        for g in range(state.shape[0]):
            _start(state, rng, g, size)
            _observe(state, obs, g, size)
        return 0
    bad = 0
    for g in range(state.shape[0]):
        action = actions[g]
        if action < 0 or action >= MOVES.shape[0]:
            bad = 1
            action = 0
        r = min(max(state[g, AGENT_R] + MOVES[action, 0], 0), size - 1)
        c = min(max(state[g, AGENT_C] + MOVES[action, 1], 0), size - 1)
        state[g, AGENT_R], state[g, AGENT_C] = r, c
        reward = 0.0
        if r == state[g, TARGET_R] and c == state[g, TARGET_C]:
            reward = 1.0
            state[g, SCORE] += 1
            _new_target(state, rng, g, size)
        state[g, TICKS] += 1
        truncated = state[g, TICKS] >= max_steps
        rewards[g] = reward
        terminals[g] = False
        truncations[g] = truncated
        if truncated:
            # Return, length, score: here the return equals the score.
            core.log_episode(log, g, state[g, SCORE], state[g, TICKS], state[g, SCORE])
            _start(state, rng, g, size)
        _observe(state, obs, g, size)
    return bad


class Chase(NativeEnv):
    """``num_envs`` Chase games (see the module docstring)."""

    def __init__(
        self,
        num_envs: int = 1,
        size: int = 8,
        max_episode_steps: int = 100,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.size = check_positive_int("size", size, 2)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
        # Spaces first: NativeEnv.__init__ allocates the buffers from them.
        self.single_observation_space = gymnasium.spaces.Box(0.0, 1.0, (4,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(len(MOVES))
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, 6), dtype=np.int64)

    def _reset_games(self) -> None:
        # One kernel does both (each compiled function costs start-up time).
        self._step_games(self.actions, reset_all=True)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.state,
            self.rng,
            actions,
            self.size,
            self.max_episode_steps,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        grid = [["."] * self.size for _ in range(self.size)]
        grid[self.state[0, TARGET_R]][self.state[0, TARGET_C]] = "T"
        grid[self.state[0, AGENT_R]][self.state[0, AGENT_C]] = "A"
        return "\n".join(" ".join(row) for row in grid) + "\n"

    def render_rgb(self) -> np.ndarray:
        image = np.zeros((self.size, self.size, 3), dtype=np.uint8)
        image[self.state[0, TARGET_R], self.state[0, TARGET_C]] = (80, 150, 255)
        image[self.state[0, AGENT_R], self.state[0, AGENT_C]] = (240, 70, 70)
        return np.repeat(np.repeat(image, 16, axis=0), 16, axis=1)


def greedy_actions(observations: np.ndarray) -> np.ndarray:
    """The shortest-path action of every game (a scripted policy, for tests and baselines)."""
    d_row = observations[:, TARGET_R] - observations[:, AGENT_R]
    d_col = observations[:, TARGET_C] - observations[:, AGENT_C]
    actions = np.where(d_col > 0, 4, np.where(d_col < 0, 3, 0))
    return np.where(d_row > 0, 2, np.where(d_row < 0, 1, actions)).astype(np.int64)
