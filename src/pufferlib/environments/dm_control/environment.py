"""DeepMind Control Suite tasks as Gymnasium envs, and the ``dm_env`` adapter they use.

``DMEnv`` presents any ``dm_env.Environment`` (dm_control, bsuite) through the
Gymnasium API:

- observation specs become a ``Box``: one array keeps its shape, a dict of arrays
  (dm_control's ``position``/``velocity``/...) is concatenated, in spec order, into one
  float32 vector written in place into a preallocated buffer;
- a ``DiscreteArray`` action spec becomes ``Discrete``, a float ``BoundedArray`` a float32
  ``Box`` with the spec's bounds (actions are passed back as the spec's dtype);
- the last step of an episode terminates when its discount is 0 and is truncated
  otherwise (dm_control's time limit keeps discount 1);
- ``reset(seed=s)`` rebuilds the environment with ``make_dm_env(s)``; ``reset()``
  starts the next episode of the same one.

``env_creator('<domain>-<task>')`` (e.g. ``cartpole-swingup``, ``ball_in_cup-catch``) builds
a suite task with the continuous-control wrappers of ``pufferlib.environments.mujoco``
(action clipping; per-env normalisation only with ``normalize=True``: the trainer
normalises per run, see ``pufferlib.normalization``) over ``EpisodeStats``, so reported
returns are the task's own.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium
import numpy as np

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import try_import
from pufferlib.environments.mujoco.environment import continuous_control, render_off_screen_without_a_display
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats

EXTRA = "dm_control"


def _bounds(spec: Any, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    low = np.broadcast_to(getattr(spec, "minimum", -np.inf), spec.shape).astype(dtype)
    high = np.broadcast_to(getattr(spec, "maximum", np.inf), spec.shape).astype(dtype)
    return low, high


def observation_space(spec: Any) -> gymnasium.spaces.Box:
    """A ``Box`` for a dm_env observation spec (see ``DMEnv``)."""
    if isinstance(spec, Mapping):
        size = sum(math.prod(s.shape) for s in spec.values())
        return gymnasium.spaces.Box(-np.inf, np.inf, (size,), np.float32)
    dtype = np.dtype(np.float32) if np.issubdtype(spec.dtype, np.floating) else np.dtype(spec.dtype)
    low, high = _bounds(spec, dtype)
    return gymnasium.spaces.Box(low, high, spec.shape, dtype)


def action_space(spec: Any) -> gymnasium.Space:
    """A ``Discrete`` or ``Box`` for a dm_env action spec (see ``DMEnv``)."""
    if hasattr(spec, "num_values"):
        return gymnasium.spaces.Discrete(int(spec.num_values))
    if np.issubdtype(spec.dtype, np.integer) and spec.shape == () and hasattr(spec, "minimum"):
        first, last = int(spec.minimum), int(spec.maximum)
        return gymnasium.spaces.Discrete(last - first + 1, start=first)
    if np.issubdtype(spec.dtype, np.floating):
        low, high = _bounds(spec, np.dtype(np.float32))
        return gymnasium.spaces.Box(low, high, spec.shape, np.float32)
    raise APIUsageError(f"Unsupported dm_env action spec {spec}: expected a DiscreteArray or a float array.")


class DMEnv(gymnasium.Env):
    """A ``dm_env.Environment`` behind the Gymnasium API (see the module docstring).

    ``make_dm_env(seed)`` builds the environment (``seed`` is None for an unseeded one).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, make_dm_env: Callable[[int | None], Any], render_mode: str | None = None):
        self._make_dm_env = make_dm_env
        self._env = make_dm_env(None)
        self.render_mode = render_mode
        observation_spec = self._env.observation_spec()
        action_spec = self._env.action_spec()
        self.observation_space = observation_space(observation_spec)
        self.action_space = action_space(action_spec)
        self._keys = list(observation_spec) if isinstance(observation_spec, Mapping) else None
        self._observation = np.zeros(self.observation_space.shape, self.observation_space.dtype)
        self._action_dtype = np.dtype(action_spec.dtype)

    def _write(self, observation: Any) -> np.ndarray:
        if self._keys is None:
            self._observation[...] = observation
            return self._observation
        start = 0
        for key in self._keys:
            value = np.asarray(observation[key])
            self._observation[start:start + value.size] = value.reshape(-1)
            start += value.size
        return self._observation

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._env.close()
            self._env = self._make_dm_env(int(seed) % 2**31)
        return self._write(self._env.reset().observation), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if isinstance(self.action_space, gymnasium.spaces.Discrete):
            action = int(action)
        else:
            action = np.asarray(action, dtype=self._action_dtype)
        timestep = self._env.step(action)
        reward = 0.0 if timestep.reward is None else float(timestep.reward)
        if timestep.last():
            terminated = timestep.discount is not None and float(timestep.discount) == 0.0
            return self._write(timestep.observation), reward, terminated, not terminated, {}
        return self._write(timestep.observation), reward, False, False, {}

    def render(self) -> np.ndarray:
        physics = getattr(self._env, "physics", None)
        if physics is None:
            raise APIUsageError(f"{type(self._env).__name__} cannot render: it has no MuJoCo physics.")
        return physics.render(height=240, width=320, camera_id=0)

    def close(self) -> None:
        self._env.close()


def _suite() -> Any:
    # dm_control picks its OpenGL backend once, when first imported: on a machine without a
    # display that must already be EGL for frames to render later (GLFW has no window there).
    render_off_screen_without_a_display()
    return try_import("dm_control.suite", EXTRA)


def task(name: str) -> tuple[str, str]:
    """``(domain, task)`` for ``'<domain>-<task>'`` (``APIUsageError`` listing the tasks if unknown)."""
    suite = _suite()
    domain, _, task_name = name.partition("-")
    if (domain, task_name) not in suite.ALL_TASKS:
        valid = ", ".join(f"{d}-{t}" for d, t in suite.ALL_TASKS)
        raise APIUsageError(f"Unknown dm_control task {name!r}. Valid names: {valid}.")
    return domain, task_name


def load_task(domain: str, task_name: str, time_limit: float | None, seed: int | None) -> Any:
    """The suite task, its random state seeded with ``seed``; ``time_limit`` in seconds."""
    suite = _suite()
    task_kwargs: dict[str, Any] = {"random": seed}
    if time_limit is not None:
        task_kwargs["time_limit"] = time_limit
    return suite.load(domain, task_name, task_kwargs=task_kwargs)


def make_env(name: str = "cartpole-swingup", normalize: bool = False, gamma: float = 0.99,
             time_limit: float | None = None, render_mode: str | None = None) -> GymnasiumPufferEnv:
    """One suite task; ``normalize`` adds per-env observation/reward normalisation and
    ``time_limit`` (simulated seconds) overrides the task's episode length (usually 1000 steps)."""
    domain, task_name = task(name)
    env = DMEnv(functools.partial(load_task, domain, task_name, time_limit), render_mode=render_mode)
    return GymnasiumPufferEnv(env=continuous_control(EpisodeStats(env), normalize=normalize, gamma=gamma))


def env_creator(name: str = "cartpole-swingup") -> Callable[..., GymnasiumPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    return functools.partial(make_env, "-".join(task(name)))


make = make_env
