"""Go against PufferLib 3.0's scripted opponent, ``num_envs`` games per kernel call.

A port of PufferLib 3.0.0's ``puffer_go``. The board is ``grid_size x grid_size`` points
(``n = grid_size**2``); the agent plays the first colour, the opponent the second. Each step
the agent passes (action 0) or places a stone on point ``action - 1`` (row-major, row 0 at the
top). Stones without liberties are captured; suicide is illegal. The opponent may not recreate
the position the board had before the agent's last placement (ko).

Rewards (each step): a pass earns ``reward_move_pass``, an illegal placement (occupied point,
suicide) ``reward_move_invalid`` and the opponent does not move; a legal one
``reward_move_valid`` plus ``reward_player_capture`` per captured stone, clipped to [-1, 1]. After
a pass or a legal placement the opponent moves, adding ``reward_opponent_capture`` per stone
it captures (after a pass, unclipped). The step that ends a game earns only its result: +1 win,
-1 loss, 0 draw.

The opponent (3.0's ``enemy_greedy_hard``): it collects, scanning the points in order, one
liberty of the group of every stone it sees (found by a breadth-first search from the group's
root): the agent's groups with 1, 2, 3 or 4 liberties go in lists 1-4, its own groups in atari
in list 1. It plays the first legal point of list 1, then 2, 3, 4; else a random legal point
(a Fisher-Yates shuffle of the empty points drawn with C's ``rand()``, then the first legal one).
When it has no legal point the game is over (a terminal). A game also ends after ``3 n`` steps
(a truncation; that step's action is ignored). Either way the board is scored by area
(Tromp-Taylor): stones plus empty regions that reach only one colour; the agent wins when its
area minus the opponent's minus ``komi`` is positive.

Observations (float32, ``2 n + 2``): the agent's stones (0/1 per point), the opponent's, then
the stones the agent has captured and the stones the opponent has captured this game
(unscaled). Episode stats: ``score`` = the final area difference minus komi (3.0's score),
``perf`` = 1 for a win else 0 (the win rate).

3.0's rendering options (``width``, ``height``, ``board_width``, ``board_height``,
``grid_square_size``) and its state initialisers (``moves_made``, ``score``,
``last_capture_position``) are not options here.

Differences from PufferLib 3.0
------------------------------
- *Game ends are flagged.* 3.0 sets ``terminals`` and then clears it in the same step (the reset
  inside its game end zeroes it), so no episode ever ends for its trainer. Here a game the
  opponent cannot continue ends with ``terminals``, one cut at ``3 n`` steps with
  ``truncations``.
- *Territory counts.* 3.0's scorer marks an empty region as bordering both colours as soon as
  its search meets an empty point it has already visited, so only one-point regions (and a few
  others, by search order) ever count as territory. Here every empty region reaching one colour
  only is that colour's area, as Tromp-Taylor scores.
- *Captures pay.* 3.0 adds ``reward_player_capture`` per captured stone to the reward and then
  overwrites the reward with ``reward_move_valid`` (its logged return keeps it, so its log and
  its rewards disagree). Here the agent receives it.
- *The win rate is a win rate.* 3.0 logs ``perf`` as a running mean per game and then divides
  the sum of those means by the number of episodes. Here ``perf`` is each episode's 0/1, averaged.
- *The observation space holds the capture counts.* 3.0 declares ``Box(0, 1)`` and writes stone
  counts above 1 into it; here the space is ``Box(0, inf)``.
- *Seeds*: game ``g`` draws from its own generator (as every native env does); 3.0's games share
  C's one ``rand()`` stream.

Kept as 3.0 plays them: the agent is not bound by ko (its ko check compares with the position
before its own move, which never recurs); after a pass the opponent's ko check uses the position
before the agent's last placement; when the opponent tries a recapture that ko then forbids, the
stones it would have captured still count in the observation and still cost the agent
``reward_opponent_capture`` (3.0 counts captures before it checks ko).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

EMPTY, PLAYER, OPPONENT = 0, 1, 2
PASS = 0
# Rows of a game's state (``stones[g, ROW, point]``): the board, the union-find forest of its
# groups (PARENT, RANK; LIBERTIES is kept at each root), the board before the agent's last
# placement (the opponent's ko reference) and the final board of the last game that ended. A
# move is tried on a scratch copy (rows BOARD..LIBERTIES).
BOARD, PARENT, RANK, LIBERTIES, PREVIOUS, FINAL = range(6)
# Per-game counters: stones captured by the agent, by the opponent, and the step count.
CAPTURED_BY_PLAYER, CAPTURED_BY_OPPONENT, TICKS = range(3)
# Rows of the integer scratch space: search marks, a queue, the groups a move touches, the
# opponent's 4 candidate lists, the shuffled empty points, the liberty found for each group
# root during the opponent's scan (and the mark saying it is this scan's), and (row MISC) the
# search stamp and the candidate lists' lengths.
VISITED, QUEUE, AFFECTED, LIST1, POINTS, ROOT_MARK, ROOT_LIBERTY, MISC = 0, 1, 2, 3, 7, 8, 9, 10
STAMP, COUNTS = 0, 1
LOG_PERF = core.LOG_EXTRA
# Neighbours in 3.0's order: left, right, up, down.
STEP_X = np.array([-1, 1, 0, 0], dtype=np.int64)
STEP_Y = np.array([0, 0, -1, 1], dtype=np.int64)


def neighbour_table(size: int) -> np.ndarray:
    """``(size**2, 4)``: each point's neighbours (left, right, up, down), -1 off the board."""
    table = np.full((size * size, 4), -1, dtype=np.int64)
    for point in range(size * size):
        y, x = divmod(point, size)
        for d in range(4):
            nx, ny = x + STEP_X[d], y + STEP_Y[d]
            if 0 <= nx < size and 0 <= ny < size:
                table[point, d] = ny * size + nx
    return table


@numba.njit(cache=True, inline="always")
def _find(rows: np.ndarray, point: int) -> int:
    """The root of ``point``'s group in the forest ``rows[PARENT]`` (3.0 also compresses paths,
    which never changes a root)."""
    while rows[PARENT, point] != point:
        point = rows[PARENT, point]
    return point


@numba.njit(cache=True, inline="always")
def _stamp(work: np.ndarray) -> int:
    """A fresh mark for ``work[VISITED]`` (a search starts with nothing visited)."""
    work[MISC, STAMP] += 1
    return work[MISC, STAMP]


@numba.njit(cache=True)
def _count_liberties(rows: np.ndarray, work: np.ndarray, nbr: np.ndarray, root: int) -> int:
    mark = _stamp(work)
    colour = rows[BOARD, root]
    work[VISITED, root] = mark
    work[QUEUE, 0] = root
    front, rear, liberties = 0, 1, 0
    while front < rear:
        point = work[QUEUE, front]
        front += 1
        for d in range(4):
            other = nbr[point, d]
            if other < 0 or work[VISITED, other] == mark:
                continue
            if rows[BOARD, other] == EMPTY:
                liberties += 1
                work[VISITED, other] = mark
            elif rows[BOARD, other] == colour:
                work[QUEUE, rear] = other
                rear += 1
                work[VISITED, other] = mark
    return liberties


@numba.njit(cache=True)
def _first_liberty(rows: np.ndarray, work: np.ndarray, nbr: np.ndarray, root: int) -> int:
    """The first empty neighbour a breadth-first search of ``root``'s group meets; -1 if none."""
    mark = _stamp(work)
    colour = rows[BOARD, root]
    work[VISITED, root] = mark
    work[QUEUE, 0] = root
    front, rear = 0, 1
    while front < rear:
        point = work[QUEUE, front]
        front += 1
        for d in range(4):
            other = nbr[point, d]
            if other < 0:
                continue
            if rows[BOARD, other] == EMPTY:
                return other
            if rows[BOARD, other] == colour and work[VISITED, other] != mark:
                work[VISITED, other] = mark
                work[QUEUE, rear] = other
                rear += 1
    return -1


@numba.njit(cache=True)
def _union(rows: np.ndarray, a: int, b: int) -> None:
    """Union by rank, ties to ``a``'s root (3.0's order)."""
    a, b = _find(rows, a), _find(rows, b)
    if a == b:
        return
    if rows[RANK, a] < rows[RANK, b]:
        rows[PARENT, a] = b
    elif rows[RANK, a] > rows[RANK, b]:
        rows[PARENT, b] = a
    else:
        rows[PARENT, b] = a
        rows[RANK, a] += 1


@numba.njit(cache=True)
def _capture(
    rows: np.ndarray, work: np.ndarray, nbr: np.ndarray, root: int, affected: int
) -> tuple[int, int]:
    """Remove ``root``'s group; add the capturing groups it touched to the affected list.
    Returns (stones captured, new length of the affected list)."""
    mark = _stamp(work)
    captured_colour = rows[BOARD, root]
    capturing = 3 - captured_colour
    work[VISITED, root] = mark
    work[QUEUE, 0] = root
    front, rear = 0, 1
    while front < rear:
        point = work[QUEUE, front]
        front += 1
        rows[BOARD, point] = EMPTY
        for d in range(4):
            other = nbr[point, d]
            if other < 0:
                continue
            if rows[BOARD, other] == captured_colour and work[VISITED, other] != mark:
                work[VISITED, other] = mark
                work[QUEUE, rear] = other
                rear += 1
            elif rows[BOARD, other] == capturing:
                top = _find(rows, other)
                listed = False
                for i in range(affected):
                    if work[AFFECTED, i] == top:
                        listed = True
                        break
                if not listed:
                    work[AFFECTED, affected] = top
                    affected += 1
    return rear, affected


@numba.njit(cache=True)
def _play(
    stones: np.ndarray,
    trial: np.ndarray,
    counters: np.ndarray,
    work: np.ndarray,
    nbr: np.ndarray,
    g: int,
    point: int,
    player: int,
) -> tuple[bool, int]:
    """3.0's ``make_move``: place ``player``'s stone on ``point`` if legal (committing the board).
    Returns (legal, stones captured). Captures are counted in ``counters`` as they happen, so a
    move that ko then forbids keeps its count (as in 3.0)."""
    if stones[g, BOARD, point] != EMPTY:
        return False, 0
    for row in range(LIBERTIES + 1):
        for p in range(trial.shape[1]):
            trial[row, p] = stones[g, row, p]
    trial[BOARD, point] = player
    trial[PARENT, point] = point
    trial[RANK, point] = 0
    trial[LIBERTIES, point] = 0
    work[AFFECTED, 0] = point
    affected = 1
    for d in range(4):
        other = nbr[point, d]
        if other < 0:
            continue
        if trial[BOARD, other] == player:
            _union(trial, point, other)
            work[AFFECTED, affected] = other
            affected += 1
        elif trial[BOARD, other] == 3 - player:
            work[AFFECTED, affected] = other
            affected += 1
    for i in range(affected):
        root = _find(trial, work[AFFECTED, i])
        trial[LIBERTIES, root] = _count_liberties(trial, work, nbr, root)
    captured = 0
    i = 0
    while i < affected:  # the list grows as captures touch more groups
        root = _find(trial, work[AFFECTED, i])
        if trial[BOARD, root] == 3 - player and trial[LIBERTIES, root] == 0:
            count, affected = _capture(trial, work, nbr, root, affected)
            captured += count
            counters[g, CAPTURED_BY_PLAYER + player - 1] += count
        i += 1
    if captured > 0:
        for i in range(affected):
            root = _find(trial, work[AFFECTED, i])
            trial[LIBERTIES, root] = _count_liberties(trial, work, nbr, root)
        ko = True
        for p in range(trial.shape[1]):
            if trial[BOARD, p] != stones[g, PREVIOUS, p]:
                ko = False
                break
        if ko:
            return False, captured
    if trial[LIBERTIES, _find(trial, point)] == 0:  # suicide
        return False, captured
    for row in range(LIBERTIES + 1):
        for p in range(trial.shape[1]):
            stones[g, row, p] = trial[row, p]
    return True, captured


@numba.njit(cache=True)
def _opponent_moves(
    stones: np.ndarray,
    trial: np.ndarray,
    counters: np.ndarray,
    work: np.ndarray,
    nbr: np.ndarray,
    rng: np.ndarray,
    g: int,
) -> tuple[bool, int]:
    """3.0's ``enemy_greedy_hard``. Returns (it moved, stones it captured in all its tries)."""
    points = stones.shape[2]
    rows = stones[g]
    for p in range(4):
        work[MISC, COUNTS + p] = 0
    scan = _stamp(work)
    for i in range(points):
        colour = rows[BOARD, i]
        if colour == EMPTY:
            continue
        root = _find(rows, i)
        liberties = rows[LIBERTIES, root]
        if (colour == PLAYER and 1 <= liberties <= 4) or (colour == OPPONENT and liberties == 1):
            if work[ROOT_MARK, root] != scan:  # one search per group (3.0 searches per stone)
                work[ROOT_MARK, root] = scan
                work[ROOT_LIBERTY, root] = _first_liberty(rows, work, nbr, root)
            slot = COUNTS + liberties - 1
            work[LIST1 + liberties - 1, work[MISC, slot]] = work[ROOT_LIBERTY, root]
            work[MISC, slot] += 1
    captured = 0
    for p in range(4):
        for i in range(work[MISC, COUNTS + p]):
            point = work[LIST1 + p, i]
            if point < 0:  # a group without a liberty: never on a consistent board
                continue
            legal, count = _play(stones, trial, counters, work, nbr, g, point, OPPONENT)
            captured += count
            if legal:
                return True, captured
    count = 0
    for i in range(points):
        if rows[BOARD, i] == EMPTY:
            work[POINTS, count] = i
            count += 1
    for i in range(count - 1, 0, -1):
        j = core.randint(rng, g, i + 1)
        work[POINTS, i], work[POINTS, j] = work[POINTS, j], work[POINTS, i]
    for i in range(count):
        legal, stones_taken = _play(stones, trial, counters, work, nbr, g, work[POINTS, i], OPPONENT)
        captured += stones_taken
        if legal:
            return True, captured
    return False, captured


@numba.njit(cache=True)
def area_score(board: np.ndarray, nbr: np.ndarray, work: np.ndarray, komi: float) -> np.float32:
    """Tromp-Taylor: the agent's stones and empty regions reaching only its stones, minus the
    opponent's, minus ``komi`` (float32 arithmetic, as 3.0)."""
    mark = _stamp(work)
    mine = theirs = 0
    for point in range(board.shape[0]):
        mine += board[point] == PLAYER
        theirs += board[point] == OPPONENT
    for start in range(board.shape[0]):
        if board[start] != EMPTY or work[VISITED, start] == mark:
            continue
        work[VISITED, start] = mark
        work[QUEUE, 0] = start
        front, rear, reaches = 0, 1, 0  # bit 1: the agent's stones, bit 2: the opponent's
        while front < rear:
            point = work[QUEUE, front]
            front += 1
            for d in range(4):
                other = nbr[point, d]
                if other < 0:
                    continue
                if board[other] == EMPTY:
                    if work[VISITED, other] != mark:
                        work[VISITED, other] = mark
                        work[QUEUE, rear] = other
                        rear += 1
                else:
                    reaches |= board[other]
        if reaches == PLAYER:
            mine += rear
        elif reaches == OPPONENT:
            theirs += rear
    return np.float32(mine) - np.float32(theirs) - np.float32(komi)


@numba.njit(cache=True)
def _clear(stones: np.ndarray, counters: np.ndarray, returns: np.ndarray, obs: np.ndarray, g: int) -> None:
    for p in range(stones.shape[2]):
        stones[g, BOARD, p] = EMPTY
        stones[g, PARENT, p] = p
        stones[g, RANK, p] = 0
        stones[g, LIBERTIES, p] = 0
        stones[g, PREVIOUS, p] = EMPTY
    for k in range(counters.shape[1]):
        counters[g, k] = 0
    returns[g] = 0.0
    for k in range(obs.shape[1]):
        obs[g, k] = 0.0


@numba.njit(cache=True)
def _observe(stones: np.ndarray, counters: np.ndarray, obs: np.ndarray, g: int) -> None:
    points = stones.shape[2]
    for p in range(points):
        colour = stones[g, BOARD, p]
        obs[g, p] = colour == PLAYER
        obs[g, points + p] = colour == OPPONENT
    obs[g, 2 * points] = counters[g, CAPTURED_BY_PLAYER]
    obs[g, 2 * points + 1] = counters[g, CAPTURED_BY_OPPONENT]


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    stones: np.ndarray,
    counters: np.ndarray,
    returns: np.ndarray,
    trial: np.ndarray,
    work: np.ndarray,
    nbr: np.ndarray,
    rewards_table: np.ndarray,
    komi: float,
    rng: np.ndarray,
    actions: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: clear every board instead); 1 if an action
    was out of range, else 0. ``rewards_table``: pass, invalid, valid, player capture, opponent
    capture (float32, as 3.0 stores them)."""
    num_games, points = stones.shape[0], stones.shape[2]
    if reset_all:
        for g in range(num_games):
            _clear(stones, counters, returns, obs, g)
        return 0
    move_pass, invalid, valid = rewards_table[0], rewards_table[1], rewards_table[2]
    player_capture, opponent_capture = rewards_table[3], rewards_table[4]
    one = np.float32(1.0)
    bad = 0
    for g in range(num_games):
        action = actions[g]
        if action < 0 or action > points:
            bad = 1
            action = PASS
        counters[g, TICKS] += 1
        reward = np.float32(0.0)
        over = truncated = False
        if counters[g, TICKS] > 3 * points:  # 3.0's move limit; the action is ignored
            truncated = True
        elif action == PASS:
            reward = move_pass
            moved, captured = _opponent_moves(stones, trial, counters, work, nbr, rng, g)
            for _ in range(captured):
                reward += opponent_capture
            over = not moved
        else:
            for p in range(points):
                stones[g, PREVIOUS, p] = stones[g, BOARD, p]
            legal, captured = _play(stones, trial, counters, work, nbr, g, action - 1, PLAYER)
            if legal:
                reward = valid
                for _ in range(captured):
                    reward += player_capture
                moved, captured = _opponent_moves(stones, trial, counters, work, nbr, rng, g)
                for _ in range(captured):
                    reward += opponent_capture
                over = not moved
            else:
                reward = invalid
            reward = min(max(reward, -one), one)
        terminals[g] = over
        truncations[g] = truncated
        if over or truncated:
            for p in range(points):
                stones[g, FINAL, p] = stones[g, BOARD, p]
            score = area_score(stones[g, BOARD], nbr, work, komi)
            reward = np.float32(1.0) if score > 0 else (np.float32(-1.0) if score < 0 else np.float32(0.0))
            core.log_episode(log, g, returns[g] + reward, counters[g, TICKS], float(score))
            log[g, LOG_PERF] += score > 0
            _clear(stones, counters, returns, obs, g)
        else:
            returns[g] += reward
            _observe(stones, counters, obs, g)
        rewards[g] = reward
    return bad


class Go(NativeEnv):
    """``num_envs`` games of Go against 3.0's scripted opponent (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)

    def __init__(
        self,
        num_envs: int = 1,
        grid_size: int = 7,
        komi: float = 7.5,
        reward_move_pass: float = -0.25,
        reward_move_invalid: float = -0.1,
        reward_move_valid: float = 0.1,
        reward_player_capture: float = 0.25,
        reward_opponent_capture: float = -0.25,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.grid_size = check_positive_int("grid_size", grid_size, 2)
        if self.grid_size > 19:
            raise APIUsageError(f"Go: grid_size must be at most 19, got {grid_size}.")
        values = {
            "komi": komi,
            "reward_move_pass": reward_move_pass,
            "reward_move_invalid": reward_move_invalid,
            "reward_move_valid": reward_move_valid,
            "reward_player_capture": reward_player_capture,
            "reward_opponent_capture": reward_opponent_capture,
        }
        for name, value in values.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float | np.number)
                or not np.isfinite(value)
            ):
                raise APIUsageError(f"Go: {name} must be a finite number, got {value!r}.")
        self.komi = float(komi)
        self.rewards_table = np.array(list(values.values())[1:], dtype=np.float32)
        points = self.grid_size**2
        self.single_observation_space = gymnasium.spaces.Box(0.0, np.inf, (2 * points + 2,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(points + 1)
        super().__init__(num_envs, render_mode, report_interval, buf)
        g = self.num_envs
        self.nbr = neighbour_table(self.grid_size)
        self.stones = np.zeros((g, FINAL + 1, points), dtype=np.int16)
        self.stones[:, PARENT] = np.arange(points)
        self.counters = np.zeros((g, TICKS + 1), dtype=np.int64)
        self.returns = np.zeros(g, dtype=np.float64)
        self._trial = np.zeros((LIBERTIES + 1, points), dtype=np.int16)
        self._work = np.zeros((MISC + 1, points + 8), dtype=np.int64)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.stones,
            self.counters,
            self.returns,
            self._trial,
            self._work,
            self.nbr,
            self.rewards_table,
            self.komi,
            self.rng,
            actions,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def board(self, game: int = 0) -> np.ndarray:
        """Game ``game``'s board, ``(grid_size, grid_size)`` of EMPTY/PLAYER/OPPONENT."""
        return self.stones[game, BOARD].reshape(self.grid_size, self.grid_size)

    def set_position(
        self, game: int, board: np.ndarray, previous: np.ndarray | None = None, ticks: int = 0
    ) -> None:
        """Put game ``game`` on ``board`` (``(grid_size, grid_size)`` of EMPTY/PLAYER/OPPONENT)
        after ``ticks`` steps, with no captures yet; ``previous`` is the position before the
        agent's last placement (the opponent's ko reference; default: empty). Each group's root
        is its first point."""
        size = self.grid_size
        board = np.asarray(board)
        previous = np.zeros_like(board) if previous is None else np.asarray(previous)
        for name, array in (("board", board), ("previous", previous)):
            if array.shape != (size, size) or not np.isin(array, (EMPTY, PLAYER, OPPONENT)).all():
                raise APIUsageError(f"Go.set_position: {name} must be {size}x{size} of 0/1/2.")
        flat = board.ravel()
        rows = self.stones[game]
        rows[BOARD] = flat
        rows[PARENT] = np.arange(size * size)
        rows[RANK] = 0
        rows[LIBERTIES] = 0
        rows[PREVIOUS] = previous.ravel()
        for start in np.flatnonzero(flat):
            if rows[PARENT, start] != start:
                continue  # in an earlier point's group
            group, frontier, liberties = {int(start)}, [int(start)], set()
            while frontier:
                point = frontier.pop()
                for other in self.nbr[point]:
                    if other < 0:
                        continue
                    if flat[other] == EMPTY:
                        liberties.add(int(other))
                    elif flat[other] == flat[start] and other not in group:
                        group.add(int(other))
                        frontier.append(int(other))
            for point in group:
                rows[PARENT, point] = start
            rows[RANK, start] = 1 if len(group) > 1 else 0
            rows[LIBERTIES, start] = len(liberties)
        self.counters[game] = 0
        self.counters[game, TICKS] = ticks
        self.returns[game] = 0.0
        points = size * size
        self.observations[game] = 0.0
        self.observations[game, :points] = flat == PLAYER
        self.observations[game, points : 2 * points] = flat == OPPONENT

    def final_board(self, game: int = 0) -> np.ndarray:
        """The board on which game ``game``'s last finished episode was scored."""
        return self.stones[game, FINAL].reshape(self.grid_size, self.grid_size)

    def render_ansi(self) -> str:
        symbols = {EMPTY: ".", PLAYER: "X", OPPONENT: "O"}
        lines = [" ".join(symbols[int(v)] for v in row) for row in self.board(0)]
        captured = self.counters[0]
        lines.append(
            f"step {int(captured[TICKS])}, captured: X {int(captured[CAPTURED_BY_PLAYER])}, "
            f"O {int(captured[CAPTURED_BY_OPPONENT])}"
        )
        return "\n".join(lines) + "\n"

    def render_rgb(self) -> np.ndarray:
        palette = {EMPTY: (200, 160, 90), PLAYER: (20, 20, 20), OPPONENT: (240, 240, 240)}
        image = draw.grid_image(self.board(0).astype(np.int64), palette, cell_pixels=24)
        for k in range(self.grid_size):  # grid lines through the points
            image[k * 24 + 11 : k * 24 + 13, 11 : self.grid_size * 24 - 11] = (90, 60, 30)
            image[11 : self.grid_size * 24 - 11, k * 24 + 11 : k * 24 + 13] = (90, 60, 30)
        board = self.board(0)
        for r, c in zip(*np.nonzero(board)):  # stones over the lines
            draw.fill_rect(image, r * 24 + 3, c * 24 + 3, 18, 18, palette[int(board[r, c])])
        return image
