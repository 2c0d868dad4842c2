"""Trash Pickup: agents clear a grid of trash into bins (multi-agent, cooperative), a port of
PufferLib 3.0's ``puffer_trash_pickup``.

Each game is a ``grid_size x grid_size`` grid holding ``num_agents`` agents (agent
``g * num_agents + i`` is agent ``i`` of game ``g``), ``num_bins`` bins and ``num_trash``
pieces of trash, placed in that order on random free cells (``x = rand() % grid_size``, then
``y``, drawn again until free). Every step each agent, in index order, tries to move one cell
(0 up, 1 down, 2 left, 3 right); a move off the grid does nothing. Into:

- an empty cell: it moves;
- trash, with empty hands: it picks the trash up (reward 0.5) and moves there; carrying: blocked;
- a bin, carrying: it drops its trash in (reward 0.5) and stays; with empty hands: it pushes the
  bin one cell on, if that cell is on the grid and empty, and follows; else blocked;
- another agent: blocked.

The episode ends (terminal) when no trash is left on the grid or in hands, or (truncation)
after ``max_steps`` steps, for every agent of the game at once; the game then restarts.

Observations (int8, ``5 * (2 * agent_sight_range + 1) ** 2``): the square of cells within
``agent_sight_range`` of the agent (cells off the grid empty), as five 0/1 planes, each
row-major from the top-left: empty (always 0, as in 3.0), trash, bin, agent (itself
included), and "an agent carrying trash is here".

Episode statistics: ``episode_return`` (the agent's own rewards), ``episode_length``,
``score`` = ``trash_collected`` = the pieces of trash picked up, ``perf`` = that over
``num_trash``.

Differences from PufferLib 3.0:

- The time limit is a truncation; 3.0 flags it terminal, like the cleared grid.
- ``score``/``trash_collected`` count every piece of trash picked up. 3.0 counts the entities
  from index ``num_agents + 1`` to ``num_agents + num_trash - 1``: it counts every bin but the
  first as uncollected trash and skips the last ``num_bins - 1`` pieces (a cleared grid scores
  ``num_trash - num_bins + 1``).
- ``episode_return`` is the agent's own return, logged per agent; 3.0 logs one episode per
  game with the sum over its agents.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

EMPTY, TRASH, BIN, AGENT, CARRYING = 0, 1, 2, 3, 4  # observation planes
MOVES = np.array([(0, -1), (0, 1), (-1, 0), (1, 0)], dtype=np.int64)  # (dx, dy): up, down, left, right
REWARD = np.float32(0.5)
LOG_PERF, LOG_TRASH = core.LOG_EXTRA, core.LOG_EXTRA + 1
# Per-game counters (one int64 row per game).
STEPS, TRASH_LEFT, CARRIED = range(3)
OFF_GRID = -(1 << 20)  # where trash picked up is kept


@numba.njit(cache=True)
def _place(
    grid: np.ndarray, pos: np.ndarray, rng: np.ndarray, g: int, first: int, count: int, size: int, pad: int
) -> None:
    """Entities ``first .. first + count - 1`` on random free cells, as C draws them."""
    e = first
    while e < first + count:
        x, y = core.randint(rng, g, size), core.randint(rng, g, size)
        if grid[g, y + pad, x + pad] != 0:
            continue
        grid[g, y + pad, x + pad] = e + 1
        pos[g, e, 0], pos[g, e, 1] = x, y
        e += 1


@numba.njit(cache=True)
def _start(
    grid: np.ndarray,
    pos: np.ndarray,
    carrying: np.ndarray,
    counts: np.ndarray,
    rng: np.ndarray,
    g: int,
    num_bins: int,
    num_trash: int,
    pad: int,
) -> None:
    num_agents = carrying.shape[1]
    size = grid.shape[1] - 2 * pad
    grid[g, :, :] = 0
    _place(grid, pos, rng, g, 0, num_agents, size, pad)
    _place(grid, pos, rng, g, num_agents, num_bins, size, pad)
    _place(grid, pos, rng, g, num_agents + num_bins, num_trash, size, pad)
    carrying[g, :] = False
    counts[g, STEPS], counts[g, TRASH_LEFT], counts[g, CARRIED] = 0, num_trash, 0


@numba.njit(cache=True)
def _observe(
    pos: np.ndarray,
    carrying: np.ndarray,
    kinds: np.ndarray,
    obs: np.ndarray,
    g: int,
    sight: int,
) -> None:
    # Each agent's planes are cleared, then every entity within its window marked (trash
    # picked up sits far off the grid): fewer reads than the window's cells.
    num_agents, num_entities = carrying.shape[1], pos.shape[1]
    side = 2 * sight + 1
    plane = side * side
    for a in range(num_agents):
        agent = g * num_agents + a
        obs[agent, :] = 0
        left, top = pos[g, a, 0] - sight, pos[g, a, 1] - sight
        for e in range(num_entities):
            dx, dy = pos[g, e, 0] - left, pos[g, e, 1] - top
            if 0 <= dx < side and 0 <= dy < side:
                k = dy * side + dx
                obs[agent, kinds[e + 1] * plane + k] = 1
                if e < num_agents and carrying[g, e]:
                    obs[agent, CARRYING * plane + k] = 1


@numba.njit(cache=True)
def _move(
    grid: np.ndarray,
    pos: np.ndarray,
    carrying: np.ndarray,
    kinds: np.ndarray,
    counts: np.ndarray,
    g: int,
    a: int,
    action: int,
    pad: int,
) -> bool:
    """Agent ``a`` of game ``g`` tries ``action``; True if it picked up or dropped trash."""
    size = grid.shape[1] - 2 * pad
    dx, dy = MOVES[action, 0], MOVES[action, 1]
    x, y = pos[g, a, 0], pos[g, a, 1]
    nx, ny = x + dx, y + dy
    if nx < 0 or nx >= size or ny < 0 or ny >= size:
        return False
    cell = grid[g, ny + pad, nx + pad]
    kind = kinds[cell]
    if kind == EMPTY or (kind == TRASH and not carrying[g, a]):
        if kind == TRASH:  # picked up: the trash leaves the grid, far from every window
            pos[g, cell - 1, 0], pos[g, cell - 1, 1] = OFF_GRID, OFF_GRID
            carrying[g, a] = True
            counts[g, TRASH_LEFT] -= 1
            counts[g, CARRIED] += 1
        grid[g, ny + pad, nx + pad] = a + 1
        grid[g, y + pad, x + pad] = 0
        pos[g, a, 0], pos[g, a, 1] = nx, ny
        return kind == TRASH
    if kind == BIN:
        if carrying[g, a]:  # dropped into the bin
            carrying[g, a] = False
            counts[g, CARRIED] -= 1
            return True
        bx, by = nx + dx, ny + dy  # pushed, if the cell beyond is free
        if bx < 0 or bx >= size or by < 0 or by >= size or grid[g, by + pad, bx + pad] != 0:
            return False
        grid[g, by + pad, bx + pad] = cell
        pos[g, cell - 1, 0], pos[g, cell - 1, 1] = bx, by
        grid[g, ny + pad, nx + pad] = a + 1
        grid[g, y + pad, x + pad] = 0
        pos[g, a, 0], pos[g, a, 1] = nx, ny
    return False


@numba.njit(cache=True)
def step_kernel(
    grid: np.ndarray,
    pos: np.ndarray,
    carrying: np.ndarray,
    kinds: np.ndarray,
    counts: np.ndarray,
    returns: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    num_bins: int,
    num_trash: int,
    max_steps: int,
    sight: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0.

    ``grid[g]`` is the grid padded with ``sight`` cells on every side, each cell 0 (empty)
    or 1 + the index of the entity on it: agents, then bins, then trash (``kinds`` maps a
    cell value to its observation plane); ``pos[g, e]`` is entity ``e``'s (x, y) (trash
    picked up: ``OFF_GRID``); ``counts[g]``: steps, trash left on the
    grid, trash carried.
    """
    num_games, num_agents = carrying.shape[0], carrying.shape[1]
    pad = sight
    if reset_all:
        for g in range(num_games):
            _start(grid, pos, carrying, counts, rng, g, num_bins, num_trash, pad)
            returns[g * num_agents : (g + 1) * num_agents] = 0.0
            _observe(pos, carrying, kinds, obs, g, sight)
        return 0
    bad = 0
    for g in range(num_games):
        for a in range(num_agents):
            agent = g * num_agents + a
            action = actions[agent]
            if action < 0 or action >= 4:
                bad = 1
                rewards[agent] = 0.0
                continue
            scored = _move(grid, pos, carrying, kinds, counts, g, a, action, pad)
            reward = REWARD if scored else np.float32(0.0)
            rewards[agent] = reward
            returns[agent] += reward
        counts[g, STEPS] += 1
        cleared = counts[g, TRASH_LEFT] == 0 and counts[g, CARRIED] == 0
        timed_out = counts[g, STEPS] >= max_steps
        for a in range(num_agents):
            terminals[g * num_agents + a] = cleared
            truncations[g * num_agents + a] = timed_out and not cleared
        if cleared or timed_out:
            collected = num_trash - counts[g, TRASH_LEFT]
            for a in range(num_agents):
                agent = g * num_agents + a
                core.log_episode(log, agent, returns[agent], counts[g, STEPS], collected)
                log[agent, LOG_PERF] += collected / num_trash
                log[agent, LOG_TRASH] += collected
                returns[agent] = 0.0
            _start(grid, pos, carrying, counts, rng, g, num_bins, num_trash, pad)
        _observe(pos, carrying, kinds, obs, g, sight)
    return bad


class TrashPickup(NativeEnv):
    """``num_envs`` Trash Pickup games of ``num_agents`` agents each (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf", "trash_collected")

    def __init__(
        self,
        num_envs: int = 1,
        grid_size: int = 10,
        num_agents: int = 3,
        num_trash: int = 15,
        num_bins: int = 2,
        max_steps: int = 300,
        agent_sight_range: int = 5,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.agents_per_game = check_positive_int("num_agents", num_agents)
        self.num_trash = check_positive_int("num_trash", num_trash)
        self.num_bins = check_positive_int("num_bins", num_bins)
        self.max_steps = check_positive_int("max_steps", max_steps, 10)
        self.agent_sight_range = check_positive_int("agent_sight_range", agent_sight_range, 2)
        entities = self.agents_per_game + self.num_bins + self.num_trash
        self.grid_size = check_positive_int("grid_size", grid_size, int(entities**0.5) + 1)
        if entities > np.iinfo(np.int16).max:
            raise APIUsageError(f"TrashPickup: at most {np.iinfo(np.int16).max} agents, bins and trash.")
        side = 2 * self.agent_sight_range + 1
        self.single_observation_space = gymnasium.spaces.Box(0, 1, (5 * side * side,), np.int8)
        self.single_action_space = gymnasium.spaces.Discrete(4)
        super().__init__(num_envs, render_mode, report_interval, buf)
        games, agents = self.num_envs, self.agents_per_game
        padded = self.grid_size + 2 * self.agent_sight_range
        self.grid = np.zeros((games, padded, padded), np.int16)
        self.pos = np.zeros((games, entities, 2), np.int64)
        self.carrying = np.zeros((games, agents), np.bool_)
        self.counts = np.zeros((games, 3), np.int64)
        self.returns = np.zeros(games * agents, np.float32)
        self.kinds = np.full(entities + 1, TRASH, np.uint8)
        self.kinds[0] = EMPTY
        self.kinds[1 : agents + 1] = AGENT
        self.kinds[agents + 1 : agents + 1 + self.num_bins] = BIN

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.grid,
            self.pos,
            self.carrying,
            self.kinds,
            self.counts,
            self.returns,
            self.rng,
            actions,
            self.num_bins,
            self.num_trash,
            self.max_steps,
            self.agent_sight_range,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def _field(self) -> np.ndarray:
        """Game 0's grid without its padding: 0 empty, else 1 + an entity's index."""
        pad = self.agent_sight_range
        return self.grid[0, pad : pad + self.grid_size, pad : pad + self.grid_size]

    def render_ansi(self) -> str:
        chars = {EMPTY: ".", TRASH: "*", BIN: "#"}
        lines = []
        for row in self._field():
            line = ""
            for cell in row:
                kind = int(self.kinds[cell])
                if kind == AGENT:
                    letter = chr(ord("a") + (int(cell) - 1) % 26)
                    line += letter.upper() if self.carrying[0, cell - 1] else letter
                else:
                    line += chars[kind]
            lines.append(line)
        return "\n".join(lines) + f"\nstep {self.counts[0, STEPS]}, trash left {self.counts[0, TRASH_LEFT]}\n"

    def render_rgb(self) -> np.ndarray:
        codes = self.kinds[self._field()].astype(np.int64)
        carried = np.isin(self._field(), np.flatnonzero(self.carrying[0]) + 1)
        codes[carried] = CARRYING
        palette = {
            EMPTY: draw.BACKGROUND,
            TRASH: draw.COLOURS["food"],
            BIN: draw.COLOURS["wall"],
            AGENT: draw.COLOURS["agent"],
            CARRYING: draw.COLOURS["other"],
        }
        return draw.grid_image(codes, palette, cell_pixels=16)
