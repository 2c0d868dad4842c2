"""Boids: a flock of puffers learns to keep its distance (multi-agent), a port of PufferLib 3.0's
``puffer_boids``.

Each game is a 1080 x 720 pixel field with ``num_boids`` boids (agent ``g * num_boids + i`` is
boid ``i`` of game ``g``), each starting at rest at a uniform random point of
``[50, 1030] x [50, 670]``. Every step each boid, in index order (so boid ``i`` sees boids
``< i`` already moved this step, the others not yet):

- accelerates: ``velocity += action - 2`` halved, per axis (action 0-4: -1, -0.5, 0, 0.5, 1
  pixels per step), each component clipped to ``[-5, 5]``;
- moves by its velocity, clipped to ``[0, 1048] x [0, 688]`` (the field less a boid's size);
- is rewarded: ``-avoid_factor * min(crowded / 5, 1)``, ``crowded`` the number of other boids
  closer than 100 pixels (when there is one); ``-margin_turn_factor`` when it is within 50
  pixels of the top or bottom edge, else ``+margin_turn_factor``, and the same again for the
  left and right edges; the sum halved.

The game never ends: terminals and truncations are always False.

Observations (float32, ``4 * num_boids``): for every boid ``j`` (itself included), its offset
from the observing boid, ``dx / 1080``, ``dy / 720``, and their velocity difference, ``dvx / 5``,
``dvy / 5``.

Actions: ``MultiDiscrete([5, 5])``, the x and y acceleration.

Episode statistics: 3.0 logs, every step, one sample per game, ``score`` = boid 0's reward
(its other fields are 0). Here every boid's every step is a one-step "episode": ``score`` and
``episode_return`` its reward, ``episode_length`` 1. The mean ``score`` is the mean reward
per boid-step.

As in 3.0, ``matching_factor`` and ``centering_factor`` change nothing: 3.0 applies them to
the boids between its "visual range" (20 pixels) and its "protected range" (100 pixels),
none, the visual range being the smaller; they are accepted for 3.0's configurations.
3.0's C game takes float actions (and a mouse-controlled mode) but its Python class, which
everyone trains, the discrete ones above: so does this port.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

F32 = np.float32
WIDTH, HEIGHT = 1080, 720
MARGIN = 50
BOID_SIZE = 32
VELOCITY_CAP = F32(5.0)
AVOID_RANGE = 100.0
ACCELERATIONS = 5
# 3.0's Python class maps action a to (a - 2) / 4 and its C game adds twice that.
ACCEL = (F32(2.0) * ((np.arange(ACCELERATIONS, dtype=np.float32) - F32(2.0)) / F32(4.0))).astype(np.float32)
# C: flclip(crowded / 5.0, 0, 1), the double rounded to float, for 0..5 (and more) neighbours.
CROWDING = np.minimum(np.arange(6) / 5.0, 1.0).astype(np.float32)


def _avoid_dd() -> np.float32:
    """The smallest float squared distance whose float ``sqrtf`` is not below 100 pixels.

    C counts a neighbour when ``sqrtf(dx*dx + dy*dy) < 100``; ``sqrtf`` is correctly rounded
    and monotonic, so that is ``dx*dx + dy*dy < AVOID_DD``, without a square root per pair.
    """
    dd = np.float32(AVOID_RANGE * AVOID_RANGE)
    while np.sqrt(np.nextafter(dd, F32(0.0))) >= AVOID_RANGE:
        dd = np.nextafter(dd, F32(0.0))
    while np.sqrt(dd) < AVOID_RANGE:
        dd = np.nextafter(dd, F32(math.inf))
    return dd


AVOID_DD = _avoid_dd()


@numba.njit(cache=True, inline="always")
def flclip(value: np.float32, low: np.float32, high: np.float32) -> np.float32:
    """C's ``flclip``: ``flmin(high, flmax(low, value))``."""
    above = low if low > value else value
    return above if high > above else high


@numba.njit(cache=True, inline="always")
def _uniform(rng: np.ndarray, g: int, low: np.float32, high: np.float32) -> np.float32:
    """C's ``rndf(low, high)``: ``low + (float)rand() / (float)RAND_MAX * (high - low)``."""
    return low + F32(core.rand31(rng, g)) / F32(core.RAND_MAX) * (high - low)


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    state: np.ndarray,
    scratch: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    factors: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0.

    ``state[g]`` (float32) holds each boid's x, y, vx, vy in turn, the observation's order;
    ``scratch`` is ``(2, 4 * num_boids)``, ``scratch[1]`` (1080, 720, 5, 5) repeated.
    ``factors``: margin_turn_factor, avoid_factor (float32). Terminals and truncations are
    never set (``reset`` clears them).
    """
    num_games, n = state.shape[0], state.shape[1]
    num_boids = n // 4
    zero = F32(0.0)
    margin, avoid = factors[0], factors[1]
    lo_x, lo_y = F32(MARGIN), F32(MARGIN)
    hi_x, hi_y = F32(WIDTH - MARGIN), F32(HEIGHT - MARGIN)
    max_x, max_y = F32(WIDTH - BOID_SIZE), F32(HEIGHT - BOID_SIZE)
    width, height = F32(WIDTH), F32(HEIGHT)
    bad = 0
    for g in range(num_games):
        if reset_all:
            for i in range(num_boids):
                state[g, 4 * i] = _uniform(rng, g, lo_x, hi_x)
                state[g, 4 * i + 1] = _uniform(rng, g, lo_y, hi_y)
                state[g, 4 * i + 2] = zero
                state[g, 4 * i + 3] = zero
        else:
            for i in range(num_boids):
                agent = g * num_boids + i
                ax, ay = actions[agent, 0], actions[agent, 1]
                if ax < 0 or ax >= ACCELERATIONS or ay < 0 or ay >= ACCELERATIONS:
                    bad = 1
                    ax, ay = 2, 2
                vx = flclip(state[g, 4 * i + 2] + ACCEL[ax], -VELOCITY_CAP, VELOCITY_CAP)
                vy = flclip(state[g, 4 * i + 3] + ACCEL[ay], -VELOCITY_CAP, VELOCITY_CAP)
                x = flclip(state[g, 4 * i] + vx, zero, max_x)
                y = flclip(state[g, 4 * i + 1] + vy, zero, max_y)
                state[g, 4 * i], state[g, 4 * i + 1], state[g, 4 * i + 2], state[g, 4 * i + 3] = x, y, vx, vy
                crowded = 1  # itself included (distance 0): one too many
                if num_boids > 1:
                    crowded = 0
                    for j in range(num_boids):
                        dx, dy = x - state[g, 4 * j], y - state[g, 4 * j + 1]
                        crowded += dx * dx + dy * dy < AVOID_DD
                reward = zero
                if crowded > 1:
                    reward -= CROWDING[min(crowded - 1, 5)] * avoid
                reward += -margin if y < lo_y or y > hi_y else margin
                reward += -margin if x < lo_x or x > hi_x else margin
                reward = reward / F32(2.0)
                rewards[agent] = reward
                core.log_episode(log, agent, reward, 1.0, reward)
        for i in range(num_boids):  # observations (the four lanes of a boid: one SIMD operation)
            agent = g * num_boids + i
            x, y, vx, vy = state[g, 4 * i], state[g, 4 * i + 1], state[g, 4 * i + 2], state[g, 4 * i + 3]
            for j in range(num_boids):
                obs[agent, 4 * j] = (state[g, 4 * j] - x) / width
                obs[agent, 4 * j + 1] = (state[g, 4 * j + 1] - y) / height
                obs[agent, 4 * j + 2] = (state[g, 4 * j + 2] - vx) / VELOCITY_CAP
                obs[agent, 4 * j + 3] = (state[g, 4 * j + 3] - vy) / VELOCITY_CAP
    return bad


class Boids(NativeEnv):
    """``num_envs`` flocks of ``num_boids`` boids each (see the module docstring)."""

    continuing: ClassVar[bool] = True
    """The game never ends: its "episodes" are single boid-steps, flagged neither terminal nor truncated."""

    def __init__(
        self,
        num_envs: int = 1,
        num_boids: int = 1,
        margin_turn_factor: float = 1.0,
        centering_factor: float = 0.0,
        avoid_factor: float = 0.0,
        matching_factor: float = 0.0,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.agents_per_game = check_positive_int("num_boids", num_boids)
        self.num_boids = self.agents_per_game
        factors = {
            "margin_turn_factor": margin_turn_factor,
            "centering_factor": centering_factor,
            "avoid_factor": avoid_factor,
            "matching_factor": matching_factor,
        }
        for name, value in factors.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise APIUsageError(f"Boids: {name} must be a finite number, got {value!r}.")
        self.margin_turn_factor, self.avoid_factor = float(margin_turn_factor), float(avoid_factor)
        self.centering_factor, self.matching_factor = float(centering_factor), float(matching_factor)
        size = 4 * self.num_boids
        self.single_observation_space = gymnasium.spaces.Box(-1000.0, 1000.0, (size,), np.float32)
        self.single_action_space = gymnasium.spaces.MultiDiscrete([ACCELERATIONS, ACCELERATIONS])
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, 4 * self.num_boids), np.float32)
        self.boids = self.state.reshape(self.num_envs, self.num_boids, 4)  # x, y, vx, vy (a view)
        self._scratch = np.zeros((2, 4 * self.num_boids), np.float32)
        scales = np.array([WIDTH, HEIGHT, VELOCITY_CAP, VELOCITY_CAP], np.float32)
        self._scratch[1] = np.tile(scales, self.num_boids)
        self._factors = np.array([self.margin_turn_factor, self.avoid_factor], np.float32)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.state,
            self._scratch,
            self.rng,
            actions,
            self._factors,
            self.observations,
            self.rewards,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        cols, rows = 54, 18  # one character per 20 x 40 pixels
        grid = [["."] * cols for _ in range(rows)]
        for x, y, vx, _ in self.boids[0]:
            grid[min(int(y / HEIGHT * rows), rows - 1)][min(int(x / WIDTH * cols), cols - 1)] = (
                ">" if vx > 0 else "<"
            )
        return "\n".join("".join(row) for row in grid) + "\n"

    def render_rgb(self) -> np.ndarray:
        scale = 4  # one pixel per 4 x 4 field pixels
        image = draw.canvas(HEIGHT // scale, WIDTH // scale)
        side = BOID_SIZE / scale
        for x, y, _, _ in self.boids[0]:
            draw.fill_rect(image, y / scale, x / scale, side, side, draw.COLOURS["agent"])
        return image
