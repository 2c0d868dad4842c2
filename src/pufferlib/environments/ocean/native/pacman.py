"""Pac-Man: eat every pellet of the classic maze while four ghosts hunt you, ``num_envs`` games per call.

A port of PufferLib 3.0.0's ``pacman`` (its C rules, maze, ghosts, observations, rewards and
random draws).

The maze is the arcade's 28 x 31 tiles (``MAZE``): 240 pellets, 4 power pellets, a tunnel on
row 14 (leaving one side enters the other). Each step, in this order:

1. Power: while ``frightened_time`` steps of fright are left, one is used up; when none is left,
   no ghost is frightened.
2. Mode: the ghosts alternate between scatter (``scatter_mode_length`` steps; each heads for its
   corner) and chase (``chase_mode_length`` steps), starting with scatter, for at most
   ``max_mode_changes + 1`` changes; then chase or scatter stays. Each change makes the ghosts
   reverse.
3. Targets in chase: Pinky (ghost 0) 4 tiles ahead of Pac-Man, Blinky (1) Pac-Man, Inky (2) the
   point 2 tiles ahead of Pac-Man mirrored through Blinky, Clyde (3) Pac-Man while farther than
   8 tiles, else his corner.
4. Pac-Man moves one tile in the action's direction (0 down, 1 up, 2 right, 3 left), or on in
   his current direction when the action leads into a wall (or stays, if that is a wall too). A
   pellet gives reward 1 and score 1; a power pellet also frightens every ghost not returning
   home for ``frightened_time`` steps and makes them reverse.
5. Each ghost in turn: a frightened ghost moves every other step. It picks a direction at every
   step (never straight back, except when told to reverse): the only one open, or a random one
   when frightened, else the one whose next tile is nearest (squared distance) to its target
   (ties: down, up, right, left). It moves only once its start delay (``min_start_timeout`` to
   ``max_start_timeout`` steps, drawn at each start) is over. A ghost on or next to Pac-Man's tile
   (same row or column) catches him, unless it is frightened: then Pac-Man eats it (reward 1)
   and it returns to its start tile, where it turns normal again.

Episode end: caught (terminal), every pellet eaten (terminal), or 10000 steps (truncation).
Starting tile: Pac-Man's, or with ``randomize_starting_position`` a random pellet's tile (drawn
after the ghosts' delays).

Observations (float32, 291): Pac-Man's x / 28, y / 31, one-hots of his direction (up, down,
left, right), whether he can move up, down, left, right, and the fright left / ``frightened_time``;
then per ghost (Pinky, Blinky, Inky, Clyde): x / 28, y / 31, direction one-hots (up, down, left,
right), normal, frightened, returning home; then 1/0 per pellet and power pellet still there,
in the maze's row-major order. Episode stats: ``score`` = pellets eaten.

Differences from PufferLib 3.0:

- 3.0 ends an episode at 10000 steps with ``terminals`` (and no truncation); here it is a
  truncation.
- 3.0 logs the score as ``episode_return`` (the return also counts eaten ghosts) and only the
  last episode's length per env; here each episode's return and length are logged.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

F32 = np.float32
MAZE = (
    "############################",
    "#............##............#",
    "#.####.#####.##.#####.####.#",
    "#x####.#####.##.#####.####x#",
    "#.####.#####.##.#####.####.#",
    "#..........................#",
    "#.####.##.########.##.####.#",
    "#.####.##.########.##.####.#",
    "#......##....##....##......#",
    "######.##### ## #####.######",
    "######.##### ## #####.######",
    "######.##   1234   ##.######",
    "######.## ######## ##.######",
    "######.## ######## ##.######",
    "      .   ########   .      ",
    "######.## ######## ##.######",
    "######.## ######## ##.######",
    "######.##          ##.######",
    "######.## ######## ##.######",
    "######.## ######## ##.######",
    "#............##............#",
    "#.####.#####.##.#####.####.#",
    "#.####.#####.##.#####.####.#",
    "#x..##.......p .......##..x#",
    "###.##.##.########.##.##.###",
    "###.##.##.########.##.##.###",
    "#......##....##....##......#",
    "#.##########.##.##########.#",
    "#.##########.##.##########.#",
    "#..........................#",
    "############################",
)
HEIGHT, WIDTH = len(MAZE), len(MAZE[0])
DOWN, UP, RIGHT, LEFT = 0, 1, 2, 3  # actions and directions; reverse(d) = d ^ 1
MOVE_X = np.array([0, 0, 1, -1], dtype=np.int64)
MOVE_Y = np.array([1, -1, 0, 0], dtype=np.int64)
NUM_GHOSTS = 4
GHOST_MARKS = "pbic"  # Pinky, Blinky, Inky, Clyde (in the text render)
GHOST_TILES = "3214"  # each ghost's start tile in MAZE
CORNER_X = np.array([3, WIDTH - 4, WIDTH - 1, 0], dtype=np.int64)
CORNER_Y = np.array([-3, -3, HEIGHT, HEIGHT], dtype=np.int64)
PINKY_LEAD, INKY_LEAD, CLYDE_RADIUS = 4, 2, 8
MAX_STEPS = 10_000
PLAYER_OBS, GHOST_OBS = 11, 9
PICKUP_OBS = PLAYER_OBS + NUM_GHOSTS * GHOST_OBS


def _tables() -> tuple:
    """The maze's static tables: open directions per tile (a bit per direction, the tunnel
    wrapping), pellet index per tile (-1: none; row-major, power pellets included), which pellets
    are power pellets, the pellet tiles a random start may pick (the 240 plain ones), the
    ghosts' and Pac-Man's start tiles."""
    open_dirs = np.zeros(HEIGHT * WIDTH, dtype=np.int64)
    pickup = np.full(HEIGHT * WIDTH, -1, dtype=np.int64)
    power: list[int] = []
    spawns: list[int] = []
    ghosts = [0] * NUM_GHOSTS
    player = 0
    for y, row in enumerate(MAZE):
        for x, tile in enumerate(row):
            cell = y * WIDTH + x
            for d in range(4):
                nx, ny = (x + MOVE_X[d]) % WIDTH, y + MOVE_Y[d]
                if 0 <= ny < HEIGHT and MAZE[ny][nx] != "#":
                    open_dirs[cell] |= 1 << d
            if tile in ".x":
                pickup[cell] = len(power)
                power.append(tile == "x")
                if tile == ".":
                    spawns.append(cell)
            elif tile == "p":
                player = cell
            elif tile in GHOST_TILES:
                ghosts[GHOST_TILES.index(tile)] = cell
    return (open_dirs, pickup, np.array(power, dtype=np.bool_), np.array(spawns, dtype=np.int64),
            np.array(ghosts, dtype=np.int64), player)


OPEN, PICKUP, IS_POWER, SPAWN_TILES, GHOST_SPAWN, PLAYER_SPAWN = _tables()
GHOST_SPAWN_X, GHOST_SPAWN_Y = GHOST_SPAWN % WIDTH, GHOST_SPAWN // WIDTH
_POPCOUNT = np.array([bin(m).count("1") for m in range(16)], dtype=np.int64)
NUM_PICKUPS = len(IS_POWER)  # 244
NUM_OBS = PICKUP_OBS + NUM_PICKUPS  # 291

# Per-game int32 state: Pac-Man and the modes, then GHOST_FIELDS per ghost from GHOST_BASE.
PX, PY, PDIR, SCORE, STEPS, REMAINING, SCATTER, MODE_LEFT, MODE_CHANGES, FRIGHT_LEFT = range(10)
GHOST_BASE = 10
GX, GY, GDIR, GTIMEOUT, GFRIGHT, GRETURN, GHALF = range(7)
GHOST_FIELDS = 7
NUM_STATE = GHOST_BASE + NUM_GHOSTS * GHOST_FIELDS
# The kernel's ``params``: the options, then scratch for the ghosts' targets (x0..x3, y0..y3).
PARAM_RANDOMIZE, PARAM_MIN_TIMEOUT, PARAM_MAX_TIMEOUT, PARAM_FRIGHTENED_TIME = range(4)
PARAM_MAX_MODE_CHANGES, PARAM_SCATTER_LENGTH, PARAM_CHASE_LENGTH, TARGETS = range(4, 8)

_INV_W, _INV_H = F32(1.0) / F32(WIDTH), F32(1.0) / F32(HEIGHT)
_ONE, _ZERO = F32(1.0), F32(0.0)


@numba.njit(cache=True, inline="always")
def _rand_range(rng: np.ndarray, g: int, low: int, high: int) -> int:
    """C's ``rand_range``: ``low`` (no draw) when ``low == high``, else ``low + rand() % (high - low)``."""
    if low == high:
        return low
    return low + core.randint(rng, g, high - low)


@numba.njit(cache=True)
def _start(s: np.ndarray, pickups: np.ndarray, rng: np.ndarray, g: int, randomize: bool, min_timeout: int,
           max_timeout: int) -> None:
    """A new game (C's ``c_reset``): the ghosts' start delays (one draw each, in ghost order), then
    Pac-Man's tile (one draw when randomized)."""
    s[g, SCORE] = 0
    s[g, SCATTER] = 0
    s[g, MODE_LEFT] = 0
    s[g, MODE_CHANGES] = 0
    s[g, FRIGHT_LEFT] = 0
    s[g, STEPS] = 0
    s[g, REMAINING] = NUM_PICKUPS
    pickups[g, :] = 1
    for i in range(NUM_GHOSTS):
        b = GHOST_BASE + i * GHOST_FIELDS
        s[g, b + GX] = GHOST_SPAWN_X[i]
        s[g, b + GY] = GHOST_SPAWN_Y[i]
        s[g, b + GDIR] = UP
        s[g, b + GTIMEOUT] = _rand_range(rng, g, min_timeout, max_timeout)
        s[g, b + GFRIGHT] = 0
        s[g, b + GRETURN] = 0
        s[g, b + GHALF] = 0
    cell = SPAWN_TILES[core.randint(rng, g, len(SPAWN_TILES))] if randomize else PLAYER_SPAWN
    s[g, PX] = cell % WIDTH
    s[g, PY] = cell // WIDTH
    s[g, PDIR] = RIGHT


@numba.njit(cache=True, inline="always")
def _directions(obs: np.ndarray, g: int, at: int, direction: int) -> None:
    """One-hots of ``direction`` in the order up, down, left, right."""
    obs[g, at] = _ONE if direction == UP else _ZERO
    obs[g, at + 1] = _ONE if direction == DOWN else _ZERO
    obs[g, at + 2] = _ONE if direction == LEFT else _ZERO
    obs[g, at + 3] = _ONE if direction == RIGHT else _ZERO


@numba.njit(cache=True, inline="always")
def _observe(s: np.ndarray, obs: np.ndarray, g: int, frightened_time: int) -> None:
    """Everything but the pellets (written when they change: ``_observe_pickups`` and the step)."""
    px, py = s[g, PX], s[g, PY]
    obs[g, 0] = F32(px) * _INV_W
    obs[g, 1] = F32(py) * _INV_H
    _directions(obs, g, 2, s[g, PDIR])
    open_dirs = OPEN[py * WIDTH + px]
    obs[g, 6] = F32((open_dirs >> UP) & 1)
    obs[g, 7] = F32((open_dirs >> DOWN) & 1)
    obs[g, 8] = F32((open_dirs >> LEFT) & 1)
    obs[g, 9] = F32((open_dirs >> RIGHT) & 1)
    obs[g, 10] = F32(s[g, FRIGHT_LEFT]) / F32(frightened_time)
    for i in range(NUM_GHOSTS):
        b = GHOST_BASE + i * GHOST_FIELDS
        p = PLAYER_OBS + i * GHOST_OBS
        obs[g, p] = F32(s[g, b + GX]) * _INV_W
        obs[g, p + 1] = F32(s[g, b + GY]) * _INV_H
        _directions(obs, g, p + 2, s[g, b + GDIR])
        frightened, returning = s[g, b + GFRIGHT] != 0, s[g, b + GRETURN] != 0
        obs[g, p + 6] = _ONE if not frightened and not returning else _ZERO
        obs[g, p + 7] = _ONE if frightened else _ZERO
        obs[g, p + 8] = _ONE if returning else _ZERO


@numba.njit(cache=True, inline="always")
def _observe_pickups(pickups: np.ndarray, obs: np.ndarray, g: int) -> None:
    for k in range(NUM_PICKUPS):
        obs[g, PICKUP_OBS + k] = F32(pickups[g, k])


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    s: np.ndarray,
    pickups: np.ndarray,
    returns: np.ndarray,
    params: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0. One step is C's ``c_step`` (see the module docstring).

    ``params`` holds the options (``PARAM_*``) and, from ``TARGETS``, the ghosts' targets
    (scratch): one array instead of nine arguments, each of which costs Numba's dispatcher
    time on every call.
    """
    randomize = params[PARAM_RANDOMIZE] != 0
    min_timeout, max_timeout = params[PARAM_MIN_TIMEOUT], params[PARAM_MAX_TIMEOUT]
    frightened_time, max_mode_changes = params[PARAM_FRIGHTENED_TIME], params[PARAM_MAX_MODE_CHANGES]
    scatter_length, chase_length = params[PARAM_SCATTER_LENGTH], params[PARAM_CHASE_LENGTH]
    targets = params[TARGETS:]
    bad = 0
    for g in range(s.shape[0]):
        if reset_all:
            _start(s, pickups, rng, g, randomize, min_timeout, max_timeout)
            returns[g] = 0.0
            _observe(s, obs, g, frightened_time)
            _observe_pickups(pickups, obs, g)
            continue
        action = actions[g]
        if action < 0 or action > 3:
            bad = 1
            action = 0
        steps = s[g, STEPS] + 1
        s[g, STEPS] = steps
        reward = F32(0.0)
        reverse = False
        caught = False

        if s[g, FRIGHT_LEFT] > 0:
            s[g, FRIGHT_LEFT] -= 1
        else:
            for i in range(NUM_GHOSTS):
                s[g, GHOST_BASE + i * GHOST_FIELDS + GFRIGHT] = 0
                s[g, GHOST_BASE + i * GHOST_FIELDS + GHALF] = 0

        if s[g, MODE_CHANGES] <= max_mode_changes:
            s[g, MODE_LEFT] -= 1
            if s[g, MODE_LEFT] <= 0:
                scatter = 1 - s[g, SCATTER]
                s[g, SCATTER] = scatter
                reverse = True
                s[g, MODE_CHANGES] += 1
                s[g, MODE_LEFT] = scatter_length if scatter else chase_length

        px, py, pdir = s[g, PX], s[g, PY], s[g, PDIR]
        # Targets, from where everyone is before moving (``targets``: x then y per ghost).
        if s[g, SCATTER]:
            for i in range(NUM_GHOSTS):
                targets[i], targets[NUM_GHOSTS + i] = CORNER_X[i], CORNER_Y[i]
        else:
            blinky, clyde = GHOST_BASE + GHOST_FIELDS, GHOST_BASE + 3 * GHOST_FIELDS
            targets[0] = px + PINKY_LEAD * MOVE_X[pdir]
            targets[4] = py + PINKY_LEAD * MOVE_Y[pdir]
            targets[1], targets[5] = px, py
            targets[2] = 2 * (px + INKY_LEAD * MOVE_X[pdir]) - s[g, blinky + GX]
            targets[6] = 2 * (py + INKY_LEAD * MOVE_Y[pdir]) - s[g, blinky + GY]
            dx, dy = px - s[g, clyde + GX], py - s[g, clyde + GY]
            far = dx * dx + dy * dy > CLYDE_RADIUS * CLYDE_RADIUS
            targets[3] = px if far else CORNER_X[3]
            targets[7] = py if far else CORNER_Y[3]

        # Pac-Man: the action's direction, else on in his own, else stay.
        cell = py * WIDTH + px
        if (OPEN[cell] >> action) & 1:
            pdir = action
            moved = True
        else:
            moved = (OPEN[cell] >> pdir) & 1 != 0
        if moved:
            px = (px + MOVE_X[pdir]) % WIDTH
            py = py + MOVE_Y[pdir]
            k = PICKUP[py * WIDTH + px]
            if k >= 0 and pickups[g, k]:
                if IS_POWER[k]:
                    s[g, FRIGHT_LEFT] = frightened_time
                    reverse = True
                    for i in range(NUM_GHOSTS):
                        b = GHOST_BASE + i * GHOST_FIELDS
                        s[g, b + GFRIGHT] = 1 - s[g, b + GRETURN]
                pickups[g, k] = 0
                obs[g, PICKUP_OBS + k] = _ZERO
                s[g, SCORE] += 1
                s[g, REMAINING] -= 1
                reward += _ONE
        s[g, PX], s[g, PY], s[g, PDIR] = px, py, pdir

        for i in range(NUM_GHOSTS):
            b = GHOST_BASE + i * GHOST_FIELDS
            gx, gy, gdir = s[g, b + GX], s[g, b + GY], s[g, b + GDIR]
            frightened, returning = s[g, b + GFRIGHT] != 0, s[g, b + GRETURN] != 0
            timeout = s[g, b + GTIMEOUT] - 1
            s[g, b + GTIMEOUT] = timeout
            if frightened and s[g, b + GHALF]:
                s[g, b + GHALF] = 0  # a frightened ghost moves every other step
            else:
                s[g, b + GHALF] = 1
                open_dirs = OPEN[gy * WIDTH + gx]
                if reverse and not returning:
                    gdir = gdir ^ 1
                else:
                    # The open directions but straight back; without fright the one whose next
                    # tile is nearest the target, the first in the order down, up, right, left
                    # on ties (selects, not branches: they would be mispredicted).
                    options = open_dirs & ~(1 << (gdir ^ 1))
                    if frightened and options & (options - 1):  # two or more: a random one
                        pick = core.randint(rng, g, _POPCOUNT[options])
                        for d in range(4):
                            if (options >> d) & 1:
                                if pick == 0:
                                    gdir = d
                                    break
                                pick -= 1
                    else:
                        tx = GHOST_SPAWN_X[i] if returning else targets[i]
                        ty = GHOST_SPAWN_Y[i] if returning else targets[NUM_GHOSTS + i]
                        ex, ey = gx - tx, gy - ty
                        far = 1 << 40
                        d0 = ex * ex + (ey + 1) * (ey + 1) if options & 1 else far
                        d1 = ex * ex + (ey - 1) * (ey - 1) if options & 2 else far
                        d2 = (ex + 1) * (ex + 1) + ey * ey if options & 4 else far
                        d3 = (ex - 1) * (ex - 1) + ey * ey if options & 8 else far
                        best, nearest = DOWN, d0
                        best, nearest = (UP, d1) if d1 < nearest else (best, nearest)
                        best, nearest = (RIGHT, d2) if d2 < nearest else (best, nearest)
                        gdir = LEFT if d3 < nearest else best
                step = (timeout < 0) & ((open_dirs >> gdir) & 1 != 0)
                gx = (gx + MOVE_X[gdir]) % WIDTH if step else gx
                gy = gy + MOVE_Y[gdir] if step else gy
                s[g, b + GX], s[g, b + GY], s[g, b + GDIR] = gx, gy, gdir
            if returning:
                if (gx == GHOST_SPAWN_X[i]) & (gy == GHOST_SPAWN_Y[i]):  # home: normal again
                    s[g, b + GRETURN] = 0
            elif ((abs(gx - px) <= 1) & (gy == py)) | ((abs(gy - py) <= 1) & (gx == px)):
                if frightened:
                    s[g, b + GFRIGHT] = 0
                    s[g, b + GHALF] = 0
                    s[g, b + GRETURN] = 1
                    reward += _ONE
                else:
                    caught = True

        _observe(s, obs, g, frightened_time)
        terminal = caught or s[g, REMAINING] <= 0
        truncated = not terminal and steps >= MAX_STEPS
        episode_return = returns[g] + reward
        returns[g] = episode_return
        rewards[g] = reward
        terminals[g] = terminal
        truncations[g] = truncated
        if terminal or truncated:
            core.log_episode(log, g, episode_return, steps, s[g, SCORE])
            returns[g] = 0.0
            _start(s, pickups, rng, g, randomize, min_timeout, max_timeout)
            _observe(s, obs, g, frightened_time)
            _observe_pickups(pickups, obs, g)
    return bad


class Pacman(NativeEnv):
    """``num_envs`` Pac-Man games (see the module docstring)."""

    def __init__(
        self,
        num_envs: int = 1,
        randomize_starting_position: bool = False,
        min_start_timeout: int = 0,
        max_start_timeout: int = 49,
        frightened_time: int = 35,
        max_mode_changes: int = 6,
        scatter_mode_length: int = 70,
        chase_mode_length: int = 140,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.randomize_starting_position = bool(randomize_starting_position)
        self.min_start_timeout = check_positive_int("min_start_timeout", min_start_timeout, 0)
        self.max_start_timeout = check_positive_int("max_start_timeout", max_start_timeout, 0)
        if self.max_start_timeout < self.min_start_timeout:
            raise APIUsageError(
                f"Pacman: max_start_timeout ({max_start_timeout}) must be >= min_start_timeout "
                f"({min_start_timeout})."
            )
        self.frightened_time = check_positive_int("frightened_time", frightened_time)
        self.max_mode_changes = check_positive_int("max_mode_changes", max_mode_changes, 0)
        self.scatter_mode_length = check_positive_int("scatter_mode_length", scatter_mode_length)
        self.chase_mode_length = check_positive_int("chase_mode_length", chase_mode_length)
        self.single_observation_space = gymnasium.spaces.Box(0.0, 1.0, (NUM_OBS,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(4)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, NUM_STATE), dtype=np.int32)
        self.pickups = np.zeros((self.num_envs, NUM_PICKUPS), dtype=np.uint8)
        self.returns = np.zeros(self.num_envs, dtype=np.float64)
        self._params = np.zeros(TARGETS + 2 * NUM_GHOSTS, dtype=np.int64)
        self._params[:TARGETS] = (
            self.randomize_starting_position, self.min_start_timeout, self.max_start_timeout,
            self.frightened_time, self.max_mode_changes, self.scatter_mode_length, self.chase_mode_length,
        )

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.state, self.pickups, self.returns, self._params, self.rng, actions, self.observations,
            self.rewards, self.terminals, self.truncations, self.log, reset_all,
        )

    def _tiles(self) -> list[list[str]]:
        """The first game's maze as characters: walls, pellets, Pac-Man and the ghosts."""
        rows = [[" " if c in "p1234" else c for c in row] for row in MAZE]
        pellets = self.pickups[0]
        for cell in np.flatnonzero(PICKUP >= 0):
            if not pellets[PICKUP[cell]]:
                rows[cell // WIDTH][cell % WIDTH] = " "
        state = self.state[0]
        for i in range(NUM_GHOSTS):
            b = GHOST_BASE + i * GHOST_FIELDS
            mark = "e" if state[b + GRETURN] else ("f" if state[b + GFRIGHT] else GHOST_MARKS[i])
            rows[state[b + GY]][state[b + GX]] = mark
        rows[state[PY]][state[PX]] = "@"
        return rows

    def render_ansi(self) -> str:
        state = self.state[0]
        body = "\n".join("".join(row) for row in self._tiles())
        mode = "scatter" if state[SCATTER] else "chase"
        return (f"{body}\nscore {state[SCORE]} step {state[STEPS]} {mode} fright {state[FRIGHT_LEFT]}"
                f" (@ Pac-Man; ghosts p Pinky, b Blinky, i Inky, c Clyde, f frightened, e returning)\n")

    def render_rgb(self) -> np.ndarray:
        codes = {"#": 1, ".": 2, "x": 3, "@": 4, "f": 5, "e": 6, "p": 7, "b": 8, "i": 9, "c": 10}
        grid = np.array([[codes.get(c, 0) for c in row] for row in self._tiles()], dtype=np.int64)
        palette = {
            0: draw.BACKGROUND, 1: (40, 60, 200), 2: (240, 200, 170), 3: (255, 255, 255),
            4: (255, 220, 0), 5: (60, 80, 255), 6: (200, 200, 200), 7: (255, 150, 200),
            8: (230, 40, 40), 9: (40, 220, 230), 10: (250, 160, 60),
        }
        return draw.grid_image(grid, palette, cell_pixels=8)
