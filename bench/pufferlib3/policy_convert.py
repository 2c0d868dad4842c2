"""A scripted policy for recording ``convert`` (one game): puffer 0 plays randomly, the others
steer to the nearest factory that takes the resource they carry (with 20% random actions)."""

from __future__ import annotations

import numpy as np


def actions(env, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One ``(turn, accel)`` per puffer from its observation (offsets, 4 scalars, one-hot item)."""
    agents = env.num_agents
    resources = (observations.shape[1] - 4) // 3
    out = np.stack([rng.integers(0, 9, agents), rng.integers(0, 5, agents)], axis=1)
    for a in range(1, agents):
        if rng.random() < 0.2:
            continue
        item = int(np.argmax(observations[a, -resources:]))
        dx, dy = observations[a, 2 * item : 2 * item + 2]
        heading = observations[a, 2 * resources] * 2 * np.pi
        desired = np.arctan2(dy, dx) % (2 * np.pi)
        out[a, 0] = int(np.clip(np.round((desired - heading) * 12) + 4, 0, 8))
        out[a, 1] = 3 if rng.random() < 0.5 else 1
    return out
