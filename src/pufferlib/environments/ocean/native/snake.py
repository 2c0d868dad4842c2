"""Snake: many snakes in one large grid (multi-agent), ``num_envs`` grids per kernel call.

A port of PufferLib 3.0.0's ``puffer_snake``. Each grid is ``height x width`` cells whose
outer ``vision`` rings are wall, with ``num_snakes`` snakes (agent ``g * num_snakes + s`` is
snake ``s`` of grid ``g``) and ``num_food`` pieces of food. Every step the snakes of a grid
move in index order, one cell up, down, left or right (actions 0-3); an action into the
snake's own neck moves it straight on instead. The cell it enters decides:

- wall or any snake's body (its own tail included): reward ``reward_death``, the snake's
  episode terminates and it respawns at once, one cell long, on a random free cell. With
  ``leave_corpse_on_death`` every other cell of its body becomes a corpse (cell ``k`` from
  the head, ``k = 0`` the head, when ``length - k`` is even);
- food: reward ``reward_food``, the snake grows by one cell, and new food appears on a
  random free cell (empty or corpse);
- a corpse: reward ``reward_corpse``, the snake grows (no new food);
- empty: reward 0.

A snake grows up to ``max_snake_length - 1`` cells (``max_snake_length`` is capped at
``width * height``). Random cells are drawn as 3.0 draws them: ``rand() % (height - 1)``,
then ``rand() % (width - 1)``, again until the cell is empty or a corpse. There is no time
limit: a snake's episode lasts until it dies.

Observations (int8, ``(2 * vision + 1, 2 * vision + 1)``): the grid cells around the
snake's head, as 3.0 stores them: 0 empty, 1 food, 2 corpse, 3 wall, and for a snake's body
its colour: 7 for snake 0, ``4 + s % 4`` for snake ``s >= 1``. Episode stats: ``score`` is
the snake's length when it died, ``perf`` its length per step lived.

Differences from PufferLib 3.0
------------------------------
- A death is a terminal (``terminals[agent] = True``). 3.0 never sets its terminal flags:
  a snake's deaths show only as the -1 reward, and values bootstrap across lives.
- The neck rule holds on every move. 3.0 finds the neck in the slot before the head's in
  one array of all snakes' circular buffers, without wrapping per snake: when the head of
  snake ``s >= 1`` is in slot 0 (once every ``max_snake_length`` moves of a life), it reads
  the last slot of snake ``s - 1`` instead, so the snake dies if it turns into its neck
  then (and a new, one-cell snake moves the opposite way if it steps onto the cell found
  there).
- ``num_envs`` is the number of grids in this object, each seeded with ``seed + g *
  num_snakes`` (3.0 seeds its env ``i`` with ``i + seed * num_envs``).
- Where no free cell is left for new food (a grid full of snakes), the food is not placed;
  3.0 loops forever. Arguments that leave no room for the snakes and food at reset are errors.
- The observation space is ``Box(0, 7)``: 3.0 declares ``Box(0, 2)`` and writes up to 7.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

EMPTY, FOOD, CORPSE, WALL = 0, 1, 2, 3
COLOURS = 4  # snake colours are 4..7; every code >= WALL kills
LOG_PERF = core.LOG_EXTRA
# Rejection sampling tries before checking that a free cell exists at all (a full grid).
_CHECK_AFTER = 1 << 16


def snake_colour(s: int) -> int:
    """Snake ``s``'s cell code (3.0's ``snake_colors``): 7 for snake 0, ``4 + s % 4`` after."""
    return 7 if s == 0 else COLOURS + s % 4


@numba.njit(cache=True)
def _free_cell(grid: np.ndarray, rng: np.ndarray, g: int, height: int, width: int) -> int:
    """A random empty-or-corpse cell of grid ``g``, drawn as 3.0 draws it; -1 if none is left."""
    tries = 0
    while True:
        r = core.randint(rng, g, height - 1)
        c = core.randint(rng, g, width - 1)
        cell = r * width + c
        code = grid[g, cell]
        if code in (EMPTY, CORPSE):
            return cell
        tries += 1
        if tries == _CHECK_AFTER:
            tries = 0
            free = False
            for rr in range(height - 1):
                for cc in range(width - 1):
                    code = grid[g, rr * width + cc]
                    free |= code in (EMPTY, CORPSE)
            if not free:
                return -1


@numba.njit(cache=True)
def _delete(
    grid: np.ndarray, body: np.ndarray, head: np.ndarray, length: np.ndarray, g: int, s: int, corpses: bool
) -> None:
    """Clear snake ``s``'s body from the head back, leaving corpses on every other cell."""
    cap = body.shape[2]
    h = head[g, s]
    for remaining in range(length[g, s], 0, -1):
        grid[g, body[g, s, h]] = CORPSE if corpses and remaining % 2 == 0 else EMPTY
        h = h - 1 if h > 0 else cap - 1
    length[g, s] = 0


@numba.njit(cache=True)
def _spawn(
    grid: np.ndarray,
    body: np.ndarray,
    head: np.ndarray,
    length: np.ndarray,
    rng: np.ndarray,
    g: int,
    s: int,
    height: int,
    width: int,
) -> None:
    cell = _free_cell(grid, rng, g, height, width)  # never -1: a dead snake frees its cells
    body[g, s, 0] = cell
    head[g, s] = 0
    length[g, s] = 1
    grid[g, cell] = 7 if s == 0 else COLOURS + s % 4


@numba.njit(cache=True)
def _observe(
    grid: np.ndarray, body: np.ndarray, head: np.ndarray, obs: np.ndarray, g: int, width: int, vision: int
) -> None:
    num_snakes, side = body.shape[1], 2 * vision + 1
    for s in range(num_snakes):
        agent = g * num_snakes + s
        top_left = body[g, s, head[g, s]] - vision * width - vision
        for dr in range(side):
            row = top_left + dr * width
            for dc in range(side):
                obs[agent, dr, dc] = grid[g, row + dc]


@numba.njit(cache=True)
def step_kernel(
    grid: np.ndarray,
    body: np.ndarray,
    head: np.ndarray,
    length: np.ndarray,
    ticks: np.ndarray,
    returns: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    height: int,
    width: int,
    num_food: int,
    vision: int,
    corpses: bool,
    reward_food: float,
    reward_corpse: float,
    reward_death: float,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every grid one step (``reset_all``: start every grid instead); 1 if an action
    was out of range, else 0. Cells are flat indices ``row * width + col``."""
    num_grids, num_snakes, cap = body.shape[0], body.shape[1], body.shape[2]
    if reset_all:
        for g in range(num_grids):
            for r in range(height):
                for c in range(width):
                    inside = vision <= r < height - vision and vision <= c < width - vision
                    grid[g, r * width + c] = EMPTY if inside else WALL
            for s in range(num_snakes):
                length[g, s] = 0
                _spawn(grid, body, head, length, rng, g, s, height, width)
                ticks[g * num_snakes + s] = 0
                returns[g * num_snakes + s] = 0.0
            for _ in range(num_food):
                cell = _free_cell(grid, rng, g, height, width)
                grid[g, cell] = FOOD
            _observe(grid, body, head, obs, g, width, vision)
        return 0
    bad = 0
    for g in range(num_grids):
        for s in range(num_snakes):
            agent = g * num_snakes + s
            action = actions[agent]
            if action < 0 or action > 3:
                bad = 1
                action = 0
            step = -width if action == 0 else width if action == 1 else -1 if action == 2 else 1
            ticks[agent] += 1
            h = head[g, s]
            at = body[g, s, h]
            to = at + step
            size = length[g, s]
            if size > 1 and to == body[g, s, h - 1 if h > 0 else cap - 1]:
                to = at - step  # not into its own neck: straight on
            code = grid[g, to]
            terminals[agent] = False
            truncations[agent] = False
            if code >= WALL:
                rewards[agent] = reward_death
                terminals[agent] = True
                episode_return = returns[agent] + reward_death
                core.log_episode(log, agent, episode_return, ticks[agent], size)
                log[agent, LOG_PERF] += size / ticks[agent]
                _delete(grid, body, head, length, g, s, corpses)
                _spawn(grid, body, head, length, rng, g, s, height, width)
                ticks[agent] = 0
                returns[agent] = 0.0
                continue
            h = h + 1 if h + 1 < cap else 0
            body[g, s, h] = to
            head[g, s] = h
            reward = 0.0
            if code == FOOD:
                reward = reward_food
                cell = _free_cell(grid, rng, g, height, width)
                if cell >= 0:
                    grid[g, cell] = FOOD
            elif code == CORPSE:
                reward = reward_corpse
            rewards[agent] = reward
            returns[agent] += reward
            if code != EMPTY and size < cap - 1:
                length[g, s] = size + 1
            else:  # the tail moves on
                tail = h - size
                grid[g, body[g, s, tail if tail >= 0 else tail + cap]] = EMPTY
            grid[g, to] = 7 if s == 0 else COLOURS + s % 4
        _observe(grid, body, head, obs, g, width, vision)
    return bad


class Snake(NativeEnv):
    """``num_envs`` grids of ``num_snakes`` snakes each (see the module docstring).

    State (one row per grid): ``grid`` ``(num_envs, height * width)`` int8 cell codes;
    ``body`` ``(num_envs, num_snakes, max_snake_length)`` circular buffers of flat cell
    indices, ``head`` the index of each head in it and ``length`` each snake's length.
    """

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)

    def __init__(
        self,
        num_envs: int = 1,
        width: int = 640,
        height: int = 360,
        num_snakes: int = 256,
        num_food: int = 4096,
        vision: int = 5,
        leave_corpse_on_death: bool = True,
        reward_food: float = 0.1,
        reward_corpse: float = 0.1,
        reward_death: float = -1.0,
        max_snake_length: int = 1024,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.vision = check_positive_int("vision", vision)
        self.width = check_positive_int("width", width, 2 * self.vision + 2)
        self.height = check_positive_int("height", height, 2 * self.vision + 2)
        self.num_snakes = check_positive_int("num_snakes", num_snakes)
        self.num_food = check_positive_int("num_food", num_food, 0)
        self.max_snake_length = min(check_positive_int("max_snake_length", max_snake_length, 2),
                                    self.width * self.height)
        if self.width * self.height >= 2**31:
            raise APIUsageError(f"Snake: a {self.height}x{self.width} grid is too large (below 2**31 cells).")
        interior = (self.width - 2 * self.vision) * (self.height - 2 * self.vision)
        if self.num_snakes + self.num_food > interior:
            raise APIUsageError(
                f"Snake: {self.num_snakes} snakes and {self.num_food} food do not fit in the "
                f"{interior} free cells of a {self.height}x{self.width} grid with vision {self.vision} "
                "(its outer `vision` rings are wall). Use a larger grid or fewer snakes or food."
            )
        self.leave_corpse_on_death = bool(leave_corpse_on_death)
        self.reward_food, self.reward_corpse = float(reward_food), float(reward_corpse)
        self.reward_death = float(reward_death)
        self.agents_per_game = self.num_snakes
        side = 2 * self.vision + 1
        self.single_observation_space = gymnasium.spaces.Box(0, 7, (side, side), np.int8)
        self.single_action_space = gymnasium.spaces.Discrete(4)
        super().__init__(num_envs, render_mode, report_interval, buf)
        g, s = self.num_envs, self.num_snakes
        self.grid = np.zeros((g, self.height * self.width), dtype=np.int8)
        self.body = np.zeros((g, s, self.max_snake_length), dtype=np.int32)
        self.head = np.zeros((g, s), dtype=np.int64)
        self.length = np.zeros((g, s), dtype=np.int64)
        self.ticks = np.zeros(g * s, dtype=np.int64)
        self.returns = np.zeros(g * s, dtype=np.float64)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.grid,
            self.body,
            self.head,
            self.length,
            self.ticks,
            self.returns,
            self.rng,
            actions,
            self.height,
            self.width,
            self.num_food,
            self.vision,
            self.leave_corpse_on_death,
            self.reward_food,
            self.reward_corpse,
            self.reward_death,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def place_snake(self, game: int, snake: int, cells: list[tuple[int, int]]) -> None:
        """Put snake ``snake`` of grid ``game`` on ``cells`` ((row, col), tail first), removing
        its old body (without corpses). Observations update on the next step."""
        grid = self.grid[game]
        cap = self.max_snake_length
        for k in range(int(self.length[game, snake])):
            grid[self.body[game, snake, (self.head[game, snake] - k) % cap]] = EMPTY
        for k, (r, c) in enumerate(cells):
            self.body[game, snake, k] = r * self.width + c
            grid[r * self.width + c] = snake_colour(snake)
        self.head[game, snake] = len(cells) - 1
        self.length[game, snake] = len(cells)

    def grid_view(self, game: int = 0) -> np.ndarray:
        """Grid ``game`` as a ``(height, width)`` view of its cell codes (writable)."""
        return self.grid[game].reshape(self.height, self.width)

    def render_ansi(self) -> str:
        """Grid 0 around snake 0's head (at most 32 x 80 cells), then every snake's length."""
        view = self.grid_view(0)
        head = int(self.body[0, 0, self.head[0, 0]])
        rows, cols = min(self.height, 32), min(self.width, 80)
        top = min(max(head // self.width - rows // 2, 0), self.height - rows)
        left = min(max(head % self.width - cols // 2, 0), self.width - cols)
        chars = {EMPTY: " ", FOOD: "*", CORPSE: ".", WALL: "#"}
        window = view[top : top + rows, left : left + cols]
        lines = ["".join(chars.get(int(v), "@") for v in row) for row in window]
        lengths = self.length[0]
        return "\n".join(lines) + (
            f"\nsnake 0 at ({head // self.width}, {head % self.width}) length {int(lengths[0])}; "
            f"{len(lengths)} snakes, longest {int(lengths.max())}\n"
        )

    def render_rgb(self) -> np.ndarray:
        """Grid 0, ``max(1, 1280 // max(width, height))`` pixels per cell (3.0's scale)."""
        palette = {
            EMPTY: draw.BACKGROUND,
            FOOD: draw.COLOURS["food"],
            CORPSE: (200, 140, 60),
            WALL: draw.COLOURS["wall"],
            4: draw.COLOURS["other"],
            5: (170, 90, 240),
            6: (250, 200, 60),
            7: draw.COLOURS["agent"],
        }
        cell_pixels = max(1, 1280 // max(self.width, self.height))
        return draw.grid_image(self.grid_view(0).astype(np.int64), palette, cell_pixels=cell_pixels)
