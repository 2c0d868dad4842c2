"""A scripted Triple Triad policy for recordings (``record_logged.py --policy policy_tripletriad:actions``).

Random actions rarely finish a game within its 30 steps, so this one mostly plays a game:
select an unplaced card, then place it on an empty cell; and sometimes a random action
(reselections, failed placements, selections of placed cards, time-outs).
"""

from __future__ import annotations

import numpy as np

# 3.0's observation layout: the action masks (placing on cell k is entry 5 + k), the agent's
# selected card, the agent's card locations.
MASKS, SELECTED, LOCATIONS = 9, 24, 104


def actions(env, observation: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(observation.shape[0], dtype=np.int64)
    for i, obs in enumerate(observation):
        in_hand = np.flatnonzero(obs[LOCATIONS : LOCATIONS + 5] == 0)
        empty = np.flatnonzero(obs[MASKS + 5 : MASKS + 14] == 0)
        if rng.random() < 0.7 or not len(in_hand) or not len(empty):  # (a finished game's board)
            out[i] = rng.integers(0, 14)
        elif obs[SELECTED] < 0:
            out[i] = rng.choice(in_hand)
        else:
            out[i] = 5 + rng.choice(empty)
    return out
