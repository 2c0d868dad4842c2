"""Scripted policies for recording 3.0's Breakout (``record.py --policy policy_breakout:FUNCTION``).

``tracker`` keeps the paddle under the ball (with some random moves), so that a recording
reaches the states random play rarely does: many paddle hits, the ball speeding up, the back
wall, a halved paddle, most of the wall broken. ``continuous_tracker`` does the same with
continuous actions. Both read 3.0's default geometry (576 px wide, a 32 px ball).
"""

from __future__ import annotations

import numpy as np

WIDTH, BALL_WIDTH, FULL_PADDLE = 576.0, 32.0, 62.0


def _offset(observation: np.ndarray) -> np.ndarray:
    """How far the ball's centre is right of the paddle's centre, in pixels, per game."""
    paddle_centre = observation[:, 0] * WIDTH + observation[:, 9] * FULL_PADDLE / 2
    ball_centre = observation[:, 2] * WIDTH + BALL_WIDTH / 2
    return ball_centre - paddle_centre


def tracker(env, observation, rng, epsilon: float = 0.15, jitter: float = 12.0, dead_zone: float = 4.0):
    offset = _offset(observation) + rng.normal(0.0, jitter, len(observation))
    actions = np.where(offset > dead_zone, 2, np.where(offset < -dead_zone, 1, 0))
    noise = rng.random(len(observation)) < epsilon
    return np.where(noise, rng.integers(0, 3, len(observation)), actions)


def continuous_tracker(env, observation, rng, epsilon: float = 0.5):
    offset = _offset(observation) + rng.normal(0.0, 12.0, len(observation))
    actions = np.clip(offset / 10.0, -1.0, 1.0)
    noise = rng.random(len(observation)) < epsilon
    actions = np.where(noise, rng.uniform(-1.2, 1.2, len(observation)), actions)
    return actions.astype(np.float32)[:, None]


def steady_tracker(env, observation, rng):
    """``tracker`` with few random moves and a dead zone of half a step's move (4 frames move the
    paddle 41 px): it clears the first wall and plays the second."""
    return tracker(env, observation, rng, epsilon=0.02, jitter=4.0, dead_zone=20.0)
