"""Checkers against a scripted random opponent: a port of PufferLib 3.0's ``puffer_checkers``.

The board is ``size x size`` (default 8, at least 7: three rows of pieces a side and a row
between them). The agent's pieces ("blue", pawns ``1``, kings
``2``) start on the dark squares (``(row + col)`` odd) of rows 0-2 and move down (toward
higher rows); the opponent's ("red", pawns ``3``, kings ``4``) start on rows
``size - 3 .. size - 1`` and move up. The side to move is blue first.

Actions: ``Discrete(size * size * 8)``; action ``a`` moves the piece on square ``a // 8``
(row-major) in direction ``a % 8``: 0-3 one step to (up-left, up-right, down-left,
down-right), 4-7 a jump of two steps the same ways ("up" is toward row 0). A move is legal
when the square holds a piece of the side to move, the target is on the board and empty,
a pawn goes forward (kings go both ways), and a jump passes over a piece of the other side,
which is captured. When the side to move has a *forward* capture (3.0 looks only forward,
kings included), only jumps are legal. A pawn reaching the far row becomes a king. After a
jump, the same side moves again if it still has a forward capture (any piece's); otherwise
the turn passes.

Each step: the agent's action is played for the side to move. If it is illegal nothing
moves, and the turn does not pass. Then, unless the game ended, the scripted opponent plays
one move for the side to move: it draws squares uniformly (``rand() % (size * size)``)
until one holds a piece of that side with a legal move, and plays that piece's first legal
direction in the order above. So after an illegal action the script moves the agent's
pieces and the agent then moves the other side's, and after a jump with another capture
the same side moves twice: the sides the agent and the script play swap, as in 3.0.

Rewards (float32, each move's, clamped to [-1, 1]; a step's reward is that of the last move
made in it): -0.05 if a blue piece was captured; +0.1 if red made a capture, else +0.01 if
blue moved; +0.05 if a pawn was promoted while a blue king stands on the last row; and when
the side to move has no pieces or no move, the game is over: +1 if blue won, -1 if red won
(replacing the rest). An illegal action costs -1: the step's reward is then -1 plus the
script's move's reward, clamped to [-1, 1].

Episode end: a terminal when the game is over (as above); a truncation when the agent has
taken ``max_moves`` steps (default 200, ``0`` for no limit) without the game ending.

Observations (uint8, ``size * size``): the board, row-major, cell values as above (``0``
empty). Episode stats: ``score`` is 3.0's material evaluation of the final board (blue pawn
``1 + 0.1 * row``, king 2; red pawn ``-(1 + 0.1 * (size - 1 - row))``, king -2); ``perf``
and ``winrate`` are 1 for a blue win, else 0.

Differences from PufferLib 3.0:

- 3.0 resets a finished game inside ``c_step`` after writing its terminal flag and final
  reward, and the reset clears both: the trainer never sees the end of a game or its +-1.
  Here the step that ends a game reports ``terminals = True`` and the final reward.
- 3.0's opponent calls ``srand(time(NULL))`` before every move, so within one wall-clock
  second every move probes the squares in the same order (and a game's course depends on
  the time of day). Here it draws from the game's own generator: a game's course depends
  only on its seed and actions.
- 3.0 logs only the last step's reward as ``episode_return``; here it is the episode's sum.
- 3.0 declares the observations ``Box(0, 1)``; the cells hold 0-4, so here it is ``Box(0, 4)``.
- 3.0 has no time limit: a policy that never ends a game (e.g. one that moves a king back
  and forth, each move paying its shaped reward) plays one game forever, and training stalls
  on it. Here the option ``max_moves`` (default 200 agent steps; random play's games last
  about 100) ends such a game as a truncation (``truncations = True``, ``terminals = False``),
  logged as an episode like any other (``perf`` and ``winrate`` 0, ``score`` the board's
  evaluation). ``max_moves=0`` plays as 3.0 does.
  ``perf`` is 1 for a win as in 3.0, where it is "the final reward is positive"; here a
  win that the script plays after an illegal action ends with a reward of 0 (below).
- 3.0 writes -1 for an illegal action and then lets the script's move overwrite it, so an
  illegal action pays what a legal one does or more (the script then moves blue: +0.01, where a
  legal move's step ends on red's move: 0), and random play is never told that its actions do
  nothing. Here the -1 stays: an illegal action's step earns -1 plus the script's move's
  reward (clamped to [-1, 1]), e.g. -0.99.

Rules kept from 3.0 as they play: the forced-capture test looks only forward (a king's
backward jump is legal but never forced), and it is cached: after a jump that ends a turn,
the new side's first move (and the game-over test after the jump) reuse the jumping side's
"no capture" answer, so that move is not forced to capture, and a side left with captures
but no plain move then loses.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

EMPTY, AGENT_PAWN, AGENT_KING, OPPONENT_PAWN, OPPONENT_KING = 0, 1, 2, 3, 4
# The sides, as 3.0 numbers them: each side's number is also its pawn's cell value, and the
# other side's number is ``4 - side``.
AGENT, OPPONENT = 1, 3
SIDE = np.array([EMPTY, AGENT, AGENT, OPPONENT, OPPONENT], dtype=np.int64)  # a cell's side
MOVE_TYPES = 8
# Row and column steps of the move types (row 0 is "up"); jump d passes over step d - 4's
# cell. Move types with bit 2 set (2, 3, 6, 7) go down: blue's forward direction.
DIRECTIONS = np.array(
    [(-1, -1), (-1, 1), (1, -1), (1, 1), (-2, -2), (-2, 2), (2, -2), (2, 2)], dtype=np.int64
)
# Per-game state columns: 3.0's counters, and its two caches (value, valid) for "a forward
# capture is available to the side to move" and "the game is over".
TICK, PLAYER, AGENT_PIECES, OPPONENT_PIECES, CAPTURE, CAPTURE_VALID, OVER, OVER_VALID = range(8)
NUM_STATE = 8
LOG_PERF, LOG_WINRATE = core.LOG_EXTRA, core.LOG_EXTRA + 1
# The opponent draws squares until one holds a movable piece; a real generator finds one
# long before this (there is always one while the game goes on), a finished random tape not.
_MAX_DRAWS = 1 << 16
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_TENTH = np.float32(0.1)
_CAPTURED = np.float32(0.05)
_CAPTURING = np.float32(0.1)
_MOVING = np.float32(0.01)
_PROMOTING = np.float32(0.05)


def move_targets(size: int) -> np.ndarray:
    """``(size * size, 8)``: the square each move type from each square lands on, -1 off the board
    (the kernels' neighbour table: no row/column arithmetic or bounds checks in their scans)."""
    rows, cols = np.divmod(np.arange(size * size), size)
    to_rows = rows[:, None] + DIRECTIONS[None, :, 0]
    to_cols = cols[:, None] + DIRECTIONS[None, :, 1]
    inside = (to_rows >= 0) & (to_rows < size) & (to_cols >= 0) & (to_cols < size)
    return np.where(inside, to_rows * size + to_cols, -1).astype(np.int64)


@numba.njit(cache=True, inline="always")
def _pawn_may(player: int, d: int) -> bool:
    """Whether a pawn of ``player`` may move in direction ``d`` (blue's go down, red's up)."""
    return ((d & 2) != 0) == (player == AGENT)


@numba.njit(cache=True)
def _capture_available(board: np.ndarray, targets: np.ndarray, state: np.ndarray, g: int) -> bool:
    """Whether a piece of the side to move can jump *forward* over an enemy piece (cached as 3.0 does)."""
    if state[g, CAPTURE_VALID]:
        return state[g, CAPTURE] != 0
    player = state[g, PLAYER]
    enemy = 4 - player
    first = 6 if player == AGENT else 4  # backward jumps are never counted, for kings neither
    found = 0
    for i in range(board.shape[1]):
        if SIDE[board[g, i]] != player:
            continue
        for d in range(first, first + 2):
            j = targets[i, d]
            if j >= 0 and board[g, j] == EMPTY and SIDE[board[g, targets[i, d - 4]]] == enemy:
                found = 1
        if found:
            break
    state[g, CAPTURE] = found
    state[g, CAPTURE_VALID] = 1
    return found != 0


@numba.njit(cache=True)
def _is_game_over(board: np.ndarray, targets: np.ndarray, state: np.ndarray, g: int) -> bool:
    """No pieces on a side, or the side to move has neither a capture (as cached) nor a step."""
    if state[g, OVER_VALID]:
        return state[g, OVER] != 0
    over = 1
    if state[g, AGENT_PIECES] == 0 or state[g, OPPONENT_PIECES] == 0:
        over = 1
    elif _capture_available(board, targets, state, g):
        over = 0
    else:
        player = state[g, PLAYER]
        for i in range(board.shape[1]):
            piece = board[g, i]
            if SIDE[piece] != player:
                continue
            for d in range(4):
                j = targets[i, d]
                if j >= 0 and board[g, j] == EMPTY and (piece != player or _pawn_may(player, d)):
                    over = 0
            if over == 0:
                break
    state[g, OVER] = over
    state[g, OVER_VALID] = 1
    return over != 0


@numba.njit(cache=True)
def _winner(board: np.ndarray, targets: np.ndarray, state: np.ndarray, g: int) -> int:
    if state[g, AGENT_PIECES] == 0:
        return OPPONENT
    if state[g, OPPONENT_PIECES] == 0:
        return AGENT
    if _is_game_over(board, targets, state, g):
        return 4 - state[g, PLAYER]
    return EMPTY


@numba.njit(cache=True)
def _is_legal(board: np.ndarray, targets: np.ndarray, state: np.ndarray, g: int, square: int, d: int) -> bool:
    """3.0's ``is_valid_move`` for the piece on ``square`` moving in direction ``d``."""
    jump = d >= 4
    # The capture test runs (and fills its cache) before anything else, as in 3.0.
    if _capture_available(board, targets, state, g) and not jump:
        return False
    j = targets[square, d]
    if j < 0:
        return False
    player = state[g, PLAYER]
    piece = board[g, square]
    if SIDE[piece] != player or board[g, j] != EMPTY:
        return False
    if piece == player and not _pawn_may(player, d):
        return False
    return not jump or SIDE[board[g, targets[square, d - 4]]] == 4 - player


@numba.njit(cache=True)
def _make_move(
    board: np.ndarray, targets: np.ndarray, state: np.ndarray, g: int, n: int, action: int
) -> tuple[np.float32, bool]:
    """Play the legal ``action`` for the side to move (3.0's ``make_move`` past its validity check,
    which the callers make: ``_is_legal``, or the script's own move filter): (its reward, game over)."""
    square, d = action >> 3, action & 7
    player = state[g, PLAYER]
    board[g, targets[square, d]] = board[g, square]
    board[g, square] = EMPTY
    reward = _F0
    jump = d >= 4
    if jump:
        middle = targets[square, d - 4]
        captured = SIDE[board[g, middle]]
        board[g, middle] = EMPTY
        if captured == AGENT:
            state[g, AGENT_PIECES] -= 1
            reward -= _CAPTURED
        elif captured == OPPONENT:
            state[g, OPPONENT_PIECES] -= 1
    state[g, CAPTURE_VALID] = 0
    state[g, OVER_VALID] = 0
    promoted = False  # 3.0 scans both far rows after every move
    last = n * (n - 1)
    for i in range(n):
        if board[g, i] == OPPONENT_PAWN:
            board[g, i] = OPPONENT_KING
            promoted = True
    for i in range(n):
        if board[g, last + i] == AGENT_PAWN:
            board[g, last + i] = AGENT_KING
            promoted = True
    if jump and player == OPPONENT:
        reward += _CAPTURING
    elif player == AGENT:
        reward += _MOVING
    if not jump or not _capture_available(board, targets, state, g):
        state[g, PLAYER] = 4 - player
    if promoted:
        for i in range(n):
            if board[g, last + i] == AGENT_KING:
                reward += _PROMOTING
                break
    over = _is_game_over(board, targets, state, g)
    if over:
        reward = _F1 if _winner(board, targets, state, g) == AGENT else -_F1
    return min(max(reward, -_F1), _F1), over


@numba.njit(cache=True)
def _scripted_move(
    board: np.ndarray, targets: np.ndarray, state: np.ndarray, rng: np.ndarray, g: int, n: int
) -> tuple[np.float32, bool, bool]:
    """3.0's random opponent, for the side to move: (reward, game over, whether it moved)."""
    player = state[g, PLAYER]
    enemy = 4 - player
    first = 4 if _capture_available(board, targets, state, g) else 0  # with a capture, jumps only
    cells = board.shape[1]
    for _ in range(_MAX_DRAWS):
        i = core.randint(rng, g, cells)
        piece = board[g, i]
        if SIDE[piece] != player:
            continue
        for d in range(first, MOVE_TYPES):
            j = targets[i, d]
            if j < 0 or board[g, j] != EMPTY:
                continue
            if piece == player and not _pawn_may(player, d):
                continue
            if d >= 4 and SIDE[board[g, targets[i, d - 4]]] != enemy:
                continue
            reward, over = _make_move(board, targets, state, g, n, i * MOVE_TYPES + d)
            return reward, over, True
    return _F0, False, False


@numba.njit(cache=True)
def _evaluate(board: np.ndarray, g: int, n: int) -> np.float32:
    """3.0's ``evaluate_position`` (in float32, in its order): blue's material minus red's."""
    score = _F0
    for i in range(n * n):
        piece = board[g, i]
        r = i // n
        if piece == AGENT_PAWN:
            score += _F1 + np.float32(r) * _TENTH
        elif piece == AGENT_KING:
            score += np.float32(2.0)
        elif piece == OPPONENT_PAWN:
            score -= _F1 + np.float32(n - 1 - r) * _TENTH
        elif piece == OPPONENT_KING:
            score -= np.float32(2.0)
    return score


@numba.njit(cache=True)
def _count_pieces(board: np.ndarray, state: np.ndarray, g: int, n: int) -> None:
    agent = opponent = 0
    for i in range(n * n):
        side = SIDE[board[g, i]]
        if side == AGENT:
            agent += 1
        elif side == OPPONENT:
            opponent += 1
    state[g, AGENT_PIECES] = agent
    state[g, OPPONENT_PIECES] = opponent
    state[g, CAPTURE_VALID] = 0
    state[g, OVER_VALID] = 0


@numba.njit(cache=True)
def _start(board: np.ndarray, state: np.ndarray, returns: np.ndarray, g: int, n: int) -> None:
    board[g, :] = EMPTY
    for r in range(3):
        for c in range(n):
            if (r + c) % 2:
                board[g, r * n + c] = AGENT_PAWN
    for r in range(n - 3, n):
        for c in range(n):
            if (r + c) % 2:
                board[g, r * n + c] = OPPONENT_PAWN
    state[g, TICK] = 0
    state[g, PLAYER] = AGENT
    returns[g] = 0.0
    _count_pieces(board, state, g, n)


@numba.njit(cache=True)
def step_kernel(
    board: np.ndarray,
    targets: np.ndarray,
    state: np.ndarray,
    returns: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    n: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    max_moves: int,
    reset_all: bool,
) -> int:
    """Step every game (``reset_all``: start every game instead); 1 if an action was out of range."""
    num_actions = n * n * MOVE_TYPES
    if reset_all:
        for g in range(board.shape[0]):
            _start(board, state, returns, g, n)
            obs[g, :] = board[g, :]
        return 0
    bad = 0
    for g in range(board.shape[0]):
        action = actions[g]
        if action < 0 or action >= num_actions:
            bad = 1
            action = 0
        state[g, TICK] += 1
        legal = _is_legal(board, targets, state, g, action >> 3, action & 7)
        reward, over = -_F1, False
        if legal:
            reward, over = _make_move(board, targets, state, g, n, action)
        if not over:
            scripted, scripted_over, moved = _scripted_move(board, targets, state, rng, g, n)
            if moved:
                reward, over = scripted, scripted_over
        if not legal:  # 3.0 lets the script's reward overwrite the -1 (see the module docstring)
            reward = max(reward - _F1, -_F1)
        truncated = not over and max_moves > 0 and state[g, TICK] >= max_moves
        rewards[g] = reward
        terminals[g] = over
        truncations[g] = truncated
        returns[g] += reward
        if over or truncated:
            won = 1.0 if over and _winner(board, targets, state, g) == AGENT else 0.0
            core.log_episode(log, g, returns[g], state[g, TICK], float(_evaluate(board, g, n)))
            log[g, LOG_PERF] += won  # 3.0's "final reward > 0": a win there (see the docstring)
            log[g, LOG_WINRATE] += won
            _start(board, state, returns, g, n)
        obs[g, :] = board[g, :]
    return bad


class Checkers(NativeEnv):
    """``num_envs`` checkers games against 3.0's scripted opponent (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf", "winrate")

    def __init__(
        self,
        num_envs: int = 1,
        size: int = 8,
        max_moves: int = 200,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        # Three rows of pieces per side and at least one empty row between them: smaller
        # boards leave blue without a first move (3.0's opponent then never returns).
        self.size = check_positive_int("size", size, 7)
        if self.size > 64:
            raise APIUsageError(f"Checkers: size must be at most 64, got {size}.")
        self.max_moves = check_positive_int("max_moves (0: no time limit)", max_moves, 0)
        cells = self.size * self.size
        self.single_observation_space = gymnasium.spaces.Box(0, OPPONENT_KING, (cells,), np.uint8)
        self.single_action_space = gymnasium.spaces.Discrete(cells * MOVE_TYPES)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.board = np.zeros((self.num_envs, cells), dtype=np.uint8)
        self.state = np.zeros((self.num_envs, NUM_STATE), dtype=np.int64)
        self.returns = np.zeros(self.num_envs, dtype=np.float64)
        self._targets = move_targets(self.size)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.board,
            self._targets,
            self.state,
            self.returns,
            self.rng,
            actions,
            self.size,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            self.max_moves,
            reset_all,
        )

    def set_position(self, game: int, board: np.ndarray, player: int = AGENT) -> None:
        """Put game ``game`` in the position ``board`` (``size x size`` cell values, row 0 at
        the top) with ``player`` (``AGENT`` or ``OPPONENT``) to move; the caches are cleared."""
        board = np.asarray(board)
        n = self.size
        if board.shape != (n, n) or not np.isin(board, range(OPPONENT_KING + 1)).all():
            raise APIUsageError(f"Checkers.set_position: need a {n}x{n} board of cell values 0-4.")
        if player not in (AGENT, OPPONENT):
            raise APIUsageError(
                f"Checkers.set_position: player must be AGENT (1) or OPPONENT (3), got {player}."
            )
        self.board[game] = board.ravel()
        self.state[game, PLAYER] = player
        self.state[game, AGENT_PIECES] = int(np.isin(board, (AGENT_PAWN, AGENT_KING)).sum())
        self.state[game, OPPONENT_PIECES] = int(np.isin(board, (OPPONENT_PAWN, OPPONENT_KING)).sum())
        self.state[game, CAPTURE_VALID] = 0
        self.state[game, OVER_VALID] = 0
        self.observations[game] = self.board[game]

    def render_ansi(self) -> str:
        symbols = {EMPTY: ".", AGENT_PAWN: "b", AGENT_KING: "B", OPPONENT_PAWN: "r", OPPONENT_KING: "R"}
        n = self.size
        rows = [" ".join(symbols[int(v)] for v in self.board[0, r * n : (r + 1) * n]) for r in range(n)]
        side = "blue (agent)" if self.state[0, PLAYER] == AGENT else "red (opponent)"
        return "\n".join(rows) + f"\nto move: {side}\n"

    def render_rgb(self) -> np.ndarray:
        n, cell = self.size, 32
        image = np.empty((n * cell, n * cell, 3), dtype=np.uint8)
        squares = (np.add.outer(np.arange(n), np.arange(n)) % 2).repeat(cell, 0).repeat(cell, 1)
        image[:] = np.where(squares[..., None] == 1, (27, 27, 27), (13, 13, 13)).astype(np.uint8)
        yy, xx = np.mgrid[0:cell, 0:cell] - (cell - 1) / 2
        disc = yy**2 + xx**2 <= (cell / 3) ** 2
        crown = yy**2 + xx**2 <= (cell / 8) ** 2
        colours = {
            AGENT_PAWN: (0, 121, 241),
            AGENT_KING: (0, 121, 241),
            OPPONENT_PAWN: (230, 41, 55),
            OPPONENT_KING: (230, 41, 55),
        }
        for i, piece in enumerate(self.board[0]):
            if piece == EMPTY:
                continue
            tile = image[i // n * cell : (i // n + 1) * cell, i % n * cell : (i % n + 1) * cell]
            tile[disc] = colours[int(piece)]
            if piece in (AGENT_KING, OPPONENT_KING):
                tile[crown] = (245, 245, 245)
        return image
