"""CartPole: Gymnasium ``CartPole-v1``'s dynamics, ``num_envs`` games per kernel call.

The physics, thresholds, reward (1 on every step, the terminal one included) and the
500-step time limit are Gymnasium's, computed in the same order in float64, so from the same
state and action a game reaches the same flags and next observation (float32, to its last
bit) as ``gymnasium.make('CartPole-v1')`` (``tests/test_ocean_native.py`` checks it step by
step). The float64 state agrees to rounding: sin and cos are polynomials within 1 ulp of
libm's, which lets the physics loop vectorize (3.5x the speed); a batch with a hand-set pole
past ``SMALL_ANGLE`` uses libm's and matches to the bit.
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


# Above this |theta| the kernel uses libm's sin and cos instead of the polynomials below. A
# live game never gets there (it ends past THETA_THRESHOLD and restarts near 0); only a state
# set by hand can.
SMALL_ANGLE = 0.5


@numba.njit(cache=True, inline="always")
def _sin_small(x: float) -> float:
    """sin(x) for |x| <= SMALL_ANGLE: Taylor to x^15 (truncation < 1e-17), within 1 ulp of libm's.

    libm's sin and cos are calls, and a call in the loop keeps LLVM from vectorizing it;
    they were over half of the kernel's time.
    """
    x2 = x * x
    return x * (1.0 + x2 * (-1.0 / 6 + x2 * (1.0 / 120 + x2 * (-1.0 / 5040 + x2 * (
        1.0 / 362880 + x2 * (-1.0 / 39916800 + x2 * (1.0 / 6227020800 + x2 * (-1.0 / 1307674368000))))))))


@numba.njit(cache=True, inline="always")
def _cos_small(x: float) -> float:
    """cos(x) for |x| <= SMALL_ANGLE: Taylor to x^16, within 1 ulp of libm's."""
    x2 = x * x
    return 1.0 + x2 * (-0.5 + x2 * (1.0 / 24 + x2 * (-1.0 / 720 + x2 * (1.0 / 40320 + x2 * (
        -1.0 / 3628800 + x2 * (1.0 / 479001600 + x2 * (-1.0 / 87178291200 + x2 * (1.0 / 20922789888000))))))))


@numba.njit(cache=True, inline="always")
def _force(action: Any, continuous: bool) -> float:
    if continuous:
        return FORCE_MAG * min(max(action, -1.0), 1.0)
    return FORCE_MAG if action == 1 else -FORCE_MAG


@numba.njit(cache=True, inline="always")
def _integrate(state: np.ndarray, i: int, force: float, sintheta: float, costheta: float) -> None:
    """One Euler step of game ``i`` (Gymnasium's equations, in its order)."""
    x, x_dot, theta, theta_dot = state[0, i], state[1, i], state[2, i], state[3, i]
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    state[0, i] = x + TAU * x_dot
    state[1, i] = x_dot + TAU * xacc
    state[2, i] = theta + TAU * theta_dot
    state[3, i] = theta_dot + TAU * thetaacc


@numba.njit(cache=True)
def _reset_game(state: np.ndarray, rng: np.ndarray, obs: np.ndarray, i: int) -> None:
    for k in range(4):
        value = -0.05 + 0.1 * core.uniform(rng, i)
        state[k, i] = value
        obs[i, k] = value


@numba.njit(cache=True, error_model="numpy")
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
    action was not 0 or 1, else 0. ``state`` is ``(4, num_envs)``: one row per variable, so
    that the physics loop runs four games per AVX2 instruction."""
    n = state.shape[1]
    if reset_all:
        for i in range(n):
            _reset_game(state, rng, obs, i)
            ticks[i] = 0
        return 0
    # Pass 1: physics. Branch-free and call-free, so LLVM vectorizes it (error_model="numpy":
    # no ZeroDivisionError check per division).
    small = True
    for i in range(n):
        small &= abs(state[2, i]) <= SMALL_ANGLE
    if small:
        for i in range(n):
            theta = state[2, i]
            _integrate(state, i, _force(actions[i], continuous), _sin_small(theta), _cos_small(theta))
    else:
        for i in range(n):
            theta = state[2, i]
            _integrate(state, i, _force(actions[i], continuous), math.sin(theta), math.cos(theta))
    # Pass 2: observations, flags and the time limit.
    bad = False
    for i in range(n):
        if not continuous:
            bad |= (actions[i] != 0) & (actions[i] != 1)
        x, theta = state[0, i], state[2, i]
        obs[i, 0], obs[i, 1], obs[i, 2], obs[i, 3] = x, state[1, i], theta, state[3, i]
        tick = ticks[i] + 1
        ticks[i] = tick
        rewards[i] = 1.0
        terminals[i] = (
            (x < -X_THRESHOLD) | (x > X_THRESHOLD) | (theta < -THETA_THRESHOLD) | (theta > THETA_THRESHOLD)
        )
        truncations[i] = tick >= max_steps
    # Pass 3: log and restart the games that ended (few per step).
    for i in range(n):
        if terminals[i] or truncations[i]:
            tick = ticks[i]
            core.log_episode(log, i, tick, tick, tick)
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
        # Stored variable-major for the kernel; ``state`` is its (num_envs, 4) view.
        self._state = np.zeros((4, self.num_envs), dtype=np.float64)
        self.ticks = np.zeros(self.num_envs, dtype=np.int64)

    @property
    def state(self) -> np.ndarray:
        """The ``(num_envs, 4)`` state, a writable view: ``env.state[g] = (x, x_dot, theta, theta_dot)``."""
        return self._state.T

    def sync_observations(self) -> None:
        """Copy ``state`` into the observations (after setting ``state`` by hand)."""
        self.observations[:] = self.state

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        if self.continuous:
            actions = actions.reshape(self.num_envs)
        return step_kernel(
            self._state,
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
