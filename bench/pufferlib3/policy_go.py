"""A scripted policy for recording 3.0's go: mostly a random empty point, sometimes any action.

Uniform random actions waste most moves on occupied points and rarely fill the board; these
fill it, so that a recording reaches captures, ko, full boards the opponent cannot move on,
and final positions with territory to count.
"""

from __future__ import annotations

import numpy as np


def actions(env, observation, rng: np.random.Generator) -> np.ndarray:
    points = (observation.shape[1] - 2) // 2
    chosen = rng.integers(0, points + 1, env.num_agents)
    for i, obs in enumerate(observation):
        empty = np.flatnonzero((obs[:points] == 0) & (obs[points : 2 * points] == 0))
        if len(empty) and rng.random() < 0.9:
            chosen[i] = 1 + rng.choice(empty)
    return chosen.astype(np.int32)
