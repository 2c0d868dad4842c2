"""CartPole: Gymnasium ``CartPole-v1``'s dynamics, ``num_envs`` games per kernel call.

The physics, thresholds, reward (1 on every step, the terminal one included) and the
500-step time limit are Gymnasium's, computed in the same order in float64, so from the same
state and action a game reaches the same next observation (float32) and flags as
``gymnasium.make('CartPole-v1')`` (``tests/test_ocean_native.py`` checks it step by step).
Resets draw each state variable uniformly from ``[-0.05, 0.05)``, as Gymnasium does, from the
game's own generator. ``continuous=True`` takes one action in ``[-1, 1]`` per game and
pushes with ``10 * action`` newtons (clipped to the range).

Episode stats: ``episode_return`` = ``episode_length`` = ``score`` = steps balanced.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int

GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4


@numba.njit(cache=True)
def _reset_game(state: np.ndarray, rng: np.ndarray, obs: np.ndarray, i: int) -> None:
    for k in range(4):
        value = -0.05 + 0.1 * core.uniform(rng, i)
        state[i, k] = value
        obs[i, k] = value


@numba.njit(cache=True)
def step_kernel(
    state: np.ndarray,
    ticks: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    continuous: bool,
    max_steps: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if a discrete
    action was not 0 or 1, else 0."""
    n = state.shape[0]
    if reset_all:
        for i in range(n):
            _reset_game(state, rng, obs, i)
            ticks[i] = 0
        return 0
    bad = False
    # Pass 1, branch-free: physics and flags for every game.
    for i in range(n):
        action = actions[i]
        if continuous:
            force = FORCE_MAG * min(max(action, -1.0), 1.0)
        else:
            force = FORCE_MAG if action == 1 else -FORCE_MAG
            bad |= (action != 0) & (action != 1)
        x, x_dot, theta, theta_dot = state[i, 0], state[i, 1], state[i, 2], state[i, 3]
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
        thetaacc = (GRAVITY * sintheta - costheta * temp) / (
            LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS)
        )
        xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
        x = x + TAU * x_dot
        x_dot = x_dot + TAU * xacc
        theta = theta + TAU * theta_dot
        theta_dot = theta_dot + TAU * thetaacc
        state[i, 0], state[i, 1], state[i, 2], state[i, 3] = x, x_dot, theta, theta_dot
        obs[i, 0], obs[i, 1], obs[i, 2], obs[i, 3] = x, x_dot, theta, theta_dot
        tick = ticks[i] + 1
        ticks[i] = tick
        rewards[i] = 1.0
        terminals[i] = (
            (x < -X_THRESHOLD) | (x > X_THRESHOLD) | (theta < -THETA_THRESHOLD) | (theta > THETA_THRESHOLD)
        )
        truncations[i] = tick >= max_steps
    # Pass 2: log and restart the games that ended (few per step).
    for i in range(n):
        if terminals[i] or truncations[i]:
            tick = ticks[i]
            core.log_episode(log, tick, tick, tick)
            _reset_game(state, rng, obs, i)
            ticks[i] = 0
    return int(bad)


class CartPole(NativeEnv):
    """``num_envs`` CartPole-v1 games (see the module docstring).

    ``state`` is the ``(num_envs, 4)`` float64 physical state ``(x, x_dot, theta,
    theta_dot)``; observations are its float32 copy. Set ``state`` (and call
    ``sync_observations``) to start games from chosen states.
    """

    def __init__(
        self,
        num_envs: int = 1,
        continuous: bool = False,
        max_episode_steps: int = 500,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.continuous = bool(continuous)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
        high = np.array(
            [X_THRESHOLD * 2, np.finfo(np.float32).max, THETA_THRESHOLD * 2, np.finfo(np.float32).max],
            dtype=np.float32,
        )
        self.single_observation_space = gymnasium.spaces.Box(-high, high, dtype=np.float32)
        if self.continuous:
            self.single_action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
        else:
            self.single_action_space = gymnasium.spaces.Discrete(2)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, 4), dtype=np.float64)
        self.ticks = np.zeros(self.num_envs, dtype=np.int64)

    def sync_observations(self) -> None:
        """Copy ``state`` into the observations (after setting ``state`` by hand)."""
        self.observations[:] = self.state

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        if self.continuous:
            actions = actions.reshape(self.num_envs)
        return step_kernel(
            self.state,
            self.ticks,
            self.rng,
            actions,
            self.continuous,
            self.max_episode_steps,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        x, _, theta, _ = self.state[0]
        width = 41
        track = ["-"] * width
        col = int(round((x + X_THRESHOLD) / (2 * X_THRESHOLD) * (width - 1)))
        track[min(max(col, 0), width - 1)] = "█"
        return f"|{''.join(track)}|  x={x:+.3f} theta={math.degrees(theta):+.1f}deg t={int(self.ticks[0])}\n"

    def render_rgb(self) -> np.ndarray:
        height, width = 200, 300
        image = draw.canvas(height, width)
        x, _, theta, _ = self.state[0]
        scale = width / (2 * X_THRESHOLD * 1.2)
        cart_c = width / 2 + x * scale
        track_r = 150
        draw.fill_rect(image, track_r, 0, 1, width, draw.COLOURS["wall"])
        draw.fill_rect(image, track_r - 15, cart_c - 25, 30, 50, draw.COLOURS["other"])
        pole = 2 * LENGTH * scale
        draw.draw_line(
            image,
            track_r - 15,
            cart_c,
            track_r - 15 - pole * math.cos(theta),
            cart_c + pole * math.sin(theta),
            draw.COLOURS["agent"],
            thickness=6,
        )
        return image
