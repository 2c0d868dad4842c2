"""Tetris: PufferLib 3.0's ``tetris``, ``num_envs`` games per kernel call.

Rules (3.0's): a ``n_rows x n_cols`` well (20 x 10). The falling piece is one of the seven
tetrominoes, drawn uniformly (``rand() % 7``) into a deck of ``deck_size`` slots: the current
piece and ``deck_size - 1`` previews. A new piece appears at row 0, column ``n_cols // 2``, in
rotation 0. Each step is one tick: first the action, then gravity, which moves the piece one
row down every ``TICKS_FALL = 4`` ticks (or places it when it cannot move down).

Actions (``Discrete(7)``): 0 no-op, 1 left, 2 right, 3 rotate (to the next of the four
rotations, kept at the same top-left corner; refused when it would collide or leave the
well), 4 soft drop (one row down: score +1, reward +0.01), 5 hard drop (down as far as it
goes, score +2 and reward +0.02 per row, then the piece is placed at once), 6 hold (swap the
current piece with the held one, or, when nothing is held, put it aside and take the next
piece; the incoming piece restarts at the top. Allowed once per placed piece). A refused
action does nothing (3.0's invalid-action reward is 0).

Placing a piece writes it into the well and clears the full rows it touches: 1-4 rows score
100, 300, 500, 1000 and reward 0.1, 0.3, 0.5, 1.0. The episode ends (terminal) when the next
piece would collide at its entry position, and (truncation) at the first placement from tick
``MAX_TICKS = 10000`` on.

Observations (float32, ``n_rows * n_cols + 6 + 7 * (deck_size + 1)``): the well in row-major
order, 0 empty, 1 filled, 2 the falling piece; then tick / 10000, ticks since the last fall /
4, the piece's row / ``n_rows``, its column / ``n_cols``, its rotation (0-3, unscaled, as in
3.0), whether hold is allowed (0/1); then the deck, one one-hot of 7 per slot from the
current piece on, and the held piece as a one-hot of 7 (all 0 when none).

Episode stats: ``score`` (3.0's game score), ``perf`` (score / 12565, 3.0's personal best),
``lines_deleted``, ``avg_combo`` (lines per clearing placement, 1 when none), and the
fractions of ticks with the soft drop, hard drop and rotate actions.

Differences from PufferLib 3.0:

- Observation layout: 3.0 writes the deck and hold one-hots 2 slots too early (from offset
  ``n_rows * n_cols + 4``), over the rotation and hold-allowed values, and leaves the last 2
  values always 0. Here they start after the 6 scalars. (3.0's observations are
  ``c_layout(ours)``, which the replay test checks.) The declared observation bounds are
  ``[0, 3]``: 3.0 declares ``[0, 1]`` but writes 2 (the falling piece) and rotations up to 3.
- Hold: 3.0 allows a swap when the held piece would fit in the current piece's rotation,
  one column to the right of the current piece (reading past the end of the well near its
  bottom), then puts it at the entry position without checking it fits there; taking the
  next piece when nothing is held is never checked. Pieces then overlap the stack. Here a
  hold is allowed (still once per placed piece) when the incoming piece fits at the entry
  position, the same test that ends the game after a placement.
- The time limit is a truncation (3.0 signals it as a terminal).
- ``deck_size`` must be at least 2: with 1, 3.0 checks the game-over condition against the
  piece just placed instead of the next one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

NUM_PIECES, NUM_ROTATIONS = 7, 4
NOOP, LEFT, RIGHT, ROTATE, SOFT_DROP, HARD_DROP, HOLD = range(7)
TICKS_FALL = 4
MAX_TICKS = 10000
PERSONAL_BEST = 12565
SCORE_SOFT_DROP, SCORE_HARD_DROP = 1, 2
REWARD_SOFT_DROP = np.float32(0.01)
REWARD_HARD_DROP = np.float32(0.02)
SCORE_LINES = np.array([0, 100, 300, 500, 1000], dtype=np.int64)
REWARD_LINES = np.array([0.0, 0.1, 0.3, 0.5, 1.0], dtype=np.float32)
NUM_SCALARS = 6

# The tetrominoes (O, I, S, Z, T, L, J), each in its four rotations, as rows of a 4x4 box with
# the piece in its top-left corner (3.0's table).
_SHAPES = (
    ("11..|11..", "11..|11..", "11..|11..", "11..|11.."),
    ("1...|1...|1...|1...", "1111", "1...|1...|1...|1...", "1111"),
    ("1...|11..|.1..", ".11.|11..", "1...|11..|.1..", ".11.|11.."),
    (".1..|11..|1...", "11..|.11.", ".1..|11..|1...", "11..|.11."),
    (".1..|11..|.1..", ".1..|111.", "1...|11..|1...", "111.|.1.."),
    ("1...|1...|11..", "111.|1...", "11..|.1..|.1..", "..1.|111."),
    (".1..|.1..|11..", "1...|111.", "11..|1...|1...", "111.|..1."),
)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each piece's four cells per rotation (row, column), and its bounding box's rows and columns."""
    cells = np.zeros((NUM_PIECES, NUM_ROTATIONS, 4, 2), dtype=np.int64)
    rows = np.zeros((NUM_PIECES, NUM_ROTATIONS), dtype=np.int64)
    cols = np.zeros((NUM_PIECES, NUM_ROTATIONS), dtype=np.int64)
    for p, rotations in enumerate(_SHAPES):
        for r, text in enumerate(rotations):
            rows_text = text.split("|")
            found = [(i, j) for i, line in enumerate(rows_text) for j, ch in enumerate(line) if ch == "1"]
            assert len(found) == 4
            cells[p, r] = found
            rows[p, r] = 1 + max(i for i, _ in found)
            cols[p, r] = 1 + max(j for _, j in found)
    return cells, rows, cols


CELLS, FILL_ROWS, FILL_COLS = _tables()

# Per-game integer state columns; the deck's slots follow them (DECK + j).
(TICK, TICK_FALL, SCORE, CAN_SWAP, HELD, DECK_POS, PIECE, ROW, COL, ROT,
 LINES, CLEARS, N_HARD, N_SOFT, N_ROTATE, DECK) = range(16)
# Extra log slots (after core.LOG_EXTRA), in LOG_EXTRA_KEYS order.
LOG_PERF, LOG_LINES, LOG_COMBO, LOG_SOFT, LOG_HARD, LOG_ROTATE = range(6)
ONGOING, TERMINAL, TRUNCATED = 0, 1, 2
_JIT = {"cache": True, "error_model": "numpy"}


@numba.njit(inline="always", **_JIT)
def _fits(grid: np.ndarray, g: int, n_cols: int, piece: int, rot: int, row: int, col: int) -> bool:
    """Whether the piece's four cells are empty with its box's top-left corner at (row, col)
    (the caller keeps the box inside the well)."""
    for k in range(4):
        if grid[g, (row + CELLS[piece, rot, k, 0]) * n_cols + col + CELLS[piece, rot, k, 1]] != 0:
            return False
    return True


@numba.njit(inline="always", **_JIT)
def _can_fall(grid: np.ndarray, s: np.ndarray, g: int, n_rows: int, n_cols: int) -> bool:
    piece, rot, row = s[g, PIECE], s[g, ROT], s[g, ROW]
    if row == n_rows - FILL_ROWS[piece, rot]:
        return False
    return _fits(grid, g, n_cols, piece, rot, row + 1, s[g, COL])


@numba.njit(inline="always", **_JIT)
def _next_slot(s: np.ndarray, g: int, size: int) -> int:
    """The deck slot after the current piece's (a compare, not an integer division)."""
    pos = s[g, DECK_POS] + 1
    return pos if pos < size else 0


@numba.njit(**_JIT)
def _spawn(s: np.ndarray, rng: np.ndarray, g: int, size: int, n_cols: int) -> None:
    """Refill the current piece's deck slot and move on to the next piece."""
    s[g, DECK + s[g, DECK_POS]] = core.randint(rng, g, NUM_PIECES)
    pos = _next_slot(s, g, size)
    s[g, DECK_POS] = pos
    s[g, PIECE] = s[g, DECK + pos]
    s[g, ROT] = 0
    s[g, COL] = n_cols // 2
    s[g, ROW] = 0
    s[g, TICK_FALL] = 0


@numba.njit(**_JIT)
def _start(s: np.ndarray, grid: np.ndarray, ep_return: np.ndarray, rng: np.ndarray, g: int, size: int,
           n_cols: int) -> None:
    s[g, :] = 0
    s[g, HELD] = -1
    s[g, CAN_SWAP] = 1
    ep_return[g] = 0.0
    grid[g, :] = 0
    for i in range(size):
        s[g, DECK + i] = core.randint(rng, g, NUM_PIECES)
    _spawn(s, rng, g, size, n_cols)


@numba.njit(**_JIT)
def _place(s: np.ndarray, grid: np.ndarray, ep_return: np.ndarray, rng: np.ndarray, log: np.ndarray, g: int,
           size: int, n_rows: int, n_cols: int) -> tuple[np.float32, int]:
    """Lock the piece, clear full rows, then bring the next piece or end the episode (logged and
    restarted). Returns the line reward and ONGOING, TERMINAL or TRUNCATED."""
    piece, rot, row, col = s[g, PIECE], s[g, ROT], s[g, ROW], s[g, COL]
    cells = grid[g]
    s[g, CAN_SWAP] = 1
    for k in range(4):
        cells[(row + CELLS[piece, rot, k, 0]) * n_cols + col + CELLS[piece, rot, k, 1]] = piece + 1
    lines = 0
    check = row + FILL_ROWS[piece, rot] - 1
    for _ in range(FILL_ROWS[piece, rot]):
        full = True
        for c in range(check * n_cols, (check + 1) * n_cols):
            if cells[c] == 0:
                full = False
                break
        if full:  # the rows above move down one row: check the same row again
            for c in range((check + 1) * n_cols - 1, n_cols - 1, -1):
                cells[c] = cells[c - n_cols]
            cells[:n_cols] = 0
            lines += 1
        else:
            check -= 1
    reward = np.float32(0.0)
    if lines > 0:
        s[g, CLEARS] += 1
        s[g, LINES] += lines
        s[g, SCORE] += SCORE_LINES[lines]
        reward = REWARD_LINES[lines]
        ep_return[g] += reward
    following = s[g, DECK + _next_slot(s, g, size)]
    if not _fits(grid, g, n_cols, following, 0, 0, n_cols // 2):
        end = TERMINAL
    elif s[g, TICK] >= MAX_TICKS:
        end = TRUNCATED
    else:
        _spawn(s, rng, g, size, n_cols)
        return reward, ONGOING
    tick = np.float32(s[g, TICK])
    score = s[g, SCORE]
    core.log_episode(log, g, ep_return[g], s[g, TICK], score)
    extra = core.LOG_EXTRA
    log[g, extra + LOG_PERF] += np.float32(score) / np.float32(PERSONAL_BEST)
    log[g, extra + LOG_LINES] += s[g, LINES]
    if s[g, CLEARS] > 0:
        log[g, extra + LOG_COMBO] += np.float32(s[g, LINES]) / np.float32(s[g, CLEARS])
    else:
        log[g, extra + LOG_COMBO] += 1.0
    log[g, extra + LOG_SOFT] += np.float32(s[g, N_SOFT]) / tick
    log[g, extra + LOG_HARD] += np.float32(s[g, N_HARD]) / tick
    log[g, extra + LOG_ROTATE] += np.float32(s[g, N_ROTATE]) / tick
    _start(s, grid, ep_return, rng, g, size, n_cols)
    return reward, end


@numba.njit(**_JIT)
def _observe(s: np.ndarray, grid: np.ndarray, obs: np.ndarray, g: int, size: int, n_rows: int,
             n_cols: int) -> None:
    out = obs[g]
    cells = grid[g]
    base = n_rows * n_cols
    for i in range(base):  # one flat loop over the well: LLVM vectorizes it
        out[i] = np.float32(cells[i] != 0)
    piece, rot, row, col = s[g, PIECE], s[g, ROT], s[g, ROW], s[g, COL]
    for k in range(4):
        out[(row + CELLS[piece, rot, k, 0]) * n_cols + col + CELLS[piece, rot, k, 1]] = 2.0
    out[base] = np.float32(s[g, TICK]) / np.float32(MAX_TICKS)
    out[base + 1] = np.float32(s[g, TICK_FALL]) / np.float32(TICKS_FALL)
    out[base + 2] = np.float32(row) / np.float32(n_rows)
    out[base + 3] = np.float32(col) / np.float32(n_cols)
    out[base + 4] = rot
    out[base + 5] = s[g, CAN_SWAP]
    onehots = base + NUM_SCALARS
    for i in range(onehots, out.shape[0]):
        out[i] = 0.0
    slot = s[g, DECK_POS]
    for j in range(size):
        out[onehots + j * NUM_PIECES + s[g, DECK + slot]] = 1.0
        slot = slot + 1 if slot + 1 < size else 0
    if s[g, HELD] >= 0:
        out[onehots + size * NUM_PIECES + s[g, HELD]] = 1.0


@numba.njit(**_JIT)
def step_kernel(
    s: np.ndarray,
    grid: np.ndarray,
    ep_return: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    n_rows: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one tick (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0. ``grid`` holds each game's well row-major, ``n_rows`` rows."""
    n_cols = grid.shape[1] // n_rows
    size = s.shape[1] - DECK
    bad = 0
    for g in range(s.shape[0]):
        if reset_all:
            _start(s, grid, ep_return, rng, g, size, n_cols)
            _observe(s, grid, obs, g, size, n_rows, n_cols)
            continue
        action = actions[g]
        if action < 0 or action > 6:
            bad = 1
            action = NOOP
        reward = np.float32(0.0)
        end = ONGOING
        s[g, TICK] += 1
        s[g, TICK_FALL] += 1
        piece, rot, row, col = s[g, PIECE], s[g, ROT], s[g, ROW], s[g, COL]
        if action == LEFT:
            if col > 0 and _fits(grid, g, n_cols, piece, rot, row, col - 1):
                s[g, COL] = col - 1
        elif action == RIGHT:
            if col < n_cols - FILL_COLS[piece, rot] and _fits(grid, g, n_cols, piece, rot, row, col + 1):
                s[g, COL] = col + 1
        elif action == ROTATE:
            s[g, N_ROTATE] += 1
            turned = (rot + 1) % NUM_ROTATIONS
            if (
                col <= n_cols - FILL_COLS[piece, turned]
                and row <= n_rows - FILL_ROWS[piece, turned]
                and _fits(grid, g, n_cols, piece, turned, row, col)
            ):
                s[g, ROT] = turned
        elif action == SOFT_DROP:
            s[g, N_SOFT] += 1
            if _can_fall(grid, s, g, n_rows, n_cols):
                s[g, ROW] = row + 1
                s[g, SCORE] += SCORE_SOFT_DROP
                reward += REWARD_SOFT_DROP
                ep_return[g] += REWARD_SOFT_DROP
        elif action == HOLD:
            held = s[g, HELD]
            incoming = held if held >= 0 else s[g, DECK + _next_slot(s, g, size)]
            if s[g, CAN_SWAP] == 1 and _fits(grid, g, n_cols, incoming, 0, 0, n_cols // 2):
                if held < 0:
                    _spawn(s, rng, g, size, n_cols)
                else:
                    s[g, PIECE] = held
                    s[g, DECK + s[g, DECK_POS]] = held
                    s[g, ROT] = 0
                    s[g, COL] = n_cols // 2
                    s[g, ROW] = 0
                    s[g, TICK_FALL] = 0
                s[g, HELD] = piece
                s[g, CAN_SWAP] = 0
        elif action == HARD_DROP:
            s[g, N_HARD] += 1
            while _can_fall(grid, s, g, n_rows, n_cols):
                s[g, ROW] += 1
                s[g, SCORE] += SCORE_HARD_DROP
                reward += REWARD_HARD_DROP
                ep_return[g] += REWARD_HARD_DROP
            lines_reward, end = _place(s, grid, ep_return, rng, log, g, size, n_rows, n_cols)
            reward += lines_reward
        if s[g, TICK_FALL] == TICKS_FALL:
            s[g, TICK_FALL] = 0
            if _can_fall(grid, s, g, n_rows, n_cols):
                s[g, ROW] += 1
            else:
                lines_reward, end = _place(s, grid, ep_return, rng, log, g, size, n_rows, n_cols)
                reward += lines_reward
        rewards[g] = reward
        terminals[g] = end == TERMINAL
        truncations[g] = end == TRUNCATED
        _observe(s, grid, obs, g, size, n_rows, n_cols)
    return bad


def c_layout(obs: np.ndarray, n_rows: int = 20, n_cols: int = 10) -> np.ndarray:
    """Our observations as PufferLib 3.0 writes them: its one-hots start 2 slots early, a 1
    overwriting the rotation or hold-allowed value under it, and its last 2 values stay 0.
    For the replay test."""
    obs = np.asarray(obs, dtype=np.float32)
    base = n_rows * n_cols
    onehots = obs[..., base + NUM_SCALARS:]
    width = onehots.shape[-1]
    out = obs.copy()
    out[..., base + NUM_SCALARS:] = 0.0
    under = out[..., base + NUM_SCALARS - 2:base + NUM_SCALARS - 2 + width]
    out[..., base + NUM_SCALARS - 2:base + NUM_SCALARS - 2 + width] = np.where(onehots == 1.0, 1.0, under)
    return out


class Tetris(NativeEnv):
    """``num_envs`` games of Tetris (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = (
        "perf",
        "lines_deleted",
        "avg_combo",
        "atn_frac_soft_drop",
        "atn_frac_hard_drop",
        "atn_frac_rotate",
    )

    def __init__(
        self,
        num_envs: int = 1,
        n_cols: int = 10,
        n_rows: int = 20,
        deck_size: int = 3,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.n_cols = check_positive_int("n_cols", n_cols, 4)
        self.n_rows = check_positive_int("n_rows", n_rows, 4)
        self.deck_size = check_positive_int("deck_size", deck_size, 2)
        if self.n_cols > 127 or self.n_rows > 127:
            raise APIUsageError(f"Tetris: n_rows and n_cols must be at most 127, got {n_rows} x {n_cols}.")
        size = self.n_rows * self.n_cols + NUM_SCALARS + NUM_PIECES * (self.deck_size + 1)
        self.single_observation_space = gymnasium.spaces.Box(0.0, 3.0, (size,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(7)
        super().__init__(num_envs, render_mode, report_interval, buf)
        # One row per game: its counters, then its deck (DECK + j); its well, row-major.
        self.state = np.zeros((self.num_envs, DECK + self.deck_size), dtype=np.int64)
        self.grid = np.zeros((self.num_envs, self.n_rows * self.n_cols), dtype=np.int8)
        self.episode_return = np.zeros(self.num_envs, dtype=np.float32)

    def _reset_games(self) -> None:
        # The buffers are final now (a vector backend may have swapped them): bind the kernel's
        # arguments once, so that a step passes them without looking up a dozen attributes.
        self._before = (self.state, self.grid, self.episode_return, self.rng)
        self._after = (self.n_rows, self.observations, self.rewards, self.terminals, self.truncations,
                       self.log)
        self._step_games(self.actions, reset_all=True)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(*self._before, actions, *self._after, reset_all)

    def _board(self) -> np.ndarray:
        """The first game's well with the falling piece: 0 empty, piece + 1 per cell."""
        board = self.grid[0].reshape(self.n_rows, self.n_cols).astype(np.int64)
        s = self.state[0]
        for r, c in CELLS[s[PIECE], s[ROT]]:
            board[s[ROW] + r, s[COL] + c] = s[PIECE] + 1
        return board

    def render_ansi(self) -> str:
        names = "OISZTLJ"
        s = self.state[0]
        lines = ["|" + "".join(" " if v == 0 else names[v - 1] for v in row) + "|" for row in self._board()]
        lines.append("+" + "-" * self.n_cols + "+")
        slots = (s[DECK_POS] + np.arange(1, self.deck_size)) % self.deck_size
        preview = "".join(names[s[DECK + j]] for j in slots)
        held = names[s[HELD]] if s[HELD] >= 0 else "-"
        lines.append(f"score {s[SCORE]}  tick {s[TICK]}  next {preview}  hold {held}")
        return "\n".join(lines) + "\n"

    def render_rgb(self) -> np.ndarray:
        palette = {0: draw.BACKGROUND, **{p + 1: colour for p, colour in enumerate(COLOURS)}}
        return draw.grid_image(self._board(), palette, cell_pixels=16)


# 3.0's colours: O yellow, I cyan, S green, Z red, T purple, L orange, J blue.
COLOURS = ((255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 0), (128, 0, 128), (255, 165, 0), (0, 0, 255))
