"""Scripted policies for recording 3.0's Pong (``record.py --policy policy_pong:FUNCTION``).

``tracker`` moves the agent's paddle (the right one) towards the ball, with random moves, so
that a recording has returns (+0.1), bends the ball up and down, and points both ways.
``continuous_tracker`` does the same with continuous actions. Both read 3.0's default
geometry (640 px high, a 70 px paddle, a 32 px ball).
"""

from __future__ import annotations

import numpy as np

HEIGHT, PADDLE, BALL = 640.0, 70.0, 32.0


def _offset(observation: np.ndarray) -> np.ndarray:
    """How far the ball's centre is above the agent paddle's centre, in pixels, per game."""
    paddle_low = -PADDLE / 2
    paddle = paddle_low + observation[:, 1] * HEIGHT + PADDLE / 2
    ball = observation[:, 3] * HEIGHT + BALL / 2
    return ball - paddle


def tracker(env, observation, rng, epsilon: float = 0.25):
    offset = _offset(observation) + rng.normal(0.0, 20.0, len(observation))
    actions = np.where(offset > 6, 1, np.where(offset < -6, 2, 0))
    noise = rng.random(len(observation)) < epsilon
    return np.where(noise, rng.integers(0, 3, len(observation)), actions)


def continuous_tracker(env, observation, rng, epsilon: float = 0.25):
    offset = _offset(observation) + rng.normal(0.0, 20.0, len(observation))
    actions = np.clip(offset / 16.0, -1.0, 1.0)
    noise = rng.random(len(observation)) < epsilon
    actions = np.where(noise, rng.uniform(-1.2, 1.2, len(observation)), actions)
    return actions.astype(np.float32)[:, None]
