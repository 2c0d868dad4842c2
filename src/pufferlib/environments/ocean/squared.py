"""Squared: move from the centre of a grid to targets on its perimeter.

Rules (shared exactly by ``Squared`` and the natively vectorized ``SquaredNative``):

- The map is a ``(2d+1, 2d+1)`` float32 grid, ``d = distance_to_target``. The agent
  (-1) starts at the centre; ``num_targets`` targets (+1) sit on distinct, uniformly
  random cells of the perimeter ring (the cells at L-inf distance ``d`` from the centre).
- Actions are the 8 king moves (``MOVES``). After each move the reward is
  ``1 - (L-inf distance from the new cell to the nearest remaining target) / d``.
- A target the agent lands on is removed. Landing anywhere on the perimeter ring sends
  the agent back to the centre.
- The episode terminates after ``num_targets * d`` steps. Optimal play earns
  ``1/d, 2/d, ..., 1`` per target; moving straight away earns ``-1/d, ..., -1``.
- Final info: ``score`` = fraction of the targets reached.

Target placement uses the env's own generator: one uniform key per perimeter cell,
the ``num_targets`` smallest keys win. ``SquaredNative`` draws the keys of all games
that reset together in one call, so with ``num_envs=1`` it reproduces ``Squared``
seeded the same way step for step, across episodes.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium.utils import seeding

from pufferlib.environments.ocean.render import ansi_grid, check_render_mode, rgb_grid
from pufferlib.exceptions import APIUsageError
from pufferlib.puffer_env import PufferEnv

MOVES = np.array([(0, -1), (0, 1), (-1, 0), (1, 0), (1, -1), (-1, -1), (1, 1), (-1, 1)], dtype=np.int64)
_MOVE_TUPLES = [tuple(int(x) for x in move) for move in MOVES]
RENDER_MODES = ["ansi", "rgb_array"]


def _validate(distance_to_target: int, num_targets: int) -> None:
    if not isinstance(distance_to_target, int | np.integer) or distance_to_target < 1:
        raise APIUsageError(f"distance_to_target must be an integer >= 1, got {distance_to_target!r}.")
    ring = 8 * distance_to_target
    if not isinstance(num_targets, int | np.integer) or not 1 <= num_targets <= ring:
        raise APIUsageError(
            f"num_targets must be an integer in [1, {ring}] (the perimeter of a distance "
            f"{distance_to_target} grid has {ring} cells), got {num_targets!r}."
        )


def perimeter_cells(distance_to_target: int) -> np.ndarray:
    """``(8d, 2)`` (row, col) cells of the perimeter ring, in row-major order."""
    size = 2 * distance_to_target + 1
    rows, cols = np.indices((size, size)).reshape(2, -1)
    on_ring = (rows == 0) | (cols == 0) | (rows == size - 1) | (cols == size - 1)
    return np.stack([rows[on_ring], cols[on_ring]], axis=1)


def sample_targets(rng: np.random.Generator, perimeter: np.ndarray, num_targets: int,
                   num_games: int) -> np.ndarray:
    """``(num_games, num_targets, 2)`` distinct perimeter cells per game, drawn in one call."""
    keys = rng.random((num_games, len(perimeter)))
    return perimeter[np.argsort(keys, axis=1)[:, :num_targets]]


class Squared(gymnasium.Env):
    """Single-game Squared (see the module docstring for the rules).

    ``reset(options={'targets': [(row, col), ...]})`` places the targets explicitly
    (distinct perimeter cells, ``num_targets`` of them) instead of sampling them.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(self, distance_to_target: int = 3, num_targets: int = 1, render_mode: str | None = None):
        _validate(distance_to_target, num_targets)
        self.distance_to_target = d = int(distance_to_target)
        self.num_targets = int(num_targets)
        self.render_mode = check_render_mode("Squared", render_mode, RENDER_MODES)
        self.max_ticks = self.num_targets * d
        self.perimeter = perimeter_cells(d)
        self._perimeter_set = {(int(r), int(c)) for r, c in self.perimeter}
        size = 2 * d + 1
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, (size, size), np.float32)
        self.action_space = gymnasium.spaces.Discrete(8)
        self.grid = np.zeros((size, size), dtype=np.float32)
        self.targets: list[tuple[int, int]] = []
        self.agent = (d, d)
        self.tick = 0
        self._started = False

    def _place_targets(self, options: dict | None) -> list[tuple[int, int]]:
        if options is None or "targets" not in options:
            cells = sample_targets(self.np_random, self.perimeter, self.num_targets, 1)[0]
            return [(int(r), int(c)) for r, c in cells]
        cells = [(int(r), int(c)) for r, c in options["targets"]]
        if (len(cells) != self.num_targets or len(set(cells)) != len(cells)
                or not set(cells) <= self._perimeter_set):
            raise APIUsageError(
                f"options['targets'] must be {self.num_targets} distinct perimeter cells "
                f"(row, col) of the {self.grid.shape} grid, got {options['targets']!r}."
            )
        return cells

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        d = self.distance_to_target
        self.targets = self._place_targets(options)
        self.grid[:] = 0
        for row, col in self.targets:
            self.grid[row, col] = 1
        self.agent = (d, d)
        self.grid[d, d] = -1
        self.tick = 0
        self._started = True
        return self.grid.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self._started:
            raise APIUsageError("Squared: step() called before reset()")
        if not 0 <= action < 8:
            raise APIUsageError(f"Squared: action must be in [0, 8), got {action!r}.")
        d = self.distance_to_target
        row, col = self.agent
        self.grid[row, col] = 0
        d_row, d_col = _MOVE_TUPLES[action]
        row, col = row + d_row, col + d_col

        distance = min(max(abs(row - t_row), abs(col - t_col)) for t_row, t_col in self.targets)
        reward = 1.0 - distance / d
        if distance == 0:
            self.targets.remove((row, col))
            self.grid[row, col] = 0
        if max(abs(row - d), abs(col - d)) >= d:
            row, col = d, d
        self.agent = (row, col)
        self.grid[row, col] = -1

        self.tick += 1
        terminated = self.tick >= self.max_ticks
        info = {"score": 1.0 - len(self.targets) / self.num_targets} if terminated else {}
        return self.grid.copy(), reward, terminated, False, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return ansi_grid(self.grid)
        if self.render_mode == "rgb_array":
            return rgb_grid(self.grid)
        return None


class SquaredNative(PufferEnv):
    """``num_envs`` independent Squared games stepped together in one numpy call.

    A native ``PufferEnv``: one agent per game, observations are the games' grids
    (``(num_envs, 2d+1, 2d+1)`` float32) written in place into the shared buffers.
    A finished game resets within the same step: that step reports the final reward
    with ``terminal=True`` and the new game's first observation, and ``infos`` holds
    one ``{'score', 'episode_return', 'episode_length'}`` dict per finished game.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(self, num_envs: int = 1, distance_to_target: int = 3, num_targets: int = 1,
                 render_mode: str | None = None, buf: Any = None):
        _validate(distance_to_target, num_targets)
        if not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise APIUsageError(f"num_envs must be an integer >= 1, got {num_envs!r}.")
        self.distance_to_target = d = int(distance_to_target)
        self.num_targets = int(num_targets)
        self.num_envs = self.num_agents = int(num_envs)
        self.max_ticks = self.num_targets * d
        self.render_mode = check_render_mode("SquaredNative", render_mode, RENDER_MODES)
        size = 2 * d + 1
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (size, size), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(8)
        super().__init__(buf)

        n = self.num_envs
        self.perimeter = perimeter_cells(d)
        self._games = np.arange(n)
        self._agents = np.full((n, 2), d, dtype=np.int64)
        self._targets = np.zeros((n, self.num_targets, 2), dtype=np.int64)
        self._remaining = np.zeros((n, self.num_targets), dtype=bool)
        self._ticks = np.zeros(n, dtype=np.int64)
        self._returns = np.zeros(n, dtype=np.float64)
        self._far = np.int64(4 * d + 1)  # farther than any cell: masks reached targets
        self._rng: np.random.Generator | None = None

    def _reset_games(self, games: np.ndarray) -> None:
        d = self.distance_to_target
        grids = self.observations
        assert self._rng is not None  # made by reset
        targets = sample_targets(self._rng, self.perimeter, self.num_targets, len(games))
        self._targets[games] = targets
        self._remaining[games] = True
        self._agents[games] = d
        self._ticks[games] = 0
        self._returns[games] = 0.0
        grids[games] = 0
        grids[games[:, None], targets[..., 0], targets[..., 1]] = 1
        grids[games, d, d] = -1

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        if seed is not None or self._rng is None:
            self._rng, _ = seeding.np_random(seed)
        self._reset_games(self._games)
        self.rewards[:] = 0
        self.terminals[:] = False
        self.truncations[:] = False
        return self.observations, []

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        if self._rng is None:
            raise APIUsageError("SquaredNative: step() called before reset()")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":
            raise APIUsageError(
                f"SquaredNative expects one integer action per game: shape ({self.num_envs},), "
                f"got shape {actions.shape} dtype {actions.dtype}."
            )
        if actions.min() < 0 or actions.max() >= 8:
            raise APIUsageError(f"SquaredNative: actions must be in [0, 8), got {actions}.")
        d = self.distance_to_target
        grids, games, agents, targets = self.observations, self._games, self._agents, self._targets

        grids[games, agents[:, 0], agents[:, 1]] = 0
        agents += MOVES[actions]
        distances = np.abs(targets - agents[:, None, :]).max(axis=2)
        nearest = np.where(self._remaining, distances, self._far).min(axis=1)
        rewards = 1.0 - nearest / d
        self.rewards[:] = rewards

        reached = self._remaining & (distances == 0)
        if reached.any():
            hit_games, hit_targets = np.nonzero(reached)
            self._remaining[hit_games, hit_targets] = False
            cells = targets[hit_games, hit_targets]
            grids[hit_games, cells[:, 0], cells[:, 1]] = 0
        agents[np.abs(agents - d).max(axis=1) >= d] = d
        grids[games, agents[:, 0], agents[:, 1]] = -1

        self._ticks += 1
        self._returns += rewards
        finished = self._ticks >= self.max_ticks
        self.terminals[:] = finished
        self.truncations[:] = False
        infos: list[dict] = []
        if finished.any():
            done = np.flatnonzero(finished)
            scores = 1.0 - self._remaining[done].sum(axis=1) / self.num_targets
            infos = [
                {"score": score, "episode_return": episode_return, "episode_length": length}
                for score, episode_return, length in zip(
                    scores.tolist(), self._returns[done].tolist(), self._ticks[done].tolist())
            ]
            self._reset_games(done)
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def render(self) -> str | np.ndarray | None:
        """The first game, as text (``ansi``) or an image (``rgb_array``)."""
        if self.render_mode == "ansi":
            return ansi_grid(self.observations[0])
        if self.render_mode == "rgb_array":
            return rgb_grid(self.observations[0])
        return None
