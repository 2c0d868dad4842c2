"""RWARE: robots fetch requested shelves to a goal and put them back (multi-agent warehouse).

A port of PufferLib 3.0.0's ``puffer_rware``. Each game is one warehouse (``map_choice``: 1
tiny 11 x 10, 2 small 10 x 20, 3 medium 16 x 20 cells; ``MAPS``) with shelf slots, goal cells
and ``num_agents`` robots (agent ``g * num_agents + k`` is robot ``k`` of game ``g``). At all
times ``num_requested_shelves`` shelves are requested (red). The warehouse never closes: no
game ever ends or restarts (see below for what an episode is).

Actions: 0 no-op, 1 forward (one cell in the facing direction), 2 turn left, 3 turn right, 4
toggle load. Robots face right, down, left or up (0-3). A robot without a shelf walks under
shelves; a robot carrying one cannot enter a cell holding a shelf, nor (carrying an empty
shelf) a goal cell, nor leave the map. Toggle load: an unloaded robot under a requested shelf
picks it up (reward 0.5); a robot carrying a requested shelf on a goal cell delivers it
(reward 0.5; the shelf is now empty and a random resting shelf becomes requested); a robot
carrying an empty shelf on a free shelf slot puts it back (reward 1.0).

Movement is resolved as 3.0 resolves it. Robots act in index order: turns, loads, and a
forward robot whose next cell is open records it as its *target* (a target stays until the
robot moves, even across steps). After every robot's turn, the robots that chose forward
move in one pass over a graph of targets (robot -> robot standing on its target): whole
cycles of targets first (except swaps, cycles of two), each only if every robot in it can step
forward, then chains from their far end, each robot only into a free cell. Collisions and
stale targets resolve exactly as in 3.0, including its quirks.

Observations (float32, 27 per robot): its cell index ``/ (rows * cols)``, ``(facing + 1) /
4``, its load (0 none, 1 requested shelf, 2 empty shelf; not scaled); then for each of the 8
neighbouring cells (up, up-right, right, down-right, down, down-left, left, up-left): 1 if a
robot stands there, that robot's ``(facing + 1) / 4`` (else 0), and ``(cell + 1) / 4`` for
the cell's content (empty 0, shelf 1, requested 2, goal 3; 0 outside the map).

Episodes: each robot's episode is one delivery cycle. It ends (a truncation: the warehouse
goes on) on the step the robot puts an empty shelf back, and is logged then, as 3.0 logs it:
``episode_return`` (2.0: 0.5 + 0.5 + 1.0), ``episode_length`` (the cycle's steps), ``score``
(1.0) and ``perf`` = ``max(0, 1 - 0.01 * episode_length)``.

3.0's rendering options (``width``, ``height``, ``grid_square_size``, ``human_agent_idx``)
and ``reward_type`` (never read by its C code) are not options here.

Differences from PufferLib 3.0
------------------------------
- *Episode ends are flagged.* 3.0 never sets a flag: it logs each delivery cycle as an
  episode while its ``truncations`` stay zero. Here the step that ends a cycle sets that
  robot's ``truncations`` (and ``terminals`` are never set: nothing ends the warehouse).
- *Robots see every robot around them.* 3.0 checks, for each neighbouring cell, only the first
  other robot in index order (its scan stops after one robot), and it finds that robot even on
  an index outside the map (off the left or right edge the index wraps into the next row).
  Here a neighbouring cell shows the lowest-indexed robot standing on it, and cells outside
  the map show none.
- *Seeds decide the warehouse.* 3.0 reseeds C's ``rand()`` with ``time(NULL)`` at every reset,
  so its warehouses ignore the seed (and all games reset within one second start alike);
  here game ``g`` draws from its own generator, seeded as every native env is.
- *Reset clears the targets.* 3.0 keeps the movement graph (targets, cycles, weights) across a
  reset; here a reset clears it. (3.0 resets once, before any move, so its runs cannot show
  the difference.)
- *No stall.* With two robots on one cell, 3.0's chain weights can grow without bound: its C
  code loops until the ints overflow (about 2**31 rounds, then as many countdown steps; its own
  trainer, on its rware.ini, stalled this way for over 30 minutes at 1.6M steps). Here the
  weight pass stops after ``num_agents + 1`` rounds, so in such a warehouse the weights, and
  maybe the moves, differ from those 3.0 would reach.

As in 3.0, a reset places robot ``k`` on a random empty cell where no robot stands, counting
the robots not yet placed at the cells where the previous game left them (cell 0 before the
first game).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

NOOP, FORWARD, LEFT, RIGHT, TOGGLE_LOAD = range(5)
EMPTY, SHELF, REQUESTED, GOAL = range(4)  # cell contents
UNLOADED, HOLDING_REQUESTED, HOLDING_EMPTY = range(3)  # robot loads
SELF_OBS, NEIGHBOURS = 3, 8
OBS_SIZE = SELF_OBS + 3 * NEIGHBOURS
LOG_PERF = core.LOG_EXTRA

# Facing 0-3 (right, down, left, up) as (dx, dy); the 8 neighbours in observation order.
STEP_X = np.array([1, 0, -1, 0], dtype=np.int64)
STEP_Y = np.array([0, 1, 0, -1], dtype=np.int64)
AROUND_X = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
AROUND_Y = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)


def _layout(rows: list[str]) -> np.ndarray:
    codes = {".": EMPTY, "S": SHELF, "G": GOAL}
    return np.array([[codes[c] for c in row] for row in rows], dtype=np.int8)


_AISLE = "..SSSSSSSS.SSSSSSSS."
_HALF = "G..........SSSSSSSS."
_BLANK20 = "." * 20
# 3.0's three warehouses (map_choice 1, 2, 3); shelf slots are numbered in row-major order.
MAPS = {
    1: _layout(["." * 10] + [".SS....SS."] * 8 + ["." * 10, "....GG...."]),
    2: _layout([_BLANK20, _AISLE, _AISLE, _BLANK20, _HALF, _HALF, _BLANK20, _AISLE, _AISLE, _BLANK20]),
    3: _layout(
        [_BLANK20, _AISLE, _AISLE, _BLANK20, _AISLE, _AISLE, _BLANK20, _HALF, _HALF]
        + [_BLANK20, _AISLE, _AISLE, _BLANK20, _AISLE, _AISLE, _BLANK20]
    ),
}


# Rows of a game's robot state (``robots[g, ROW, k]``); TARGET -1: none, CYCLE -1: not in one.
LOC, FACING, LOAD, TARGET, CYCLE, WEIGHT, TICKS = range(7)
# Columns of the map's cell table: the cell's content at the start, the cell ahead for each
# facing (-1: off the map), then the 8 neighbours in observation order (off the map: the
# extra cell ``rows * cols``, which holds OUTSIDE and never a robot).
T_BASE, T_AHEAD, T_AROUND = 0, 1, 5
T_X, T_Y = T_AROUND + NEIGHBOURS, T_AROUND + NEIGHBOURS + 1  # the cell's column and row
OUTSIDE = 4
# The neighbour (observation order) at offset (dx, dy), indexed (dy + 1) * 3 + dx + 1; -1: itself.
NEIGHBOUR_AT = np.array([7, 0, 1, 6, -1, 2, 5, 4, 3], dtype=np.int64)
# Observation values: a cell's content (+ 1) / 4 (0 outside the map), a facing's (+ 1) / 4.
CONTENT_OBS = np.array([0.25, 0.5, 0.75, 1.0, 0.0], dtype=np.float32)
FACING_OBS = np.array([0.25, 0.5, 0.75, 1.0], dtype=np.float32)


def cell_table(layout: np.ndarray) -> np.ndarray:
    """The ``(rows * cols, 15)`` cell table of a map (see ``T_BASE``)."""
    rows, cols = layout.shape
    size = rows * cols
    table = np.full((size, T_Y + 1), -1, dtype=np.int64)
    table[:, T_AROUND : T_AROUND + NEIGHBOURS] = size
    table[:, T_X] = np.arange(size) % cols
    table[:, T_Y] = np.arange(size) // cols
    steps = list(zip(STEP_X, STEP_Y)) + list(zip(AROUND_X, AROUND_Y))
    for cell in range(size):
        y, x = divmod(cell, cols)
        table[cell, T_BASE] = layout[y, x]
        for column, (dx, dy) in enumerate(steps, start=T_AHEAD):
            if 0 <= x + dx < cols and 0 <= y + dy < rows:
                table[cell, column] = x + dx + (y + dy) * cols
    return table


@numba.njit(cache=True, inline="always")
def _next_cell(cells: np.ndarray, robots: np.ndarray, table: np.ndarray, g: int, k: int) -> int:
    """The cell robot ``k`` would step into going forward, or -1 when it may not."""
    cell = table[robots[g, LOC, k], T_AHEAD + robots[g, FACING, k]]
    if cell < 0:
        return -1
    content = cells[g, cell]
    load = robots[g, LOAD, k]
    if load != UNLOADED and content in (SHELF, REQUESTED):
        return -1
    if load == HOLDING_EMPTY and content == GOAL:
        return -1
    return cell


@numba.njit(cache=True, inline="always")
def _request_shelf(cells: np.ndarray, slots: np.ndarray, rng: np.ndarray, g: int) -> bool:
    """Draw a shelf slot; request its shelf if one rests there unrequested (3.0: one draw)."""
    slot = slots[core.randint(rng, g, slots.shape[0])]
    if cells[g, slot] == SHELF:
        cells[g, slot] = REQUESTED
        return True
    return False


@numba.njit(cache=True, inline="always")
def _start(
    cells: np.ndarray,
    robots: np.ndarray,
    num_cycles: np.ndarray,
    table: np.ndarray,
    slots: np.ndarray,
    rng: np.ndarray,
    g: int,
    requested: int,
) -> None:
    size = table.shape[0]
    for cell in range(size):
        cells[g, cell] = table[cell, T_BASE]
    count = 0
    while count < requested:
        count += _request_shelf(cells, slots, rng, g)
    for k in range(robots.shape[2]):
        while True:  # robots not yet placed still stand where the last game left them (as in 3.0)
            cell = core.randint(rng, g, size)
            if cells[g, cell] != EMPTY:
                continue
            taken = False
            for j in range(robots.shape[2]):
                taken |= robots[g, LOC, j] == cell
            if not taken:
                break
        robots[g, LOC, k] = cell
        robots[g, FACING, k] = core.randint(rng, g, 4)
        robots[g, LOAD, k] = UNLOADED
        robots[g, TARGET, k] = -1
        robots[g, CYCLE, k] = -1
        robots[g, WEIGHT, k] = 0
        robots[g, TICKS, k] = 0
    num_cycles[g] = 0


@numba.njit(cache=True, inline="always")
def _follow(robots: np.ndarray, occupant: np.ndarray, g: int, k: int) -> int:
    """The (lowest-indexed) robot standing on robot ``k``'s target; -1: none, or no target."""
    target = robots[g, TARGET, k]
    return occupant[target] - 1 if target >= 0 else -1


@numba.njit(cache=True, inline="always")
def _mark_cycle(robots: np.ndarray, num_cycles: np.ndarray, occupant: np.ndarray, g: int, k: int) -> None:
    """Floyd's cycle search on the target graph from robot ``k``; label the cycle it reaches."""
    slow = _follow(robots, occupant, g, k)
    if slow == -1:
        return
    fast = _follow(robots, occupant, g, slow)
    if fast == -1:
        return
    while slow != fast:
        slow = _follow(robots, occupant, g, slow)
        if slow == -1:
            return
        fast = _follow(robots, occupant, g, fast)
        if fast == -1:
            return
        fast = _follow(robots, occupant, g, fast)
        if fast == -1:
            return
    slow = k
    while slow != fast:
        slow = _follow(robots, occupant, g, slow)
        fast = _follow(robots, occupant, g, fast)
    label = num_cycles[g]
    num_cycles[g] += 1
    current = slow
    while True:  # a cycle reached again from another robot is labelled again (as in 3.0)
        robots[g, CYCLE, current] = label
        current = _follow(robots, occupant, g, current)
        if current == slow:
            break


@numba.njit(cache=True, inline="always")
def _build_graph(
    robots: np.ndarray, num_cycles: np.ndarray, occupant: np.ndarray, g: int, shared: bool
) -> None:
    """Cycles of targets, then chain weights (1 for a robot nobody targets, else 1 + the
    heaviest robot targeting its cell), from scratch; ``shared``: robots share a cell."""
    count = robots.shape[2]
    for k in range(count):
        robots[g, CYCLE, k] = -1
        robots[g, WEIGHT, k] = 0
    num_cycles[g] = 0
    for k in range(count):
        if robots[g, CYCLE, k] == -1 and robots[g, TARGET, k] != -1:
            _mark_cycle(robots, num_cycles, occupant, g, k)
    if not shared:
        _weigh_chains(robots, occupant, g)
        return
    for k in range(count):
        if robots[g, CYCLE, k] != -1:
            continue
        leaf = True
        for j in range(count):
            if robots[g, TARGET, j] == robots[g, LOC, k]:
                leaf = False
                break
        if leaf:
            robots[g, WEIGHT, k] = 1
    changed = True
    rounds = 0
    while changed and rounds <= count:  # 3.0 loops forever when two robots share a cell
        changed = False
        rounds += 1
        for k in range(count):
            if robots[g, CYCLE, k] != -1:
                continue
            heaviest = 0
            for j in range(count):
                if robots[g, TARGET, j] == robots[g, LOC, k]:
                    heaviest = max(heaviest, robots[g, WEIGHT, j])
            if heaviest == 0 or robots[g, WEIGHT, k] == heaviest + 1:
                continue
            robots[g, WEIGHT, k] = heaviest + 1
            changed = True


@numba.njit(cache=True, inline="always")
def _weigh_chains(robots: np.ndarray, occupant: np.ndarray, g: int) -> None:
    """The chain weights when every robot has a cell of its own: robot ``j`` targets robot
    ``follow(j)`` alone, so 3.0's weights (its rounds' fixed point) are the longest walk from a
    robot nobody targets, counted in robots, and 0 off such walks."""
    count = robots.shape[2]
    for j in range(count):  # -1 marks the targeted robots
        ahead = _follow(robots, occupant, g, j)
        if ahead >= 0:
            robots[g, WEIGHT, ahead] = -1
    for k in range(count):
        robots[g, WEIGHT, k] = 1 if robots[g, WEIGHT, k] == 0 and robots[g, CYCLE, k] == -1 else 0
    for j in range(count):
        if robots[g, WEIGHT, j] != 1:
            continue
        length = 2
        ahead = _follow(robots, occupant, g, j)
        while ahead >= 0 and robots[g, CYCLE, ahead] == -1:
            robots[g, WEIGHT, ahead] = max(robots[g, WEIGHT, ahead], length)
            length += 1
            ahead = _follow(robots, occupant, g, ahead)


@numba.njit(cache=True, inline="always")
def _move(
    cells: np.ndarray, robots: np.ndarray, table: np.ndarray, occupant: np.ndarray, g: int, k: int
) -> None:
    """Robot ``k`` steps forward, its shelf with it; ``occupant`` follows."""
    cell = _next_cell(cells, robots, table, g, k)
    if cell == -1:
        return
    here = robots[g, LOC, k]
    load = robots[g, LOAD, k]
    into_goal = load == HOLDING_REQUESTED and cells[g, cell] == GOAL
    if load != UNLOADED:
        if cells[g, here] != GOAL:
            cells[g, here] = EMPTY
        if not into_goal:  # into a goal, a requested shelf leaves no mark
            cells[g, cell] = REQUESTED if load == HOLDING_REQUESTED else SHELF
    robots[g, LOC, k] = cell
    if not into_goal:  # 3.0 keeps the target of a robot that stepped into a goal (a stale one)
        robots[g, TARGET, k] = -1
    if occupant[cell] == 0 or occupant[cell] > k + 1:
        occupant[cell] = k + 1
    if occupant[here] == k + 1:  # the next robot on the cell it left, if any
        occupant[here] = 0
        for j in range(robots.shape[2] - 1, -1, -1):
            if robots[g, LOC, j] == here:
                occupant[here] = j + 1


@numba.njit(cache=True, inline="always")
def _toggle_load(
    cells: np.ndarray,
    robots: np.ndarray,
    table: np.ndarray,
    slots: np.ndarray,
    rng: np.ndarray,
    g: int,
    k: int,
) -> float:
    """Pick up, deliver or put back a shelf; the reward (1.0: a cycle is complete)."""
    here = robots[g, LOC, k]
    content = cells[g, here]
    load = robots[g, LOAD, k]
    base = table[here, T_BASE]
    if content == REQUESTED and load == UNLOADED:
        robots[g, LOAD, k] = HOLDING_REQUESTED
        return 0.5
    if load == HOLDING_EMPTY and content == base and base != GOAL:
        robots[g, LOAD, k] = UNLOADED
        return 1.0
    if load == HOLDING_REQUESTED and content == GOAL:
        robots[g, LOAD, k] = HOLDING_EMPTY
        found = False
        while not found:
            found = _request_shelf(cells, slots, rng, g)
        return 0.5
    return 0.0


@numba.njit(cache=True, inline="always")
def _move_robots(
    cells: np.ndarray,
    robots: np.ndarray,
    num_cycles: np.ndarray,
    table: np.ndarray,
    occupant: np.ndarray,
    actions: np.ndarray,
    g: int,
) -> None:
    """The forward robots move: cycles of targets first, then chains from their far end."""
    count = robots.shape[2]
    first = g * count
    for label in range(num_cycles[g]):
        size = 0
        for k in range(count):
            size += robots[g, CYCLE, k] == label
        if size == 2:  # robots do not swap cells
            continue
        free = True
        for k in range(count):
            if robots[g, CYCLE, k] == label and _next_cell(cells, robots, table, g, k) == -1:
                free = False
                break
        if not free:
            continue
        for k in range(count):
            if robots[g, CYCLE, k] == label and actions[first + k] == FORWARD:
                _move(cells, robots, table, occupant, g, k)
    heaviest = 0
    for k in range(count):
        if robots[g, CYCLE, k] == -1 and robots[g, WEIGHT, k] > heaviest:
            heaviest = robots[g, WEIGHT, k]
    for w in range(heaviest, 0, -1):
        for k in range(count):
            if robots[g, CYCLE, k] != -1 or robots[g, WEIGHT, k] != w or actions[first + k] != FORWARD:
                continue
            cell = _next_cell(cells, robots, table, g, k)
            if cell == -1 or occupant[cell] != 0:
                continue
            _move(cells, robots, table, occupant, g, k)


@numba.njit(cache=True, inline="always")
def _observe(cells: np.ndarray, robots: np.ndarray, table: np.ndarray, obs: np.ndarray, g: int) -> None:
    count = robots.shape[2]
    size = np.float32(table.shape[0])
    zero, one = np.float32(0.0), np.float32(1.0)
    for k in range(count):
        agent = g * count + k
        here = robots[g, LOC, k]
        obs[agent, 0] = np.float32(here) / size
        obs[agent, 1] = FACING_OBS[robots[g, FACING, k]]
        obs[agent, 2] = np.float32(robots[g, LOAD, k])
        for n in range(NEIGHBOURS):  # off the map is a cell of its own, OUTSIDE
            o = SELF_OBS + 3 * n
            obs[agent, o] = zero
            obs[agent, o + 1] = zero
            obs[agent, o + 2] = CONTENT_OBS[cells[g, table[here, T_AROUND + n]]]
        x, y = table[here, T_X], table[here, T_Y]
        for j in range(count - 1, -1, -1):  # the robots around, the lowest-indexed written last
            dx = table[robots[g, LOC, j], T_X] - x
            dy = table[robots[g, LOC, j], T_Y] - y
            if -1 <= dx <= 1 and -1 <= dy <= 1:
                n = NEIGHBOUR_AT[(dy + 1) * 3 + dx + 1]
                if n >= 0:
                    obs[agent, SELF_OBS + 3 * n] = one
                    obs[agent, SELF_OBS + 3 * n + 1] = FACING_OBS[robots[g, FACING, j]]


@numba.njit(cache=True, inline="always")
def _occupy(robots: np.ndarray, occupant: np.ndarray, g: int) -> bool:
    """``occupant[cell]``: 1 + the lowest-indexed robot of game ``g`` on the cell (0: none);
    True when robots share a cell."""
    shared = False
    for k in range(robots.shape[2] - 1, -1, -1):
        cell = robots[g, LOC, k]
        shared |= occupant[cell] != 0
        occupant[cell] = k + 1
    return shared


@numba.njit(cache=True, inline="always")
def _vacate(robots: np.ndarray, occupant: np.ndarray, g: int) -> None:
    for k in range(robots.shape[2]):
        occupant[robots[g, LOC, k]] = 0


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    cells: np.ndarray,
    robots: np.ndarray,
    num_cycles: np.ndarray,
    returns: np.ndarray,
    table: np.ndarray,
    slots: np.ndarray,
    occupant: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    requested: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every warehouse one step (``reset_all``: start every warehouse instead); 1 if an
    action was out of range, else 0. ``occupant`` is scratch, all zero between calls. Nothing
    ends a warehouse: ``terminals`` stay as ``reset`` leaves them (False) and are not passed."""
    count = robots.shape[2]
    if reset_all:
        for g in range(cells.shape[0]):
            _start(cells, robots, num_cycles, table, slots, rng, g, requested)
            returns[g * count : (g + 1) * count] = 0.0
            _observe(cells, robots, table, obs, g)
        return 0
    bad = 0
    for g in range(cells.shape[0]):
        first = g * count
        retargeted = False
        for k in range(count):
            agent = first + k
            action = actions[agent]
            if action < 0 or action > TOGGLE_LOAD:
                bad = 1
                action = NOOP
            robots[g, TICKS, k] += 1
            reward = 0.0
            if action == LEFT:
                robots[g, FACING, k] = (robots[g, FACING, k] + 3) % 4
            elif action == RIGHT:
                robots[g, FACING, k] = (robots[g, FACING, k] + 1) % 4
            elif action == TOGGLE_LOAD:
                reward = _toggle_load(cells, robots, table, slots, rng, g, k)
            elif action == FORWARD:
                cell = _next_cell(cells, robots, table, g, k)
                if cell != -1:
                    robots[g, TARGET, k] = cell
                    retargeted = True
            rewards[agent] = reward
            done = reward == 1.0
            truncations[agent] = done
            if reward != 0.0:
                returns[agent] += reward
                if done:
                    length = robots[g, TICKS, k]
                    core.log_episode(log, agent, returns[agent], length, 1.0)
                    log[agent, LOG_PERF] += np.float32(max(0.0, 1.0 - 0.01 * length))
                    robots[g, TICKS, k] = 0
                    returns[agent] = 0.0
        # Robots move only if one going forward has a free cell ahead (blocked ones stay blocked:
        # nothing in the action pass frees a cell), and then it has a new target.
        if retargeted:  # 3.0 rebuilds the graph after each new target: only the last build counts
            shared = _occupy(robots, occupant, g)
            _build_graph(robots, num_cycles, occupant, g, shared)
            _move_robots(cells, robots, num_cycles, table, occupant, actions, g)
            _vacate(robots, occupant, g)
        _observe(cells, robots, table, obs, g)
    return bad


class Rware(NativeEnv):
    """``num_envs`` warehouses of ``num_agents`` robots each (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)

    def __init__(
        self,
        num_envs: int = 1,
        num_agents: int = 4,
        map_choice: int = 1,
        num_requested_shelves: int = 4,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        if map_choice not in MAPS or isinstance(map_choice, bool):
            raise APIUsageError(
                f"Rware: map_choice must be 1 (tiny), 2 (small) or 3 (medium), got {map_choice!r}."
            )
        self.map_choice = int(map_choice)
        layout = MAPS[self.map_choice]
        self.rows, self.cols = layout.shape
        slots = int((layout == SHELF).sum())
        empty = int((layout == EMPTY).sum())
        self.robots = check_positive_int("num_agents", num_agents)
        self.num_requested_shelves = check_positive_int("num_requested_shelves", num_requested_shelves)
        if self.robots > empty:
            raise APIUsageError(
                f"Rware: map {self.map_choice} has {empty} free cells for robots, "
                f"got num_agents={num_agents}."
            )
        if self.num_requested_shelves + self.robots >= slots:
            # Fewer would let every resting shelf be requested or carried: no shelf left to request.
            raise APIUsageError(
                f"Rware: num_requested_shelves + num_agents must stay below map {self.map_choice}'s {slots} "
                f"shelves, got {num_requested_shelves} + {num_agents}. Use fewer, or a larger map."
            )
        self.agents_per_game = self.robots
        self.single_observation_space = gymnasium.spaces.Box(0.0, 2.0, (OBS_SIZE,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(5)
        super().__init__(num_envs, render_mode, report_interval, buf)
        g, r = self.num_envs, self.robots
        self.table = cell_table(layout)
        self.base = self.table[:, T_BASE]
        self.slots = np.flatnonzero(self.base == SHELF).astype(np.int64)
        size = self.base.shape[0]
        # The kernels' cells have one more, outside the map (see T_AROUND); tests and renders
        # see the map's.
        self._cells = np.full((g, size + 1), OUTSIDE, dtype=np.int8)
        self._cells[:, :size] = self.base
        self.cells = self._cells[:, :size]
        # One row per field (LOC, FACING, ...) per game; robots stand on cell 0 before the first game.
        self.robot_state = np.zeros((g, TICKS + 1, r), dtype=np.int32)
        self.robot_state[:, TARGET] = -1
        self.robot_state[:, CYCLE] = -1
        self.loc, self.facing, self.load = (self.robot_state[:, row] for row in (LOC, FACING, LOAD))
        self.target, self.cycle, self.weight = (self.robot_state[:, row] for row in (TARGET, CYCLE, WEIGHT))
        self.num_cycles = np.zeros(g, dtype=np.int64)
        self.ticks = self.robot_state[:, TICKS]
        self.returns = np.zeros(g * r, dtype=np.float64)
        self._occupant = np.zeros(size + 1, dtype=np.int32)
        self._state = (
            self._cells,
            self.robot_state,
            self.num_cycles,
            self.returns,
            self.table,
            self.slots,
            self._occupant,
        )

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        # The state arrays never change identity: one tuple saves an attribute lookup each
        # (the buffers and the generator can be replaced, so they are looked up every call).
        return step_kernel(
            *self._state,
            self.rng,
            actions,
            self.num_requested_shelves,
            self.observations,
            self.rewards,
            self.truncations,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        chars = {EMPTY: ".", SHELF: "s", REQUESTED: "R", GOAL: "G"}
        grid = [
            [chars[int(v)] for v in self.cells[0, r * self.cols : (r + 1) * self.cols]]
            for r in range(self.rows)
        ]
        arrows = ">v<^"
        for k in range(self.robots):
            r, c = divmod(int(self.loc[0, k]), self.cols)
            grid[r][c] = arrows[self.facing[0, k]]
        loads = ("-", "requested", "empty")
        lines = ["".join(row) for row in grid]
        lines += [
            f"robot {k}: cell {int(self.loc[0, k])} facing {arrows[self.facing[0, k]]} "
            f"load {loads[self.load[0, k]]}"
            for k in range(self.robots)
        ]
        return "\n".join(lines) + "\n"

    def render_rgb(self) -> np.ndarray:
        cell = 16
        palette = {
            EMPTY: draw.BACKGROUND,
            SHELF: (0, 187, 187),
            REQUESTED: (230, 41, 55),
            GOAL: (80, 80, 80),
        }
        image = draw.grid_image(self.cells[0].reshape(self.rows, self.cols).astype(np.int64), palette, cell)
        for k in range(self.robots):
            r, c = divmod(int(self.loc[0, k]), self.cols)
            colour = draw.COLOURS["agent"] if self.load[0, k] == UNLOADED else (250, 200, 60)
            draw.fill_rect(image, r * cell + 3, c * cell + 3, cell - 6, cell - 6, colour)
            f = int(self.facing[0, k])  # a nose on the side it faces
            nose_r = r * cell + cell / 2 + STEP_Y[f] * (cell / 2 - 3) - 1.5
            nose_c = c * cell + cell / 2 + STEP_X[f] * (cell / 2 - 3) - 1.5
            draw.fill_rect(image, nose_r, nose_c, 3, 3, draw.COLOURS["ball"])
        return image
