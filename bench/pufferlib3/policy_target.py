"""A scripted policy for recording ``target`` (one game): puffer 0 plays randomly, the others
steer to the nearest star (with 20% random actions), so that a short recording has both
frequent stars and a puffer that goes 512 steps without one (a teleport)."""

from __future__ import annotations

import numpy as np


def actions(env, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One ``(turn, accel)`` per puffer from its observation (star offsets come first)."""
    agents = env.num_agents
    goals = (observations.shape[1] - 4 - 2 * agents) // 2
    out = np.stack([rng.integers(0, 9, agents), rng.integers(0, 5, agents)], axis=1)
    for a in range(1, agents):
        if rng.random() < 0.2:
            continue
        offsets = observations[a, : 2 * goals].reshape(goals, 2)
        dx, dy = offsets[np.argmin((offsets**2).sum(axis=1))]
        heading = observations[a, -4] * 2 * np.pi
        desired = np.arctan2(dy, dx) % (2 * np.pi)
        out[a, 0] = int(np.clip(np.round((desired - heading) * 12) + 4, 0, 8))
        out[a, 1] = 3 if rng.random() < 0.5 else 1
    return out
