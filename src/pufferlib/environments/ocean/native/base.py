"""``NativeEnv``: the Python half of a native Ocean env (spec 2.6).

A native env is a ``PufferEnv`` whose games live in numpy arrays and are stepped by one
Numba kernel call per ``step``. This class does the bookkeeping every such env repeats:
argument checks, buffers, per-game seeding, action checks, and turning the kernels' episode
log into infos. A subclass sets its spaces, allocates its state arrays and implements
``_reset_games()`` and ``_step_games(actions) -> int`` (the kernel calls), plus
``render_ansi`` / ``render_rgb`` for the first game.

Each game is one file plus one line in ``ocean/environment.py``'s ``NATIVE_GAMES`` registry;
the class's ``__init__`` signature is the list of the game's options (``puffer train --env
ocean:NAME --help`` reads it).
"""

from __future__ import annotations

import os
import sys
from typing import Any, ClassVar

import numpy as np

from pufferlib.environments.ocean.native import core
from pufferlib.environments.ocean.native.cache import recompiling_if_damaged
from pufferlib.exceptions import APIUsageError
from pufferlib.memory import require
from pufferlib.puffer_env import PufferEnv

RENDER_MODES = ["ansi", "rgb_array"]
_ndarray = np.ndarray  # a module global: one lookup in step()'s fast path instead of two


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int, or ``APIUsageError`` when it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise APIUsageError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


class NativeEnv(PufferEnv):
    """``num_envs`` games of one kind, ``agents_per_game`` agents each, stepped by a kernel.

    Contract (spec 2.6): ``reset(seed)`` seeds game ``g`` with ``seed + g * agents_per_game``
    (see ``core``) and starts every game; ``step(actions)`` advances every game one tick,
    writing observations, rewards, terminals and truncations in place. A game that ends is
    reset inside the same step: that step carries the final reward, the flags, and the new
    episode's first observation. Every ``report_interval`` steps in which episodes ended,
    ``infos`` holds one dict: the means of ``episode_return``, ``episode_length``, ``score``
    (and ``LOG_EXTRA_KEYS``) over the episodes finished since the last report, and ``n``,
    their number; after ``report_each_episode()``, one dict per finished episode instead, with
    the agent's index under ``agent`` (evaluation counts episodes per agent from these). Kernel
    errors (an action out of range) raise ``APIUsageError``.
    """

    metadata: ClassVar[dict] = {"render_modes": RENDER_MODES, "render_fps": 30}
    agents_per_game: int = 1
    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, num_envs: int, render_mode: str | None, report_interval: int, buf: Any):
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.report_interval = check_positive_int("report_interval", report_interval)
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise APIUsageError(
                f"{type(self).__name__} supports render_mode in {RENDER_MODES} or None, got {render_mode!r}."
            )
        self.render_mode = render_mode
        self.num_agents = self.num_envs * self.agents_per_game
        super().__init__(buf)
        self.rng = np.zeros(self.num_envs, dtype=np.uint64)
        self.log = np.zeros((self.num_agents, core.LOG_EXTRA + len(self.LOG_EXTRA_KEYS)), dtype=np.float64)
        self._log_keys = (*core.LOG_BASE_KEYS, *self.LOG_EXTRA_KEYS)
        self._each_episode = False
        self._taped = False
        self._prepared = False
        self._action_dtype = self.single_action_space.dtype
        self._action_shape = (self.num_agents, *self.single_action_space.shape)
        # ``_action_shape`` once reset() ran, None before: step()'s fast path then fails and the
        # full checks raise the "before reset" error (one comparison instead of two per step).
        self._step_shape: tuple[int, ...] | None = None
        self._log_totals = np.zeros(self.log.shape[1], dtype=np.float64)
        self._ticks = 0

    # -- subclass hooks --------------------------------------------------------------

    def _reset_games(self) -> None:
        """Start every game; by default the step kernel does it (one compiled function, not two)."""
        self._step_games(self.actions, reset_all=True)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        """Run the step kernel (restarting every game with ``reset_all``); return 0, or 1 when an
        action was out of range."""
        raise NotImplementedError

    def render_ansi(self) -> str:
        raise NotImplementedError

    def render_rgb(self) -> np.ndarray:
        raise NotImplementedError

    # -- options -----------------------------------------------------------------------

    def report_each_episode(self, enabled: bool = True) -> None:
        """Report one info dict per finished episode, every step (with ``agent``: its index),
        instead of means every ``report_interval`` steps."""
        self._each_episode = bool(enabled)

    def use_random_tape(self, tape: np.ndarray) -> None:
        """Draw random numbers from ``tape`` instead of the seeded generators (see ``core``).

        ``tape`` is ``(num_envs, N)``: row ``g`` holds the ``rand()`` values game ``g`` takes,
        in order (a recording of a C game's stream). Later resets keep the tape; the draws
        taken so far are ``self.rng[:, 0]``.
        """
        tape = np.asarray(tape)
        if tape.ndim != 2 or tape.shape[0] != self.num_envs or tape.dtype.kind not in "iu":
            raise APIUsageError(
                f"{type(self).__name__}.use_random_tape: expected an integer array of shape "
                f"({self.num_envs}, N), got {tape.dtype} {tape.shape}."
            )
        self.rng = np.zeros((self.num_envs, tape.shape[1] + 1), dtype=np.uint64)
        self.rng[:, 1:] = tape
        self._taped = True

    # -- PufferEnv API -----------------------------------------------------------------

    def _seed_and_reset(self, seed: int) -> None:
        if not self._taped:
            core.seed_games(self.rng, seed, self.agents_per_game)
        self._reset_games()

    def _first_reset(self, seed: int) -> None:
        """Refuse games that cannot fit in memory, then reset them (compiling the kernels, again if
        Numba's cache of them is damaged)."""
        owned = sum(value.nbytes for value in vars(self).values()
                    if isinstance(value, np.ndarray) and value.flags.owndata)
        require(owned, f"{self.num_envs:,} games of {type(self).__name__}", "lower num_envs (--env.num-envs)")
        modules = (sys.modules[type(self).__module__], core)
        recompiling_if_damaged(lambda: self._seed_and_reset(seed), modules, type(self).__name__)
        self._prepared = True

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little")
        elif isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
            raise APIUsageError(
                f"{type(self).__name__}.reset: seed must be an int in [0, 2**32) or None, got {seed!r}."
            )
        if self._prepared:
            self._seed_and_reset(int(seed))
        else:
            self._first_reset(int(seed))
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        self.log[:] = 0
        self._ticks = 0
        self._step_shape = self._action_shape
        return self.observations, []

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        # At 32 games a step takes a few microseconds: every attribute lookup here shows. The fast
        # path takes arrays of the action space's dtype and shape (a trainer's buffer rows); any
        # other input, and a step before reset(), goes through the full checks.
        if (
            type(actions) is not _ndarray
            or actions.dtype is not self._action_dtype
            or actions.shape != self._step_shape
        ):
            actions = self._checked_actions(actions)
        if self._step_games(actions):
            raise APIUsageError(
                f"{type(self).__name__}: actions out of range for {self.single_action_space}: {actions}."
            )
        self._ticks = ticks = self._ticks + 1
        if ticks % self.report_interval and not self._each_episode:
            return self.observations, self.rewards, self.terminals, self.truncations, []
        return self.observations, self.rewards, self.terminals, self.truncations, self._infos()

    def render(self) -> str | np.ndarray | None:
        """The first game: text (``ansi``) or an ``(H, W, 3)`` uint8 image (``rgb_array``)."""
        if self.render_mode == "ansi":
            return self.render_ansi()
        if self.render_mode == "rgb_array":
            return self.render_rgb()
        return None

    # -- internals ---------------------------------------------------------------------

    def _infos(self) -> list[dict]:
        """The infos of a reporting step: every finished episode, or the means since the last report."""
        if self._each_episode:
            return self._report_episodes()
        if core.take_log_totals(self.log, self._log_totals) > 0:
            return [self._means(self._log_totals)]
        return []

    def _checked_actions(self, actions: Any) -> np.ndarray:
        if self._step_shape is None:
            raise APIUsageError(f"{type(self).__name__}: step() called before reset().")
        return self._coerce(actions)

    def _coerce(self, actions: Any) -> np.ndarray:
        try:
            array = np.asarray(actions)
        except Exception as e:
            raise APIUsageError(
                f"{type(self).__name__}: actions must be an array, got {type(actions)}."
            ) from e
        if array.shape != self._action_shape and array.size == self.num_agents * max(
            1, int(np.prod(self.single_action_space.shape))
        ):
            array = array.reshape(self._action_shape)
        if array.shape != self._action_shape or array.dtype.kind not in (
            "f" if self._action_dtype.kind == "f" else "iu"
        ):
            raise APIUsageError(
                f"{type(self).__name__} expects actions of shape {self._action_shape} "
                f"({self.single_action_space} per agent), got shape {array.shape} dtype {array.dtype}."
            )
        return np.ascontiguousarray(array, dtype=self._action_dtype)

    def _means(self, totals: np.ndarray) -> dict[str, float]:
        n = totals[core.LOG_N]
        info = {key: float(totals[i + 1] / n) for i, key in enumerate(self._log_keys)}
        info["n"] = float(n)
        return info

    def _report_episodes(self) -> list[dict]:
        finished = np.flatnonzero(self.log[:, core.LOG_N])
        infos = []
        for agent in finished:
            info = self._means(self.log[agent])
            info["agent"] = int(agent)
            infos.append(info)
        self.log[finished] = 0
        return infos
