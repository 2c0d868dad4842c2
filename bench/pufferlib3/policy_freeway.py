"""A scripted Freeway player for recording 3.0's ``freeway`` (``--policy policy_freeway:actions``).

Random play rarely crosses the road. This one presses up 3 times in 4 and otherwise plays a
random action, so that a recording holds crossings, hits and stuns. Plain numpy: it runs
under 3.0's interpreter.
"""

from __future__ import annotations

import numpy as np

UP = 1


def actions(env, observation, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.75:
        return np.array([UP])
    return rng.integers(0, 3, 1)
