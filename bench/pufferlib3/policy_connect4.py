"""A scripted Connect Four player for recording 3.0's game: it reaches wins, losses and illegal moves.

It takes a winning column when it sees one (half of the time), else plays a random column,
full ones included (illegal moves end games too). Reads 3.0's observation: cell
``col * 6 + row`` (row 0 at the bottom) is 1 for its pieces, -1 for the opponent's.
"""

from __future__ import annotations

import numpy as np

ROWS, COLS = 6, 7


def _wins(board: np.ndarray, row: int, col: int) -> bool:
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        count = 1
        for sign in (1, -1):
            r, c = row + sign * dr, col + sign * dc
            while 0 <= r < ROWS and 0 <= c < COLS and board[c, r] == 1:
                count += 1
                r, c = r + sign * dr, c + sign * dc
        if count >= 4:
            return True
    return False


def actions(env, observation, rng: np.random.Generator) -> np.ndarray:
    chosen = rng.integers(0, COLS, env.num_agents)
    for agent in range(env.num_agents):
        board = observation[agent].reshape(COLS, ROWS)
        if rng.random() < 0.5:
            for col in range(COLS):
                height = int((board[col] != 0).sum())
                if height < ROWS and _wins(board, height, col):
                    chosen[agent] = col
                    break
    return chosen
