"""Connect Four against PufferLib 3.0's negamax opponent, ``num_envs`` games per kernel call.

A port of PufferLib 3.0.0's ``puffer_connect4``. The board is 6 rows x 7 columns; the agent
plays first. Each step the agent drops a piece into a column (action 0-6):

- a full column is an illegal move: the agent loses (reward -1, terminal);
- four of the agent's pieces in a row (any direction) win: reward +1, terminal;
- otherwise the opponent replies, and four of its pieces in a row lose: reward -1, terminal;
- a full board with no four in a row is a draw: reward 0, terminal;
- else reward 0 and the game goes on.

The opponent: after the agent's first move into column 3 it answers column 2, after a first
move into column 4 it answers column 3 (3.0's opening book). Otherwise it takes the first
column (left to right) that wins at once; else it scores every legal column with a depth-3
sum-negamax (a four made by the side that just moved at remaining depth ``d`` is worth
``10**d`` to it, a full board 0, each node the negated sum of its children: 3.0's
heuristic, not a true minimax) and plays a best one, ties broken by C's ``rand() % ties``.

Observations (float32, 42): cell ``col * 6 + row`` (row 0 at the bottom) is +1 for the
agent's piece, -1 for the opponent's, 0 when empty. Episode stats: ``score`` is the final
reward (+1 win, -1 loss, 0 draw: 3.0's ``score``), ``perf`` is 1 for a win (its mean is the
win rate), ``episode_length`` the agent's moves.

Differences from PufferLib 3.0
------------------------------
- A full board is a draw (reward 0, terminal). 3.0 has no draw rule: the full board stays
  on, the agent's next move is necessarily into a full column, and that loses (-1), so 3.0
  scores a drawn game as a win for the opponent.
- A finished game restarts inside its last step (the returned observation is the new empty
  board), as every native env does. 3.0 returns the final board on the last step, then
  spends one more step (action ignored, reward 0, no flag) on clearing it.
- ``episode_length`` is the number of agent moves. 3.0 logs twice that (``add_log`` adds the
  length to itself) and clears its log on every reset, so its statistics only see games that
  ended on the very step it reports (with few games, often none: then its report has no
  ``episode_length`` key, and 3.0's trainer stops with ``KeyError('episode_length')``).
- The observation space is ``Box(-1, 1)``: 3.0 declares ``Box(0, 1)`` and writes -1.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv
from pufferlib.exceptions import APIUsageError

ROWS, COLS = 6, 7
CELLS = ROWS * COLS
AGENT, OPPONENT = 0, 1  # rows of ``pieces``
SEARCH_DEPTH = 3
LOG_PERF = core.LOG_EXTRA

# Bitboards (the gamesolver.org layout 3.0 uses): bit ``col * 7 + row`` (row 0 at the bottom),
# the 7th bit of each column an always-empty sentinel so that shifts never wrap.
_U = np.uint64
BOTTOM = _U(sum(1 << (c * (ROWS + 1)) for c in range(COLS)))  # row 0 of every column
BOARD = _U(BOTTOM * _U((1 << ROWS) - 1))  # every playable cell: the value of a full board
OPENING_KEY = _U(1 << ((COLS - 1) * (ROWS + 1)))  # 3.0's ``c_bottom()``, added to its position key
# 3.0's opening book, keyed by ``agent + mask + OPENING_KEY``: the agent's first move -> reply.
BOOK_CENTRE = _U(OPENING_KEY + _U(2 << (3 * (ROWS + 1))))  # agent played column 3: answer 2
BOOK_RIGHT = _U(OPENING_KEY + _U(2 << (4 * (ROWS + 1))))  # agent played column 4: answer 3
# 3.0's ``draw()`` compares the mask with this constant, meant as the full board; it is the
# two pieces at the bottom of columns 5 and 6, so 3.0's search scores that position 0
# (reached when the opponent weighs its first reply). A full board has no moves, so scores 0
# anyway: this quirk is the only effect of 3.0's draw test, and is kept.
QUIRK_DRAW = _U(4432406249472)
_ONE = _U(1)
_S1, _S2, _S3, _S6, _S7, _S8 = _U(1), _U(2), _U(3), _U(6), _U(7), _U(8)
_S12, _S14, _S16, _S21 = _U(12), _U(14), _U(16), _U(21)
_TOPS = np.array([1 << (c * (ROWS + 1) + ROWS - 1) for c in range(COLS)], dtype=np.uint64)
_BOTTOMS = np.array([1 << (c * (ROWS + 1)) for c in range(COLS)], dtype=np.uint64)


@numba.njit(cache=True, inline="always")
def _won(pieces: np.uint64) -> bool:
    """Whether ``pieces`` holds four in a row: horizontal, both diagonals, vertical."""
    m = pieces & (pieces >> _S7)
    if m & (m >> _S14):
        return True
    m = pieces & (pieces >> _S6)
    if m & (m >> _S12):
        return True
    m = pieces & (pieces >> _S8)
    if m & (m >> _S16):
        return True
    m = pieces & (pieces >> _S1)
    return (m & (m >> _S2)) != 0


@numba.njit(cache=True, inline="always")
def _winning_cells(pieces: np.uint64) -> np.uint64:
    """Every cell that would complete four in a row with ``pieces`` (empty or not)."""
    r = (pieces << _S1) & (pieces << _S2) & (pieces << _S3)  # vertical: three below
    for shift in (_S7, _S6, _S8):  # horizontal, both diagonals
        p = (pieces << shift) & (pieces << (shift + shift))
        r |= p & (pieces << (shift + shift + shift))
        r |= p & (pieces >> shift)
        p = (pieces >> shift) & (pieces >> (shift + shift))
        r |= p & (pieces << shift)
        r |= p & (pieces >> (shift + shift + shift))
    return r & BOARD


@numba.njit(cache=True, inline="always")
def _popcount(x: np.uint64) -> int:
    count = 0
    while x:
        x &= x - _ONE
        count += 1
    return count


@numba.njit(cache=True, inline="always")
def _depth1(pieces: np.uint64, other: np.uint64) -> int:
    """3.0's negamax at depth 1 (``other`` just moved, ``pieces`` is to move), in closed form.

    ``other``'s four is worth 10; a full board 0; else each legal move that makes a four is
    a child worth 1, so the node is minus their count. (The side to move never already holds
    a four: the search stops at the first one.)
    """
    if _won(other):
        return 10
    mask = pieces | other
    playable = (mask + BOTTOM) & BOARD  # the lowest empty cell of every non-full column
    return -_popcount(_winning_cells(pieces) & playable)


@numba.njit(cache=True)
def _depth2(pieces: np.uint64, other: np.uint64) -> int:
    if _won(other):
        return 100
    mask = pieces | other
    value = 0
    for col in range(COLS):
        if mask & _TOPS[col]:
            continue
        grown = mask | (mask + _BOTTOMS[col])
        value -= _depth1(other, other ^ grown)
    return value


@numba.njit(cache=True)
def _depth3(pieces: np.uint64, other: np.uint64) -> int:
    if _won(other):
        return 1000
    mask = pieces | other
    if mask == QUIRK_DRAW:
        return 0
    value = 0
    for col in range(COLS):
        if mask & _TOPS[col]:
            continue
        grown = mask | (mask + _BOTTOMS[col])
        value -= _depth2(other, other ^ grown)
    return value


@numba.njit(cache=True)
def opponent_move(agent: np.uint64, opponent: np.uint64, rng: np.ndarray, g: int, values: np.ndarray) -> int:
    """The column 3.0's opponent plays (see the module docstring); draws C's ``rand()`` only
    to break ties. ``values`` is scratch space for the 7 columns' values: integers of at most
    1000 in magnitude, so 3.0's float32 sums are exact and ints give the same ties."""
    mask = agent | opponent
    key = agent + mask + OPENING_KEY
    if key == BOOK_CENTRE:
        return 2
    if key == BOOK_RIGHT:
        return 3
    for col in range(COLS):
        if not mask & _TOPS[col] and _won(agent ^ (mask | (mask + _BOTTOMS[col]))):
            return col
    best = 9999
    for col in range(COLS):
        values[col] = 9999
        if mask & _TOPS[col]:
            continue
        values[col] = -_depth3(agent, agent ^ (mask | (mask + _BOTTOMS[col])))
        best = min(best, values[col])
    ties = 0
    for col in range(COLS):
        if values[col] == best:
            ties += 1
    pick = core.randint(rng, g, ties)
    for col in range(COLS):
        if values[col] == best:
            if pick == 0:
                return col
            pick -= 1
    return 0


@numba.njit(cache=True, inline="always")
def _put(obs: np.ndarray, g: int, col: int, mask: np.uint64, value: float) -> None:
    """Write the piece just played in column ``col`` (the top of ``mask`` there) into obs."""
    column = (mask >> _U(col * (ROWS + 1))) & _U((1 << ROWS) - 1)
    obs[g, col * ROWS + _popcount(column) - 1] = value


@numba.njit(cache=True)
def step_kernel(
    pieces: np.ndarray,
    ticks: np.ndarray,
    values: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one agent move and the opponent's reply (``reset_all``: clear every
    board instead); 1 if an action was not a column 0-6, else 0."""
    n = pieces.shape[0]
    if reset_all:
        for g in range(n):
            pieces[g, AGENT] = 0
            pieces[g, OPPONENT] = 0
            ticks[g] = 0
            obs[g, :] = 0.0
        return 0
    bad = 0
    one, minus_one = np.float32(1.0), np.float32(-1.0)
    for g in range(n):
        col = actions[g]
        if col < 0 or col >= COLS:
            bad = 1
            col = 0
        ticks[g] += 1
        agent, opponent = pieces[g, AGENT], pieces[g, OPPONENT]
        mask = agent | opponent
        reward = 0.0
        terminal = True
        if mask & _TOPS[col]:  # a full column: illegal, lost
            reward = -1.0
        else:
            mask = mask | (mask + _BOTTOMS[col])
            agent = opponent ^ mask
            if _won(agent):
                reward = 1.0
            else:
                _put(obs, g, col, mask, one)
                reply = opponent_move(agent, opponent, rng, g, values)
                mask = mask | (mask + _BOTTOMS[reply])
                opponent = agent ^ mask
                if _won(opponent):
                    reward = -1.0
                elif mask != BOARD:  # a full board is a draw (reward 0, terminal)
                    _put(obs, g, reply, mask, minus_one)
                    terminal = False
        rewards[g] = reward
        terminals[g] = terminal
        truncations[g] = False
        if terminal:
            core.log_episode(log, g, reward, ticks[g], reward)
            log[g, LOG_PERF] += 1.0 if reward > 0.0 else 0.0
            agent = opponent = _U(0)
            ticks[g] = 0
            obs[g, :] = 0.0
        pieces[g, AGENT] = agent
        pieces[g, OPPONENT] = opponent
    return bad


class Connect4(NativeEnv):
    """``num_envs`` Connect Four games against 3.0's negamax opponent (see the module docstring).

    ``pieces`` is the ``(num_envs, 2)`` uint64 bitboards (agent, opponent); ``set_position``
    puts a game in a chosen position.
    """

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)

    def __init__(
        self, num_envs: int = 1, render_mode: str | None = None, report_interval: int = 32, buf: Any = None
    ):
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (CELLS,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(COLS)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.pieces = np.zeros((self.num_envs, 2), dtype=np.uint64)
        self.ticks = np.zeros(self.num_envs, dtype=np.int64)
        self._values = np.zeros(COLS, dtype=np.int64)  # the opponent's scratch space

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.pieces,
            self.ticks,
            self._values,
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
        """Game ``game``'s board: ``(6, 7)`` int8, row 0 at the top, 1 agent, -1 opponent, 0 empty."""
        agent, opponent = (int(p) for p in self.pieces[game])
        board = np.zeros((ROWS, COLS), dtype=np.int8)
        for col in range(COLS):
            for row in range(ROWS):
                bit = 1 << (col * (ROWS + 1) + row)
                board[ROWS - 1 - row, col] = 1 if agent & bit else -1 if opponent & bit else 0
        return board

    def set_position(self, game: int, board: np.ndarray) -> None:
        """Put game ``game`` in the position ``board`` (as ``board()`` returns it), agent to move.

        Pieces must rest on each other (no gaps under a piece).
        """
        board = np.asarray(board)
        filled = board != 0
        gaps = board.shape == (ROWS, COLS) and (filled[:-1] & ~filled[1:]).any()
        if board.shape != (ROWS, COLS) or not np.isin(board, (-1, 0, 1)).all() or gaps:
            raise APIUsageError(f"Connect4.set_position: need a {ROWS}x{COLS} board of -1/0/1 without gaps.")
        bits = [0, 0]
        for player, value in ((AGENT, 1), (OPPONENT, -1)):
            for r, c in zip(*np.nonzero(board == value)):
                bits[player] |= 1 << int(c * (ROWS + 1) + ROWS - 1 - r)
        self.pieces[game] = bits
        self.observations[game] = board[::-1].T.ravel()
        self.ticks[game] = int((board == 1).sum())

    def render_ansi(self) -> str:
        symbols = {0: ".", 1: "X", -1: "O"}
        rows = [" ".join(symbols[int(v)] for v in row) for row in self.board(0)]
        return "\n".join(rows) + "\n" + " ".join(str(c) for c in range(COLS)) + "\n"

    def render_rgb(self) -> np.ndarray:
        palette = {0: (35, 35, 45), 1: draw.COLOURS["agent"], 2: (240, 220, 60)}
        codes = self.board(0).astype(np.int64)
        return draw.grid_image(np.where(codes < 0, 2, codes), palette, cell_pixels=24)
