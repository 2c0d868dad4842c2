"""Snake: many snakes in one grid (multi-agent), ``num_envs`` grids per kernel call.

Each grid is ``height x width`` cells with a wall on its border, ``num_snakes`` snakes (one
agent each, agent ``g * num_snakes + s`` is snake ``s`` of grid ``g``) and ``num_food``
pieces of food. Every step the snakes of a grid move in index order, one cell up, down,
left or right (actions 0-3). A snake that enters food gets ``reward_food`` and grows by one
cell (up to ``max_snake_length``), and new food appears on a random empty cell. A snake that
enters a wall or any snake's body (its own included) gets ``reward_death``, its episode
terminates, its body vanishes and it respawns, one cell long, on a random empty cell. An
episode also ends (truncation) after ``max_episode_steps`` steps.

Observations: the ``(2 * vision + 1)^2`` cells around the snake's head, as uint8 codes
``0`` empty, ``1`` food, ``2`` wall (also outside the grid), ``3`` its own body, ``4``
another snake. Episode stats: ``score`` is the snake's final length.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

EMPTY, FOOD, WALL, SELF, OTHER = 0, 1, 2, 3, 4
# Grid cells hold SNAKE_BASE + snake index for snake bodies.
SNAKE_BASE = 3
MOVES = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)], dtype=np.int64)  # up, down, left, right
_MAX_TRIES = 1000


@numba.njit(cache=True)
def _empty_cell(grid: np.ndarray, rng: np.ndarray, g: int, pad: int) -> tuple[int, int]:
    """A random empty cell of grid ``g`` (rejection sampling; (-1, -1) if none was found)."""
    rows, cols = grid.shape[1] - 2 * pad, grid.shape[2] - 2 * pad
    for _ in range(_MAX_TRIES):
        r = pad + core.randint(rng, g, rows)
        c = pad + core.randint(rng, g, cols)
        if grid[g, r, c] == EMPTY:
            return r, c
    return -1, -1


@numba.njit(cache=True)
def _spawn(
    grid: np.ndarray,
    body: np.ndarray,
    head: np.ndarray,
    length: np.ndarray,
    rng: np.ndarray,
    g: int,
    s: int,
    pad: int,
) -> None:
    r, c = _empty_cell(grid, rng, g, pad)
    if r < 0:  # a full grid: the snake waits outside it (length 0) until the next death frees room
        length[g, s] = 0
        return
    grid[g, r, c] = SNAKE_BASE + s
    head[g, s] = 0
    body[g, s, 0, 0] = r
    body[g, s, 0, 1] = c
    length[g, s] = 1


@numba.njit(cache=True)
def _place_food(grid: np.ndarray, rng: np.ndarray, g: int, pad: int) -> None:
    r, c = _empty_cell(grid, rng, g, pad)
    if r >= 0:
        grid[g, r, c] = FOOD


@numba.njit(cache=True)
def _observe(
    grid: np.ndarray,
    body: np.ndarray,
    head: np.ndarray,
    length: np.ndarray,
    codes: np.ndarray,
    obs: np.ndarray,
    vision: int,
    g: int,
) -> None:
    # The grid is padded with ``vision`` wall cells on every side: windows never leave it.
    # ``codes`` maps cell values to observation codes (every snake OTHER); the observing
    # snake's own value is switched to SELF while it looks: a lookup, not a branch per cell.
    num_snakes = body.shape[1]
    side = 2 * vision + 1
    for s in range(num_snakes):
        agent = g * num_snakes + s
        if length[g, s] == 0:
            obs[agent, :] = WALL
            continue
        top, left = body[g, s, head[g, s], 0] - vision, body[g, s, head[g, s], 1] - vision
        codes[SNAKE_BASE + s] = SELF
        for dr in range(side):
            row = grid[g, top + dr]
            out = obs[agent, dr * side : (dr + 1) * side]
            for dc in range(side):
                out[dc] = codes[row[left + dc]]
        codes[SNAKE_BASE + s] = OTHER


@numba.njit(cache=True)
def step_kernel(
    grid: np.ndarray,
    body: np.ndarray,
    head: np.ndarray,
    length: np.ndarray,
    ticks: np.ndarray,
    returns: np.ndarray,
    rng: np.ndarray,
    codes: np.ndarray,
    actions: np.ndarray,
    num_food: int,
    vision: int,
    reward_food: float,
    reward_death: float,
    max_steps: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every grid one step (``reset_all``: start every grid instead); 1 if an action
    was out of range, else 0."""
    num_grids, num_snakes, rows, cols = grid.shape[0], body.shape[1], grid.shape[1], grid.shape[2]
    cap = body.shape[2]
    if reset_all:
        for g in range(num_grids):
            grid[g, :, :] = WALL
            grid[g, vision : rows - vision, vision : cols - vision] = EMPTY
            for s in range(num_snakes):
                _spawn(grid, body, head, length, rng, g, s, vision)
                ticks[g * num_snakes + s] = 0
                returns[g * num_snakes + s] = 0.0
            for _ in range(num_food):
                _place_food(grid, rng, g, vision)
            _observe(grid, body, head, length, codes, obs, vision, g)
        return 0
    bad = 0
    for g in range(num_grids):
        for s in range(num_snakes):
            agent = g * num_snakes + s
            action = actions[agent]
            if action < 0 or action > 3:
                bad = 1
                action = 0
            reward = 0.0
            terminal = False
            if length[g, s] == 0:  # waiting for room to respawn
                _spawn(grid, body, head, length, rng, g, s, vision)
            else:
                h = head[g, s]
                r = body[g, s, h, 0] + MOVES[action, 0]
                c = body[g, s, h, 1] + MOVES[action, 1]
                cell = grid[g, r, c]
                if cell == WALL or cell >= SNAKE_BASE:
                    reward = reward_death
                    terminal = True
                else:
                    if cell == FOOD:
                        reward = reward_food
                    if cell == FOOD and length[g, s] < cap:
                        length[g, s] += 1
                    else:  # the tail moves on
                        tail = (h - length[g, s] + 1) % cap
                        grid[g, body[g, s, tail, 0], body[g, s, tail, 1]] = EMPTY
                    h = (h + 1) % cap
                    head[g, s] = h
                    body[g, s, h, 0] = r
                    body[g, s, h, 1] = c
                    grid[g, r, c] = SNAKE_BASE + s
                    if cell == FOOD:
                        _place_food(grid, rng, g, vision)
            tick = ticks[agent] + 1
            episode_return = returns[agent] + reward
            truncated = tick >= max_steps and not terminal
            rewards[agent] = reward
            terminals[agent] = terminal
            truncations[agent] = truncated
            if terminal or truncated:
                core.log_episode(log, agent, episode_return, tick, length[g, s])
                for k in range(length[g, s]):  # the body vanishes
                    idx = (head[g, s] - k) % cap
                    grid[g, body[g, s, idx, 0], body[g, s, idx, 1]] = EMPTY
                length[g, s] = 0
                _spawn(grid, body, head, length, rng, g, s, vision)
                tick = 0
                episode_return = 0.0
            ticks[agent] = tick
            returns[agent] = episode_return
        _observe(grid, body, head, length, codes, obs, vision, g)
    return bad


class Snake(NativeEnv):
    """``num_envs`` grids of ``num_snakes`` snakes each (see the module docstring)."""

    def __init__(
        self,
        num_envs: int = 1,
        width: int = 20,
        height: int = 20,
        num_snakes: int = 4,
        num_food: int = 8,
        vision: int = 4,
        max_snake_length: int = 64,
        reward_food: float = 0.1,
        reward_death: float = -1.0,
        max_episode_steps: int = 1000,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.width = check_positive_int("width", width, 4)
        self.height = check_positive_int("height", height, 4)
        self.num_snakes = check_positive_int("num_snakes", num_snakes)
        self.num_food = check_positive_int("num_food", num_food, 0)
        self.vision = check_positive_int("vision", vision)
        self.max_snake_length = check_positive_int("max_snake_length", max_snake_length)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
        if max(self.width, self.height) + 2 * self.vision > np.iinfo(np.int16).max:
            raise APIUsageError(f"Snake: width and height must stay below {np.iinfo(np.int16).max // 2}.")
        interior = (self.width - 2) * (self.height - 2)
        if self.num_snakes + self.num_food > interior // 2:
            raise APIUsageError(
                f"Snake: {self.num_snakes} snakes and {self.num_food} food need at least twice as many "
                f"free cells; a {self.height}x{self.width} grid has {interior}. Use a larger grid."
            )
        self.reward_food, self.reward_death = float(reward_food), float(reward_death)
        self.agents_per_game = self.num_snakes
        side = 2 * self.vision + 1
        self.single_observation_space = gymnasium.spaces.Box(0, OTHER, (side * side,), np.uint8)
        self.single_action_space = gymnasium.spaces.Discrete(4)
        super().__init__(num_envs, render_mode, report_interval, buf)
        g, s = self.num_envs, self.num_snakes
        # The playing field is the (height - 2) x (width - 2) interior, padded with ``vision``
        # wall cells on every side so that observation windows never leave the array.
        pad = self.vision
        self.grid = np.zeros((g, self.height - 2 + 2 * pad, self.width - 2 + 2 * pad), dtype=np.uint8)
        self.body = np.zeros((g, s, self.max_snake_length, 2), dtype=np.int16)  # small: cache-friendly
        self.head = np.zeros((g, s), dtype=np.int64)
        self.length = np.zeros((g, s), dtype=np.int64)
        self.ticks = np.zeros(g * s, dtype=np.int64)
        self.returns = np.zeros(g * s, dtype=np.float64)
        self._codes = np.full(SNAKE_BASE + s, OTHER, dtype=np.uint8)
        self._codes[:SNAKE_BASE] = (EMPTY, FOOD, WALL)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.grid,
            self.body,
            self.head,
            self.length,
            self.ticks,
            self.returns,
            self.rng,
            self._codes,
            actions,
            self.num_food,
            self.vision,
            self.reward_food,
            self.reward_death,
            self.max_episode_steps,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def _field(self) -> np.ndarray:
        """The first grid with a one-cell wall border (the padding beyond it cut off)."""
        cut = self.vision - 1
        return self.grid[0, cut : self.grid.shape[1] - cut, cut : self.grid.shape[2] - cut]

    def render_ansi(self) -> str:
        chars = {EMPTY: " ", FOOD: "*", WALL: "#"}
        lines = []
        for row in self._field():
            lines.append("".join(chars.get(int(v), chr(ord("a") + (int(v) - SNAKE_BASE) % 26)) for v in row))
        lengths = " ".join(f"{chr(ord('a') + s % 26)}={int(n)}" for s, n in enumerate(self.length[0]))
        return "\n".join(lines) + f"\nlengths: {lengths}\n"

    def render_rgb(self) -> np.ndarray:
        codes = np.minimum(self._field(), SNAKE_BASE + 1)
        palette = {
            EMPTY: draw.BACKGROUND,
            FOOD: draw.COLOURS["food"],
            WALL: draw.COLOURS["wall"],
            SNAKE_BASE: draw.COLOURS["agent"],
            SNAKE_BASE + 1: draw.COLOURS["other"],
        }
        return draw.grid_image(codes, palette, cell_pixels=8)
