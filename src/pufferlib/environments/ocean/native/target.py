"""Target: puffers steer to stars (multi-agent), a port of PufferLib 3.0's ``puffer_target``.

Each game is a ``width x height`` pixel field with ``num_agents`` puffers (agent
``g * num_agents + i`` is puffer ``i`` of game ``g``) and ``num_goals`` stars, all placed at
random integer pixels (``rand() % width``, ``rand() % height``) when the game starts. Every
step each puffer, in index order:

- turns: ``heading += (action[0] - 4) / 12`` (action 0-8), clipped to ``[0, 2 pi]``;
- accelerates: ``speed += action[1] - 2`` (action 0-4), clipped to ``[-20, 20]``;
- moves ``speed`` pixels along its heading, clipped to the field (``[0, width] x [0, height]``);
- every 512th step since its last star it is teleported to a random pixel.

Then each puffer, in index order, eats every star within 32 pixels (distance rounded to float
as the C game rounds it): reward 1 (not more, however many it eats), and the star reappears
at a random pixel (a later puffer may eat it again in the same step). The game never ends:
terminals and truncations are always False.

Observations (float32, ``2 * (num_goals + num_agents) + 4``): for each star then each puffer
(itself included), its offset from the puffer, ``dx / width`` and ``dy / height``; then the
puffer's ``heading / (2 pi)``, this step's reward, ``x / width`` and ``y / height``.

Actions: ``MultiDiscrete([9, 5])``, turn and acceleration.

Episode statistics, as 3.0 logs them: each star eaten counts as one "episode" of the puffer
that ate it, with ``episode_return`` 1, ``score`` 1, ``perf`` 1 and ``episode_length`` the
steps since that puffer's previous star (0 for a second star in the same step). So the
learning signal is ``episode_length``, the steps per star (lower is better).

The C game's float arithmetic is reproduced exactly (a recorded C game replays bit for bit):
``sinf``/``cosf`` are ``sincos.sincosf`` (glibc's algorithm, inline and vectorized).

Differences from PufferLib 3.0:

- The observation space is ``Box(-1, 1)``: 3.0 declares ``Box(0, 1)``, but offsets to the
  other puffers and stars are negative half the time.
- ``reset()`` starts every puffer at rest (heading and speed 0) with no reward in its first
  observation; 3.0's reset keeps the heading, speed and last reward of the previous run.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.environments.ocean.native.sincos import sincosf

F32 = np.float32
TWO_PI = F32(2.0) * F32(math.pi)  # C: 2*PI, PI a float literal
TURNS, SPEEDS = 9, 5
# C: heading += ((float)action - 4.0f) / 12.0f and speed += 1.0f * ((float)action - 2.0f),
# tabulated (the same float32 values, without a division per step).
TURN_DELTA = (np.arange(TURNS, dtype=np.float32) - F32(4.0)) / F32(12.0)
ACCEL_DELTA = np.arange(SPEEDS, dtype=np.float32) - F32(2.0)
MAX_SPEED = F32(20.0)
TELEPORT_TICKS = 512
# C eats a star when (float)sqrt(dx*dx + dy*dy) <= 32: the float distance of a squared
# distance up to 1024 + 2**-13 (the next float above 1024) rounds to 32, so eaten means
# dd <= 1024 + 2**-13 (checked against the rounded sqrt in the tests).
EAT_DD = F32(1024.0 + 2.0**-13)
LOG_PERF = core.LOG_EXTRA


@numba.njit(cache=True, inline="always")
def clip(value: np.float32, low: np.float32, high: np.float32) -> np.float32:
    """C's ``clip``: ``low`` below it, ``high`` above it (so that -0.0 stays -0.0)."""
    if value < low:
        return low
    if value > high:
        return high
    return value


@numba.njit(cache=True, error_model="numpy")
def _observe(
    state: np.ndarray, scratch: np.ndarray, rewards: np.ndarray, obs: np.ndarray, g: int, num_agents: int
) -> None:
    # The (x, y) pairs of the stars then the puffers lead each game's state row, in the
    # observation's order: the offsets are one contiguous loop, ``(p[k] - here[k]) / size[k]``
    # with ``here`` the observer's (x, y) repeated (scratch[0]) and ``size`` (width, height)
    # repeated (scratch[1]), which LLVM vectorizes. Rows are indexed, not sliced: a slice
    # costs reference counting.
    n = scratch.shape[1]
    first, heading = n - 2 * num_agents, n
    for a in range(num_agents):
        agent = g * num_agents + a
        x, y = state[g, first + 2 * a], state[g, first + 2 * a + 1]
        for k in range(0, n, 2):
            scratch[0, k] = x
            scratch[0, k + 1] = y
        for k in range(n):
            obs[agent, k] = (state[g, k] - scratch[0, k]) / scratch[1, k]
        obs[agent, n] = state[g, heading + a] / TWO_PI
        obs[agent, n + 1] = rewards[agent]
        obs[agent, n + 2] = x / scratch[1, 0]
        obs[agent, n + 3] = y / scratch[1, 1]


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    state: np.ndarray,
    ticks: np.ndarray,
    scratch: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    width: int,
    height: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0.

    ``state[g]`` (float32) is the (x, y) of each star then each puffer, then the puffers'
    headings, then their speeds. ``ticks[g, a]`` counts
    the steps since puffer ``a``'s last star. ``scratch`` is ``(2, 2 * (num_goals +
    num_agents))``, ``scratch[1]`` (width, height) repeated. Terminals and truncations are
    never set (``reset`` clears them).
    """
    num_games, num_agents = ticks.shape[0], ticks.shape[1]
    n = scratch.shape[1]
    first, num_goals = n - 2 * num_agents, (n - 2 * num_agents) // 2
    heading, speed = n, n + num_agents
    w, h = F32(width), F32(height)
    zero = F32(0.0)
    if reset_all:
        for g in range(num_games):
            for a in range(num_agents):
                state[g, first + 2 * a] = F32(core.randint(rng, g, width))
                state[g, first + 2 * a + 1] = F32(core.randint(rng, g, height))
                ticks[g, a] = 0
                state[g, heading + a] = zero
                state[g, speed + a] = zero
                rewards[g * num_agents + a] = zero
            for j in range(num_goals):
                state[g, 2 * j] = F32(core.randint(rng, g, width))
                state[g, 2 * j + 1] = F32(core.randint(rng, g, height))
            _observe(state, scratch, rewards, obs, g, num_agents)
        return 0
    bad = 0
    for g in range(num_games):
        for a in range(num_agents):
            agent = g * num_agents + a
            turn, accel = actions[agent, 0], actions[agent, 1]
            if turn < 0 or turn >= TURNS or accel < 0 or accel >= SPEEDS:
                bad = 1
                turn, accel = 4, 2
            rewards[agent] = zero
            ticks[g, a] += 1
            state[g, heading + a] = clip(state[g, heading + a] + TURN_DELTA[turn], zero, TWO_PI)
            state[g, speed + a] = clip(state[g, speed + a] + ACCEL_DELTA[accel], -MAX_SPEED, MAX_SPEED)
        for a in range(num_agents):  # no calls, no branches, one array written: vectorized
            scratch[0, 2 * a], scratch[0, 2 * a + 1] = sincosf(state[g, heading + a])
        for a in range(num_agents):
            sp, px = state[g, speed + a], first + 2 * a
            state[g, px] = clip(state[g, px] + sp * scratch[0, 2 * a + 1], zero, w)
            state[g, px + 1] = clip(state[g, px + 1] + sp * scratch[0, 2 * a], zero, h)
        for a in range(num_agents):  # C teleports right after each move: the same draws
            if ticks[g, a] % TELEPORT_TICKS == 0:
                state[g, first + 2 * a] = F32(core.randint(rng, g, width))
                state[g, first + 2 * a + 1] = F32(core.randint(rng, g, height))
        for a in range(num_agents):
            agent = g * num_agents + a
            px, py = first + 2 * a, first + 2 * a + 1
            for j in range(num_goals):
                dx, dy = state[g, 2 * j] - state[g, px], state[g, 2 * j + 1] - state[g, py]
                if dx * dx + dy * dy > EAT_DD:
                    continue
                state[g, 2 * j] = F32(core.randint(rng, g, width))
                state[g, 2 * j + 1] = F32(core.randint(rng, g, height))
                rewards[agent] = F32(1.0)
                core.log_episode(log, agent, 1.0, ticks[g, a], 1.0)
                log[agent, LOG_PERF] += 1.0
                ticks[g, a] = 0
        _observe(state, scratch, rewards, obs, g, num_agents)
    return bad


class Target(NativeEnv):
    """``num_envs`` Target games of ``num_agents`` puffers each (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)
    continuing: ClassVar[bool] = True
    """The game never ends: its "episodes" are the stars eaten, flagged neither terminal nor truncated."""

    def __init__(
        self,
        num_envs: int = 1,
        width: int = 1080,
        height: int = 720,
        num_agents: int = 8,
        num_goals: int = 4,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.width = check_positive_int("width", width)
        self.height = check_positive_int("height", height)
        self.num_goals = check_positive_int("num_goals", num_goals)
        self.agents_per_game = check_positive_int("num_agents", num_agents)
        size = 2 * (self.num_goals + self.agents_per_game) + 4
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (size,), np.float32)
        self.single_action_space = gymnasium.spaces.MultiDiscrete([TURNS, SPEEDS])
        super().__init__(num_envs, render_mode, report_interval, buf)
        games, agents, goals = self.num_envs, self.agents_per_game, self.num_goals
        pairs = 2 * (goals + agents)
        # One float32 row per game (see step_kernel); the named arrays below are views of it.
        self.state = np.zeros((games, pairs + 2 * agents), np.float32)
        self.goal_x, self.goal_y = self.state[:, 0 : 2 * goals : 2], self.state[:, 1 : 2 * goals : 2]
        self.x, self.y = self.state[:, 2 * goals : pairs : 2], self.state[:, 2 * goals + 1 : pairs : 2]
        self.heading = self.state[:, pairs : pairs + agents]
        self.speed = self.state[:, pairs + agents : pairs + 2 * agents]
        self.ticks = np.zeros((games, agents), np.int64)
        self._scratch = np.zeros((2, pairs), np.float32)
        self._scratch[1] = np.tile(np.array([self.width, self.height], np.float32), goals + agents)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.state,
            self.ticks,
            self._scratch,
            self.rng,
            actions,
            self.width,
            self.height,
            self.observations,
            self.rewards,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        cols, rows = 54, 18  # one character per 20 x 40 pixels (at the default size)
        grid = [["."] * cols for _ in range(rows)]

        def put(x: float, y: float, char: str) -> None:
            r = min(int(y / self.height * rows), rows - 1)
            c = min(int(x / self.width * cols), cols - 1)
            grid[r][c] = char

        for x, y in zip(self.goal_x[0], self.goal_y[0]):
            put(x, y, "*")
        for a, (x, y) in enumerate(zip(self.x[0], self.y[0])):
            put(x, y, chr(ord("a") + a % 26))
        return "\n".join("".join(row) for row in grid) + "\n"

    def render_rgb(self) -> np.ndarray:
        scale = 4  # one pixel per 4 x 4 field pixels
        image = draw.canvas(self.height // scale + 1, self.width // scale + 1)
        for x, y in zip(self.goal_x[0], self.goal_y[0]):
            draw.fill_rect(image, y / scale - 4, x / scale - 4, 8, 8, draw.COLOURS["food"])
        for x, y in zip(self.x[0], self.y[0]):
            draw.fill_rect(image, y / scale - 3, x / scale - 3, 6, 6, draw.COLOURS["agent"])
        return image
