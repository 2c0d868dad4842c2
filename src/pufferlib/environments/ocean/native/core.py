"""What every native Ocean env shares: per-game random numbers, seeding and episode logs.

Random numbers: each game owns one ``uint64`` generator state (SplitMix64), so a game's
trajectory depends only on its own seed and actions, never on how many other games share its
object, worker or backend. ``seed_games(states, seed, agents_per_game)`` gives game ``g`` the
seed ``seed + g * agents_per_game``: the vector backends seed native env ``i`` with ``seed``
plus the global index of its first agent, so game ``k`` of the whole vecenv always starts
from ``seed + (global index of its first agent)``.

Episode logs: kernels add every finished episode to a small ``float64`` array (``LOG_*``
slots: count, then sums of return, length, score and env-specific extras); ``NativeEnv``
turns it into one info dict of means every ``report_interval`` steps.
"""

from __future__ import annotations

import numba
import numpy as np

# Slots of the episode log every kernel writes: count, then sums.
LOG_N, LOG_RETURN, LOG_LENGTH, LOG_SCORE = 0, 1, 2, 3
LOG_BASE_KEYS = ("episode_return", "episode_length", "score")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0


@numba.njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@numba.njit(cache=True, inline="always")
def next_u64(states: np.ndarray, game: int) -> np.uint64:
    """The next 64 random bits of ``game``'s generator (SplitMix64)."""
    state = states[game] + _GOLDEN
    states[game] = state
    return _mix(state)


@numba.njit(cache=True, inline="always")
def uniform(states: np.ndarray, game: int) -> float:
    """A float in ``[0, 1)`` from ``game``'s generator."""
    return float(next_u64(states, game) >> _S11) * _INV_2_53


@numba.njit(cache=True, inline="always")
def randint(states: np.ndarray, game: int, n: int) -> int:
    """An integer in ``[0, n)`` from ``game``'s generator."""
    return int(uniform(states, game) * n)


@numba.njit(cache=True)
def seed_games(states: np.ndarray, seed: int, agents_per_game: int) -> None:
    """Seed game ``g``'s generator with ``seed + g * agents_per_game`` (mixed, so nearby seeds
    give unrelated streams)."""
    for g in range(states.shape[0]):
        states[g] = _mix(np.uint64(seed + g * agents_per_game) + _GOLDEN)


@numba.njit(cache=True, inline="always")
def log_episode(log: np.ndarray, episode_return: float, length: float, score: float) -> None:
    log[LOG_N] += 1.0
    log[LOG_RETURN] += episode_return
    log[LOG_LENGTH] += length
    log[LOG_SCORE] += score
