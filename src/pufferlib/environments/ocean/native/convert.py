"""Convert: puffers carry resources from factory to factory (multi-agent), a port of PufferLib
3.0's ``puffer_convert``.

Each game is a ``width x height`` pixel field with ``num_agents`` puffers (agent
``g * num_agents + i`` is puffer ``i`` of game ``g``) and ``num_factories`` factories; factory
``f`` takes resource ``f % num_resources``. When a game starts, each puffer gets a random
pixel of ``[16, width) x [16, height)`` and a random resource, then each factory a random
pixel of the same range and a random heading (a whole number of degrees). Every step each
puffer, in index order:

- turns: ``heading += (action[0] - 4) / 12`` (action 0-8), clipped to ``[0, 2 pi]``;
- accelerates: ``speed += action[1] - 2`` (action 0-4), clipped to ``[-20, 20]``;
- moves ``speed`` pixels along its heading, clipped to ``[16, width - 16] x [16, height - 16]``;
- with probability ``1 / num_agents`` (``rand() % num_agents == 0``) is teleported to a
  random pixel of the whole field;
- visits the factories in index order: at each within 32 pixels that takes the resource it
  carries, it converts it into the next resource (``(item + 1) % num_resources``, so one step
  can convert several times) and is rewarded 1 (not more, however many times).

Then every factory moves 2 pixels along its heading; one that leaves ``[16, width - 16] x
[16, height - 16]`` is put back on its edge with a new random heading. The game never ends:
terminals and truncations are always False.

Observations (float32, ``3 * num_resources + 4``): for each resource, the offset ``dx / width``,
``dy / height`` to the nearest factory that takes it (0, 0 without one); the puffer's
``heading / (2 pi)``, this step's reward, ``x / width``, ``y / height``; the resource it
carries, one-hot.

Actions: ``MultiDiscrete([9, 5])``, turn and acceleration.

Episode statistics, as 3.0 logs them: each conversion counts as one "episode" of the puffer,
with ``score`` 1, ``perf`` 1 and ``episode_length`` the steps since its previous conversion
(0 for a second one in the same step). The learning signal is the conversions per step.

The C game's float arithmetic is reproduced exactly (``sinf``/``cosf`` are
``sincos.sincosf``, glibc's algorithm inline).

Differences from PufferLib 3.0:

- The nearest factory of each resource is always observed. 3.0 starts its search from a
  squared distance of 999999 (999.9 pixels): when every factory of a resource is farther,
  it leaves the previous step's offsets in place.
- Each conversion's "episode" has ``episode_return`` 1 (its reward); 3.0 logs 0.
- The observation space is ``Box(-1, 1)``: 3.0 declares ``Box(0, 1)``, but offsets are
  negative half the time.
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
from pufferlib.environments.ocean.native.target import (  # the same puffers as Target's
    ACCEL_DELTA,
    EAT_DD,
    MAX_SPEED,
    SPEEDS,
    TURN_DELTA,
    TURNS,
    clip,
)
from pufferlib.exceptions import APIUsageError

F32 = np.float32
PI = F32(math.pi)  # C: PI, a float literal
TWO_PI = F32(2.0) * PI
EDGE = 16
FACTORY_SPEED = F32(2.0)
MAX_RESOURCES = 8
LOG_PERF = core.LOG_EXTRA
# Rows of the per-game float state: puffers' x, y, heading, speed; factories' x, y, heading.
X, Y, HEADING, SPEED = range(4)


@numba.njit(cache=True, inline="always")
def _factory_heading(rng: np.ndarray, g: int) -> np.float32:
    """C: ``(rand() % 360) * PI / 180.0f``."""
    return F32(core.randint(rng, g, 360)) * PI / F32(180.0)


@numba.njit(cache=True, error_model="numpy")
def _observe(
    agents: np.ndarray,
    items: np.ndarray,
    factories: np.ndarray,
    scratch: np.ndarray,
    rewards: np.ndarray,
    obs: np.ndarray,
    g: int,
    num_resources: int,
    w: np.float32,
    h: np.float32,
) -> None:
    num_agents, num_factories = agents.shape[2], factories.shape[2]
    for a in range(num_agents):
        agent = g * num_agents + a
        x, y = agents[g, X, a], agents[g, Y, a]
        for f in range(num_factories):  # vectorized: the offsets and squared distances
            dx, dy = factories[g, X, f] - x, factories[g, Y, f] - y
            scratch[0, f], scratch[1, f], scratch[2, f] = dx, dy, dx * dx + dy * dy
        for t in range(num_resources):  # the first of the nearest wins, as in C
            best, nearest = F32(np.inf), -1
            for f in range(t, num_factories, num_resources):
                if scratch[2, f] < best:
                    best, nearest = scratch[2, f], f
            if nearest < 0:
                obs[agent, 2 * t], obs[agent, 2 * t + 1] = F32(0.0), F32(0.0)
            else:
                obs[agent, 2 * t] = scratch[0, nearest] / w
                obs[agent, 2 * t + 1] = scratch[1, nearest] / h
        k = 2 * num_resources
        obs[agent, k] = agents[g, HEADING, a] / TWO_PI
        obs[agent, k + 1] = rewards[agent]
        obs[agent, k + 2] = x / w
        obs[agent, k + 3] = y / h
        for t in range(num_resources):
            obs[agent, k + 4 + t] = F32(1.0) if t == items[g, a] else F32(0.0)


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    agents: np.ndarray,
    items: np.ndarray,
    lengths: np.ndarray,
    factories: np.ndarray,
    scratch: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    width: int,
    height: int,
    num_resources: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0.

    ``agents[g]`` (float32) holds the puffers' x, y, heading and speed (one row each),
    ``factories[g]`` the factories' x, y and heading; ``items[g, a]`` is the resource puffer
    ``a`` carries and ``lengths[g, a]`` the steps since its last conversion. ``scratch`` is
    ``(3, max(num_agents, num_factories))``. Terminals and truncations are never set.
    """
    num_games, num_agents, num_factories = agents.shape[0], agents.shape[2], factories.shape[2]
    w, h = F32(width), F32(height)
    lo, hi_x, hi_y = F32(EDGE), F32(width - EDGE), F32(height - EDGE)
    zero = F32(0.0)
    bad = 0
    for g in range(num_games):
        if reset_all:
            for a in range(num_agents):
                agents[g, X, a] = F32(EDGE + core.randint(rng, g, width - EDGE))
                agents[g, Y, a] = F32(EDGE + core.randint(rng, g, height - EDGE))
                items[g, a] = core.randint(rng, g, num_resources)
                lengths[g, a] = 0
                agents[g, HEADING, a], agents[g, SPEED, a] = zero, zero
                rewards[g * num_agents + a] = zero
            for f in range(num_factories):
                factories[g, X, f] = F32(EDGE + core.randint(rng, g, width - EDGE))
                factories[g, Y, f] = F32(EDGE + core.randint(rng, g, height - EDGE))
                factories[g, HEADING, f] = _factory_heading(rng, g)
            _observe(agents, items, factories, scratch, rewards, obs, g, num_resources, w, h)
            continue
        for a in range(num_agents):
            agent = g * num_agents + a
            turn, accel = actions[agent, 0], actions[agent, 1]
            if turn < 0 or turn >= TURNS or accel < 0 or accel >= SPEEDS:
                bad = 1
                turn, accel = 4, 2
            rewards[agent] = zero
            lengths[g, a] += 1
            agents[g, HEADING, a] = clip(agents[g, HEADING, a] + TURN_DELTA[turn], zero, TWO_PI)
            agents[g, SPEED, a] = clip(agents[g, SPEED, a] + ACCEL_DELTA[accel], -MAX_SPEED, MAX_SPEED)
        for a in range(num_agents):  # no calls, no branches: vectorized
            scratch[0, a], scratch[1, a] = sincosf(agents[g, HEADING, a])
        for a in range(num_agents):
            speed = agents[g, SPEED, a]
            agents[g, X, a] = clip(agents[g, X, a] + speed * scratch[1, a], lo, hi_x)
            agents[g, Y, a] = clip(agents[g, Y, a] + speed * scratch[0, a], lo, hi_y)
        # C teleports (one draw per puffer) and converts right after each move; the moves draw
        # nothing and the puffers do not meet, so the draws and results are the same.
        for a in range(num_agents):
            if core.randint(rng, g, num_agents) == 0:
                agents[g, X, a] = F32(core.randint(rng, g, width))
                agents[g, Y, a] = F32(core.randint(rng, g, height))
        for a in range(num_agents):
            agent = g * num_agents + a
            x, y = agents[g, X, a], agents[g, Y, a]
            near = F32(np.inf)
            for f in range(num_factories):  # vectorized: is any factory in reach?
                dx, dy = factories[g, X, f] - x, factories[g, Y, f] - y
                near = min(near, dx * dx + dy * dy)
            if near > EAT_DD:
                continue
            for f in range(num_factories):
                dx, dy = factories[g, X, f] - x, factories[g, Y, f] - y
                if dx * dx + dy * dy <= EAT_DD and f % num_resources == items[g, a]:
                    items[g, a] = (items[g, a] + 1) % num_resources
                    rewards[agent] = F32(1.0)
                    core.log_episode(log, agent, 1.0, lengths[g, a], 1.0)
                    log[agent, LOG_PERF] += 1.0
                    lengths[g, a] = 0
        for f in range(num_factories):
            sine, cosine = sincosf(factories[g, HEADING, f])
            fx = factories[g, X, f] + FACTORY_SPEED * cosine
            fy = factories[g, Y, f] + FACTORY_SPEED * sine
            cx, cy = clip(fx, lo, hi_x), clip(fy, lo, hi_y)
            if cx != fx or cy != fy:
                factories[g, HEADING, f] = _factory_heading(rng, g)
            factories[g, X, f], factories[g, Y, f] = cx, cy
        _observe(agents, items, factories, scratch, rewards, obs, g, num_resources, w, h)
    return bad


class Convert(NativeEnv):
    """``num_envs`` Convert games of ``num_agents`` puffers each (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)
    continuing: ClassVar[bool] = True
    """The game never ends: its "episodes" are the conversions, flagged neither terminal nor truncated."""

    def __init__(
        self,
        num_envs: int = 1,
        width: int = 1920,
        height: int = 1080,
        num_agents: int = 1024,
        num_factories: int = 32,
        num_resources: int = 8,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.width = check_positive_int("width", width, 2 * EDGE + 1)
        self.height = check_positive_int("height", height, 2 * EDGE + 1)
        self.agents_per_game = check_positive_int("num_agents", num_agents)
        self.num_factories = check_positive_int("num_factories", num_factories)
        self.num_resources = check_positive_int("num_resources", num_resources)
        if self.num_resources > MAX_RESOURCES:
            raise APIUsageError(
                f"Convert: num_resources must be in [1, {MAX_RESOURCES}], got {num_resources}."
            )
        size = 3 * self.num_resources + 4
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (size,), np.float32)
        self.single_action_space = gymnasium.spaces.MultiDiscrete([TURNS, SPEEDS])
        super().__init__(num_envs, render_mode, report_interval, buf)
        games, agents = self.num_envs, self.agents_per_game
        self.puffers = np.zeros((games, 4, agents), np.float32)  # x, y, heading, speed
        self.items = np.zeros((games, agents), np.int64)
        self.lengths = np.zeros((games, agents), np.int64)
        self.factories = np.zeros((games, 3, self.num_factories), np.float32)  # x, y, heading
        self._scratch = np.zeros((3, max(agents, self.num_factories)), np.float32)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.puffers,
            self.items,
            self.lengths,
            self.factories,
            self._scratch,
            self.rng,
            actions,
            self.width,
            self.height,
            self.num_resources,
            self.observations,
            self.rewards,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        cols, rows = 64, 18
        grid = [["."] * cols for _ in range(rows)]

        def put(x: float, y: float, char: str) -> None:
            row, col = min(int(y / self.height * rows), rows - 1), min(int(x / self.width * cols), cols - 1)
            grid[row][col] = char

        for a in range(min(self.agents_per_game, 64)):
            put(self.puffers[0, X, a], self.puffers[0, Y, a], chr(ord("a") + int(self.items[0, a])))
        for f in range(self.num_factories):
            put(self.factories[0, X, f], self.factories[0, Y, f], chr(ord("A") + f % self.num_resources))
        return "\n".join("".join(row) for row in grid) + "\n"

    def render_rgb(self) -> np.ndarray:
        scale = 4  # one pixel per 4 x 4 field pixels
        image = draw.canvas(self.height // scale + 1, self.width // scale + 1)
        for f in range(self.num_factories):
            x, y = self.factories[0, X, f] / scale, self.factories[0, Y, f] / scale
            draw.fill_rect(image, y - 8, x - 8, 16, 16, draw.COLOURS["food"])
        for a in range(self.agents_per_game):
            x, y = self.puffers[0, X, a] / scale, self.puffers[0, Y, a] / scale
            draw.fill_rect(image, y - 2, x - 2, 4, 4, draw.COLOURS["agent"])
        return image
