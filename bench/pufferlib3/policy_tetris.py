"""A scripted Tetris player for recording 3.0's ``tetris`` (``--policy policy_tetris:actions``).

Random play tops out in ~70 ticks without clearing a row. This player reads the well (1
filled, 2 the falling piece) and the piece's row and column from the observation, picks the
rotation and column whose drop scores best (cleared rows, height, holes, bumpiness), turns
and moves there, then hard-drops; with probability ``EPSILON`` it plays a random action
instead (holds and soft drops included), so that games still end. Plain numpy: it runs
under 3.0's interpreter.
"""

from __future__ import annotations

import numpy as np

EPSILON = 0.3
ROWS, COLS = 20, 10
NOOP, LEFT, RIGHT, ROTATE, SOFT_DROP, HARD_DROP, HOLD = range(7)
SHAPES = (
    ("11..|11..", "11..|11..", "11..|11..", "11..|11.."),
    ("1...|1...|1...|1...", "1111", "1...|1...|1...|1...", "1111"),
    ("1...|11..|.1..", ".11.|11..", "1...|11..|.1..", ".11.|11.."),
    (".1..|11..|1...", "11..|.11.", ".1..|11..|1...", "11..|.11."),
    (".1..|11..|.1..", ".1..|111.", "1...|11..|1...", "111.|.1.."),
    ("1...|1...|11..", "111.|1...", "11..|.1..|.1..", "..1.|111."),
    (".1..|.1..|11..", "1...|111.", "11..|1...|1...", "111.|..1."),
)


def _cells(text: str) -> frozenset:
    rows = text.split("|")
    return frozenset((i, j) for i, line in enumerate(rows) for j, ch in enumerate(line) if ch == "1")


CELLS = [[_cells(text) for text in rotations] for rotations in SHAPES]


def _drop(filled: np.ndarray, cells: frozenset, row: int, col: int) -> np.ndarray | None:
    """The well after dropping ``cells`` from (row, col), or None if it does not fit there."""
    def fits(r: int) -> bool:
        return all(r + i < ROWS and 0 <= col + j < COLS and not filled[r + i, col + j] for i, j in cells)
    if not fits(row):
        return None
    while fits(row + 1):
        row += 1
    well = filled.copy()
    for i, j in cells:
        well[row + i, col + j] = True
    return well


def _value(well: np.ndarray) -> float:
    full = well.all(axis=1)
    lines = int(full.sum())
    well = np.concatenate([np.zeros((lines, COLS), bool), well[~full]])
    tops = np.where(well.any(axis=0), ROWS - well.argmax(axis=0), 0)
    holes = int(sum((~well[ROWS - t:, c]).sum() for c, t in enumerate(tops)))
    return 0.76 * lines - 0.51 * tops.sum() - 0.36 * holes - 0.18 * np.abs(np.diff(tops)).sum()


def actions(env, observation, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < EPSILON:
        return rng.integers(0, 7, 1)
    obs = observation[0]
    grid = obs[: ROWS * COLS].reshape(ROWS, COLS)
    filled = grid == 1
    row, col = int(round(obs[ROWS * COLS + 2] * ROWS)), int(round(obs[ROWS * COLS + 3] * COLS))
    current = frozenset((int(r) - row, int(c) - col) for r, c in np.argwhere(grid == 2))
    piece = next(p for p, rotations in enumerate(CELLS) if current in rotations)
    best, target = -np.inf, (current, col)
    for cells in set(CELLS[piece]):
        for c in range(COLS):
            well = _drop(filled, cells, row, c)
            if well is not None and _value(well) > best:
                best, target = _value(well), (cells, c)
    if target[0] != current:
        return np.array([ROTATE])
    if target[1] != col:
        return np.array([RIGHT if target[1] > col else LEFT])
    return np.array([HARD_DROP])
