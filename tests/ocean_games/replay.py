"""Replay a recorded PufferLib 3.0 C game through our port, step for step.

A fixture (``fixtures/<game>.npz``, written by ``bench/pufferlib3/record.py`` from the built
peer) holds the C game's actions, observations, rewards and flags, and the ``rand()`` values
it drew. ``replay`` feeds our port the same actions and the same random numbers
(``NativeEnv.use_random_tape``) and returns both trajectories, for the game's test to compare
(exactly, or within float32 rounding where the C code's arithmetic order differs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Replay:
    """The recorded (C) and replayed (ours) trajectories, aligned step for step."""

    expected: dict[str, np.ndarray]
    """``observations`` (``steps + 1`` rows), ``rewards``, ``terminals``, ``truncations``, ``actions``."""
    actual: dict[str, np.ndarray]
    draws: int
    """How many random numbers our port drew (the C game drew ``len(tape)``)."""
    kwargs: dict[str, Any]
    """The C env's keyword arguments at recording."""


def load(game: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"{game}.npz") as data:
        return {key: data[key] for key in data.files}


def replay(game: str, env: Any, actions: Any = None) -> Replay:
    """Step ``env`` (one game, freshly built) with the fixture's tape and actions.

    ``actions(recorded_action) -> action`` may translate an action to our encoding. The
    observations, rewards and flags are collected after ``reset`` and after every step.
    """
    data = load(game)
    env.use_random_tape(data["tape"].astype(np.uint64)[None])
    obs, _ = env.reset(seed=0)
    observations, rewards, terminals, truncations = [obs.copy()], [], [], []
    for action in data["actions"]:
        obs, reward, terminal, truncation, _ = env.step(action if actions is None else actions(action))
        observations.append(obs.copy())
        rewards.append(reward.copy())
        terminals.append(terminal.copy())
        truncations.append(truncation.copy())
    actual = {"observations": np.array(observations), "rewards": np.array(rewards),
              "terminals": np.array(terminals), "truncations": np.array(truncations)}
    return Replay(data, actual, int(env.rng[0, 0]), json.loads(str(data["kwargs"])))


def first_mismatch(expected: np.ndarray, actual: np.ndarray, atol: float = 0.0) -> int | None:
    """The first step (row) at which the two trajectories differ by more than ``atol``, else None."""
    rows = len(expected)
    assert len(actual) == rows, (len(actual), rows)
    diff = np.abs(expected.reshape(rows, -1).astype(np.float64) - actual.reshape(rows, -1).astype(np.float64))
    bad = np.flatnonzero((diff > atol).any(axis=1))
    return int(bad[0]) if len(bad) else None
