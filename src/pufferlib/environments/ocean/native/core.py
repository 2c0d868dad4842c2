"""What every native Ocean env shares: per-game random numbers, seeding and episode logs.

Random numbers: each game owns one ``uint64`` generator state (SplitMix64), so a game's
trajectory depends only on its own seed and actions, never on how many other games share its
object, worker or backend. ``seed_games(states, seed, agents_per_game)`` gives game ``g`` the
seed ``seed + g * agents_per_game``: the vector backends seed native env ``i`` with ``seed``
plus the global index of its first agent, so game ``k`` of the whole vecenv always starts
from ``seed + (global index of its first agent)``.

Random numbers for ports of C games: ``rand31(rng, g)`` is game ``g``'s equivalent of C's
``rand()`` (31 random bits) and ``randint`` is ``rand() % n``. A port draws exactly where and
as its C source does, so that a test can replay the C game's own ``rand()`` stream: an env's
``use_random_tape(tape)`` swaps its generators for a ``(num_games, 1 + N)`` ``uint64`` array
(column 0 counts the draws taken, columns 1.. hold the recorded ``rand()`` values), and every
kernel then consumes the tape instead (Numba compiles a second specialization for it).

Episode logs: kernels add every finished episode to one row per agent of a small ``float64``
array (``LOG_*`` slots: count, then sums of return, length, score and env-specific extras
from ``LOG_EXTRA`` on); ``NativeEnv`` turns it into one info dict of means every
``report_interval`` steps, or one dict per episode (``report_each_episode``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import overload

# Slots of each agent's row of the episode log: count, then sums; env extras from LOG_EXTRA on.
LOG_N, LOG_RETURN, LOG_LENGTH, LOG_SCORE, LOG_EXTRA = 0, 1, 2, 3, 4
LOG_BASE_KEYS = ("episode_return", "episode_length", "score")
RAND_MAX = 2147483647

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S33 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(33)
_ONE = np.uint64(1)
_INV_2_31 = 1.0 / 2147483648.0


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


def rand31(states: np.ndarray, game: int) -> int:
    """The next 31 random bits of ``game``'s generator, as C's ``rand()`` returns them (in kernels)."""
    raise NotImplementedError("rand31 runs compiled, inside a Numba kernel")


@overload(rand31, inline="always")
def _rand31(states, game):  # Numba picks the implementation by the generator array's type
    if states.ndim == 1:

        def from_generator(states, game):
            return int(next_u64(states, game) >> _S33)

        return from_generator

    def from_tape(states, game):
        # Column 0 counts the draws; past the tape's end the last value repeats (and the count
        # tells the test that the tape was too short).
        taken = states[game, 0] + _ONE
        states[game, 0] = taken
        return int(states[game, min(np.int64(taken), states.shape[1] - 1)])

    return from_tape


@numba.njit(cache=True, inline="always")
def uniform(states: np.ndarray, game: int) -> float:
    """A float in ``[0, 1)`` from ``game``'s generator (31 bits: ``rand() / (RAND_MAX + 1.0)``)."""
    return rand31(states, game) * _INV_2_31


@numba.njit(cache=True, inline="always")
def randint(states: np.ndarray, game: int, n: int) -> int:
    """An integer in ``[0, n)`` from ``game``'s generator: C's ``rand() % n``."""
    return rand31(states, game) % n


@numba.njit(cache=True)
def seed_games(states: np.ndarray, seed: int, agents_per_game: int) -> None:
    """Seed game ``g``'s generator with ``seed + g * agents_per_game`` (mixed, so nearby seeds
    give unrelated streams)."""
    for g in range(states.shape[0]):
        states[g] = _mix(np.uint64(seed + g * agents_per_game) + _GOLDEN)


@numba.njit(cache=True, inline="always")
def log_episode(log: np.ndarray, agent: int, episode_return: float, length: float, score: float) -> None:
    """Add one finished episode of ``agent`` to its row of the log (extras: ``log[agent, LOG_EXTRA + k]``)."""
    log[agent, LOG_N] += 1.0
    log[agent, LOG_RETURN] += episode_return
    log[agent, LOG_LENGTH] += length
    log[agent, LOG_SCORE] += score


@numba.njit(cache=True)
def take_log_totals(log: np.ndarray, totals: np.ndarray) -> float:
    """Sum ``log``'s rows into ``totals``; when episodes ended (``totals[LOG_N] > 0``), zero ``log``.
    Returns ``totals[LOG_N]``.

    Compiled because numpy sums a ``(games, few)`` array down its rows slowly: 250 us at 4096
    games, every ``report_interval`` steps (a tenth of CartPole's stepping time); this takes 15.
    Plain loops: slice assignment (``log[:] = 0``) or unrolled sums would double the compile time.
    """
    rows, columns = log.shape
    for k in range(columns):
        total = 0.0
        for i in range(rows):
            total += log[i, k]
        totals[k] = total
    n = totals[LOG_N]
    if n > 0:
        for i in range(rows):
            for k in range(columns):
                log[i, k] = 0.0
    return n
