"""Connect Four against a scripted opponent, ``num_envs`` games per kernel call.

A 6 x 7 board; the agent plays first. Each step the agent drops a piece into a column (action
0-6). Four of its pieces in a row (any direction) win: reward +1, terminal. A full column is an
illegal move and loses: reward -1, terminal. Otherwise the opponent replies: it plays a
winning move when it has one (the agent then loses: -1), else a uniformly random legal
column. A full board is a draw (reward 0, terminal).

Observations (float32, 84): the agent's pieces then the opponent's, each a 0/1 6 x 7 plane in
row-major order, row 0 at the top. Episode stats: ``score`` = 1 for a win, else 0 (so its
mean is the win rate); ``draw`` and ``illegal`` are the draw and illegal-move rates.
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
EMPTY, AGENT, OPPONENT = 0, 1, 2
LOG_DRAW, LOG_ILLEGAL = core.LOG_EXTRA, core.LOG_EXTRA + 1
_ONE = np.uint64(1)
_SHIFTS = (np.uint64(1), np.uint64(7), np.uint64(6), np.uint64(8))  # vertical, horizontal, diagonals


@numba.njit(cache=True)
def _wins(bits: np.ndarray, g: int, row: int, col: int, player: int) -> bool:
    """Whether ``player``'s piece at (row, col) completes four in a row.

    Bitboards: bit ``col * 7 + height`` (6 rows counted from the bottom plus one empty sentinel
    bit per column, so that shifts never wrap into the next column). Four in a row along a
    direction of bit distance ``d`` leaves a bit set in ``m & (m >> 2d)``, ``m = b & (b >> d)``.
    """
    b = bits[g, player] | (_ONE << np.uint64(col * 7 + ROWS - 1 - row))
    for shift in _SHIFTS:
        m = b & (b >> shift)
        if m & (m >> (shift + shift)):
            return True
    return False


@numba.njit(cache=True)
def _drop(
    board: np.ndarray, bits: np.ndarray, heights: np.ndarray, obs: np.ndarray, g: int, col: int, player: int
) -> int:
    row = ROWS - 1 - heights[g, col]
    board[g, row, col] = player
    bits[g, player] |= _ONE << np.uint64(col * 7 + heights[g, col])
    heights[g, col] += 1
    obs[g, (player - 1) * CELLS + row * COLS + col] = 1.0
    return row


@numba.njit(cache=True)
def _opponent_move(bits: np.ndarray, heights: np.ndarray, rng: np.ndarray, g: int) -> int:
    legal = 0
    for c in range(COLS):
        if heights[g, c] < ROWS:
            legal += 1
            if _wins(bits, g, ROWS - 1 - heights[g, c], c, OPPONENT):
                return c
    pick = core.randint(rng, g, legal)
    for c in range(COLS):
        if heights[g, c] < ROWS:
            if pick == 0:
                return c
            pick -= 1
    return -1


@numba.njit(cache=True)
def _clear(
    board: np.ndarray, bits: np.ndarray, heights: np.ndarray, ticks: np.ndarray, obs: np.ndarray, g: int
) -> None:
    board[g, :, :] = EMPTY
    bits[g, :] = 0
    heights[g, :] = 0
    ticks[g] = 0
    obs[g, :] = 0.0


@numba.njit(cache=True)
def step_kernel(
    board: np.ndarray,
    bits: np.ndarray,
    heights: np.ndarray,
    ticks: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    if reset_all:
        for g in range(board.shape[0]):
            _clear(board, bits, heights, ticks, obs, g)
        return 0
    bad = 0
    for g in range(board.shape[0]):
        col = actions[g]
        if col < 0 or col >= COLS:
            bad = 1
            col = 0
        ticks[g] += 1
        reward = 0.0
        terminal = True
        illegal = draw = False
        if heights[g, col] >= ROWS:
            reward, illegal = -1.0, True
        else:
            row = _drop(board, bits, heights, obs, g, col, AGENT)
            if _wins(bits, g, row, col, AGENT):
                reward = 1.0
            elif ticks[g] * 2 - 1 >= CELLS:
                draw = True
            else:
                reply = _opponent_move(bits, heights, rng, g)
                row = _drop(board, bits, heights, obs, g, reply, OPPONENT)
                if _wins(bits, g, row, reply, OPPONENT):
                    reward = -1.0
                elif ticks[g] * 2 >= CELLS:
                    draw = True
                else:
                    terminal = False
        rewards[g] = reward
        terminals[g] = terminal
        truncations[g] = False
        if terminal:
            core.log_episode(log, g, reward, ticks[g], 1.0 if reward > 0 else 0.0)
            log[g, LOG_DRAW] += draw
            log[g, LOG_ILLEGAL] += illegal
            _clear(board, bits, heights, ticks, obs, g)
    return bad


class Connect4(NativeEnv):
    """``num_envs`` Connect Four games against the scripted opponent (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("draw", "illegal")

    def __init__(
        self, num_envs: int = 1, render_mode: str | None = None, report_interval: int = 32, buf: Any = None
    ):
        self.single_observation_space = gymnasium.spaces.Box(0.0, 1.0, (2 * CELLS,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(COLS)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.board = np.zeros((self.num_envs, ROWS, COLS), dtype=np.int8)
        # One bitboard per player (index AGENT or OPPONENT; 0 unused): the win checks' input.
        self.bits = np.zeros((self.num_envs, 3), dtype=np.uint64)
        self.heights = np.zeros((self.num_envs, COLS), dtype=np.int64)
        self.ticks = np.zeros(self.num_envs, dtype=np.int64)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.board,
            self.bits,
            self.heights,
            self.ticks,
            self.rng,
            actions,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def set_position(self, game: int, board: np.ndarray) -> None:
        """Put game ``game`` in the position ``board`` (6 x 7 of EMPTY/AGENT/OPPONENT, row 0 at the top).

        Pieces must rest on each other (no gaps under a piece); the agent is to move.
        """
        board = np.asarray(board, dtype=np.int8)
        filled = board != EMPTY
        if (
            board.shape != (ROWS, COLS)
            or not np.isin(board, (EMPTY, AGENT, OPPONENT)).all()
            or (filled[:-1] & ~filled[1:]).any()
        ):
            raise APIUsageError(f"Connect4.set_position: need a {ROWS}x{COLS} board of 0/1/2 without gaps.")
        self.board[game] = board
        self.heights[game] = filled.sum(axis=0)
        self.bits[game] = 0
        for player in (AGENT, OPPONENT):
            rows, cols = np.nonzero(board == player)
            self.bits[game, player] = sum(1 << int(c * 7 + ROWS - 1 - r) for r, c in zip(rows, cols))
        self.observations[game] = np.concatenate([(board == AGENT).ravel(), (board == OPPONENT).ravel()])
        self.ticks[game] = int((board == AGENT).sum())

    def render_ansi(self) -> str:
        symbols = {EMPTY: ".", AGENT: "X", OPPONENT: "O"}
        rows = [" ".join(symbols[int(v)] for v in row) for row in self.board[0]]
        return "\n".join(rows) + "\n" + " ".join(str(c) for c in range(COLS)) + "\n"

    def render_rgb(self) -> np.ndarray:
        palette = {EMPTY: (35, 35, 45), AGENT: draw.COLOURS["agent"], OPPONENT: (240, 220, 60)}
        return draw.grid_image(self.board[0].astype(np.int64), palette, cell_pixels=24)
