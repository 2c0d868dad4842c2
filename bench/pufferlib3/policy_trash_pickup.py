"""A scripted policy for recording ``trash_pickup``: each agent walks to the nearest trash it
sees while its hands are empty, else to the nearest bin (20% random moves), so that a short
recording has pick-ups, drops, pushed bins, blocked moves and cleared grids."""

from __future__ import annotations

import numpy as np

TRASH, BIN, CARRYING = 1, 2, 4


def actions(env, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One move (0 up, 1 down, 2 left, 3 right) per agent from its window of five planes."""
    agents = observations.shape[0]
    side = int(round((observations.shape[1] // 5) ** 0.5))
    centre = side // 2
    out = rng.integers(0, 4, agents)
    for a in range(agents):
        if rng.random() < 0.2:
            continue
        planes = observations[a].reshape(5, side, side)
        carrying = planes[CARRYING, centre, centre]
        rows, cols = np.nonzero(planes[BIN if carrying else TRASH])
        if not len(rows):
            continue
        k = np.argmin(np.abs(rows - centre) + np.abs(cols - centre))
        dy, dx = rows[k] - centre, cols[k] - centre
        if abs(dx) >= abs(dy):
            out[a] = 3 if dx > 0 else 2
        else:
            out[a] = 1 if dy > 0 else 0
    return out
