"""A scripted checkers policy for recordings (``record_logged.py --policy policy_checkers:actions``).

Random actions are almost all illegal (the script then plays both sides), so this one mostly
plays a legal move of blue (the agent's side; captures when it has one), sometimes one of
red's (legal when the sides have swapped), and sometimes a random action: recordings then see
ordinary moves, captures, multi-jumps, promotions, swapped sides, illegal actions and game ends.
"""

from __future__ import annotations

import numpy as np

STEPS = ((-1, -1), (-1, 1), (1, -1), (1, 1), (-2, -2), (-2, 2), (2, -2), (2, 2))


def moves(board: np.ndarray, side: int) -> tuple[list[int], list[int]]:
    """(steps, jumps) of ``side`` (1 blue: cells 1, 2; 3 red: cells 3, 4) as actions."""
    n = board.shape[0]
    pawn, king = (1, 2) if side == 1 else (3, 4)
    enemy = (3, 4) if side == 1 else (1, 2)
    forward = 1 if side == 1 else -1
    steps, jumps = [], []
    for r in range(n):
        for c in range(n):
            piece = board[r, c]
            if piece not in (pawn, king):
                continue
            for d, (dr, dc) in enumerate(STEPS):
                nr, nc = r + dr, c + dc
                if not (0 <= nr < n and 0 <= nc < n) or board[nr, nc] != 0:
                    continue
                if piece == pawn and np.sign(dr) != forward:
                    continue
                action = (r * n + c) * 8 + d
                if abs(dr) == 2:
                    if board[r + dr // 2, c + dc // 2] in enemy:
                        jumps.append(action)
                else:
                    steps.append(action)
    return steps, jumps


def actions(env, observation: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = int(round(np.sqrt(observation.shape[1])))
    out = np.empty(observation.shape[0], dtype=np.int64)
    for i, cells in enumerate(observation):
        board = cells.reshape(n, n)
        u = rng.random()
        side = 1 if u < 0.6 else 3 if u < 0.8 else 0
        choice = None
        if side:
            steps, jumps = moves(board, side)
            pool = jumps if jumps and rng.random() < 0.9 else steps + jumps
            if pool:
                choice = int(rng.choice(pool))
        out[i] = choice if choice is not None else int(rng.integers(0, n * n * 8))
    return out
