"""A scripted Blastar player for recording fixtures (``record.py blastar --policy policy_blastar:actions``).

It stays below the enemy in the left half of the screen and fires with a lead, so that a
recording reaches kills, kill streaks and won games (``tests/ocean_games/fixtures/blastar.npz``:
``--steps 16000 --seed 11``, a lost game then a won one); 4% random actions bring enemy
attacks, collisions and lost lives too.
"""

from __future__ import annotations

import numpy as np

WIDTH, HEIGHT = 640.0, 480.0


def actions(env, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per game (obs rows: player x, y, enemy x, y, bullets; see ocean/native/blastar.py)."""
    out = np.zeros(len(obs), dtype=np.int32)
    for i, row in enumerate(obs):
        px, py, ex, ey = row[0] * WIDTH, row[1] * HEIGHT, row[2] * WIDTH, row[3] * HEIGHT
        lead = (px - ex) - (py - ey) / 3  # 0: a bullet fired now meets the enemy
        if rng.random() < 0.04:
            out[i] = rng.integers(0, 6)
        elif row[6] == 0 and py > ey + 40 and abs(lead) < 12:
            out[i] = 5
        elif py < ey + 80 and py < 440:
            out[i] = 4  # get below the enemy
        elif py > ey + 220:
            out[i] = 3
        elif px > 300:
            out[i] = 1
        elif px < 40:
            out[i] = 2
    return out
