"""A scripted snake player for recording 3.0's game: it eats, grows long, and still dies often.

Reads 3.0's observation (the ``(2v+1, 2v+1)`` cells around the head, codes 0 empty, 1 food,
2 corpse, 3 wall, 4-7 snakes): with probability 0.9 it moves to an adjacent food or corpse
if there is one, else to a random free neighbour; otherwise (and when boxed in) it moves at
random, so that snakes also run into walls, each other and themselves.
"""

from __future__ import annotations

import numpy as np

MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right


def actions(env, observation, rng: np.random.Generator) -> np.ndarray:
    obs = np.asarray(observation)
    centre = obs.shape[1] // 2
    chosen = rng.integers(0, 4, len(obs))
    for agent in range(len(obs)):
        if rng.random() >= 0.9:
            continue
        codes = [int(obs[agent, centre + dr, centre + dc]) for dr, dc in MOVES]
        food = [a for a, code in enumerate(codes) if code in (1, 2)]
        free = [a for a, code in enumerate(codes) if code == 0]
        if food:
            chosen[agent] = food[int(rng.integers(len(food)))]
        elif free:
            chosen[agent] = free[int(rng.integers(len(free)))]
    return chosen
