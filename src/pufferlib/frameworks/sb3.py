"""Stable-Baselines3 binding: a pufferlib vecenv presented as an SB3 ``VecEnv``.

The two libraries disagree on auto-reset. SB3 wants the *reset* observation on the
step that ends an episode, with the final one in ``info['terminal_observation']``.
pufferlib backends return the *final* observation on that step and reset the env on
the next ``send`` (a zero-reward transition whose action is ignored); native
``PufferEnv``s reset themselves and return the reset observation at once.

- ``make_vec_env(env_creator, num_envs, backend=...)`` is the exact path: each env is
  wrapped in ``AutoResetEnv``, a one-agent native env that resets itself on the done
  step and reports the final observation in its info, so SB3 sees exactly its own
  conventions on every backend.
- ``SB3VecEnv(vecenv)`` adapts any synchronous vecenv. With self-resetting envs
  (``AutoResetEnv`` or native ``PufferEnv``s) the translation is exact. With plain
  emulated envs the reset observation does not exist yet on the done step: SB3 gets
  the final observation there (and in ``terminal_observation``), and the backend's
  reset transition becomes the first, zero-reward, step of the next episode.

Episode statistics reach SB3 in ``Monitor`` format, ``info['episode'] = {'r', 'l',
't'}``, taken from pufferlib's ``episode_return``/``episode_length`` infos (see
``pufferlib.postprocess.EpisodeStats``) or, for envs without them, counted here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pufferlib import vector
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.puffer_env import PufferEnv

try:
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import VecEnv
except ImportError as e:
    raise EnvironmentSetupError(e, "sb3") from e

EPISODE_KEYS = ("terminal_observation", "episode_return")


class AutoResetEnv(PufferEnv):
    """A single-agent puffer env that resets itself on the step that ends an episode.

    That step returns the reset observation with the terminal/truncation flags and
    reward of the final step; its info gains ``terminal_observation`` (a copy of the
    final observation) and ``TimeLimit.truncated``. Vector backends treat it as a
    native env (they never reset it), so every backend delivers SB3's conventions.
    """

    def __init__(self, env: GymnasiumPufferEnv):
        if not isinstance(env, GymnasiumPufferEnv):
            raise APIUsageError(
                f"AutoResetEnv wraps a single-agent GymnasiumPufferEnv, got {type(env).__name__}. "
                "Native PufferEnvs already reset themselves: use them directly."
            )
        self.env = env
        self.single_observation_space = env.single_observation_space
        self.single_action_space = env.single_action_space
        self.num_agents = 1
        super().__init__()
        self.emulated = env.emulated

    @property
    def render_mode(self) -> str | None:
        return self.env.render_mode

    def _bind(self) -> None:
        if self.env.buf is not self.buf:
            self.env.buf = self.buf  # the inner env writes straight into our rows

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        self._bind()
        _, info = self.env.reset(seed=seed)
        return self.observations, [info] if info else []

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        self._bind()
        _, reward, terminal, truncated, info = self.env.step(actions[0])
        if terminal or truncated:
            info = dict(info)
            info["terminal_observation"] = self.observations[0].copy()
            info["TimeLimit.truncated"] = bool(truncated and not terminal)
            reset_info = self.env.reset()[1]
            # The inner reset cleared the done step's outputs: put them back.
            self.rewards[0], self.terminals[0], self.truncations[0] = reward, terminal, truncated
            if reset_info:
                info["reset_info"] = reset_info
        return self.observations, self.rewards, self.terminals, self.truncations, [info] if info else []

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _auto_reset_creator(env_creator: Callable, env_args: Sequence, env_kwargs: dict) -> PufferEnv:
    env = env_creator(*env_args, **env_kwargs)
    return env if isinstance(env, PufferEnv) else AutoResetEnv(env)


def make_vec_env(env_creator: Callable, num_envs: int = 1, env_args: Sequence = (),
                 env_kwargs: dict | None = None, backend: Any = "serial", seed: int | None = None,
                 **kwargs: Any) -> SB3VecEnv:
    """An SB3 ``VecEnv`` of ``num_envs`` puffer envs on a pufferlib backend, with SB3's
    exact auto-reset conventions. ``env_creator(*env_args, **env_kwargs)`` returns a
    ``GymnasiumPufferEnv`` (or a native ``PufferEnv``); ``kwargs`` go to
    ``pufferlib.vector.make`` (``num_workers``, ...)."""
    creator = functools.partial(_auto_reset_creator, env_creator, tuple(env_args), dict(env_kwargs or {}))
    vecenv = vector.make(creator, backend=backend, num_envs=num_envs, **kwargs)
    sb3_env = SB3VecEnv(vecenv)
    if seed is not None:
        sb3_env.seed(seed)
    return sb3_env


class SB3VecEnv(VecEnv):
    """Any synchronous pufferlib vecenv (``batch_size == num_envs``) as an SB3 ``VecEnv``.

    One SB3 env per agent (``num_envs = vecenv.num_agents``), in global agent order.
    Observations are the flat puffer observations (copied: puffer buffers are reused).
    Padded agents of multi-agent envs are passed through as they are; SB3 has no masks.
    """

    def __init__(self, vecenv: Any):
        if vecenv.agents_per_batch != vecenv.num_agents:
            raise APIUsageError(
                f"SB3VecEnv needs a synchronous vecenv: agents_per_batch={vecenv.agents_per_batch} but "
                f"num_agents={vecenv.num_agents}. Make it with batch_size equal to num_envs."
            )
        self.vecenv = vecenv
        self.self_resetting = isinstance(vecenv.driver_env, PufferEnv)
        n = vecenv.num_agents
        self._actions: np.ndarray | None = None
        self._order: np.ndarray | None = None
        self._returns = np.zeros(n, dtype=np.float64)
        self._lengths = np.zeros(n, dtype=np.int64)
        # Emulated envs only: the step after a done is the backend's reset transition.
        self._resetting = np.zeros(n, dtype=bool)
        self._start = time.time()
        super().__init__(n, vecenv.single_observation_space, vecenv.single_action_space)

    # ---------------------------------------------------------------------------------
    # Stepping

    def reset(self) -> np.ndarray:
        seed = self._seeds[0]
        obs, infos = self.vecenv.reset(seed=seed)
        self._seeds = [None] * self.num_envs
        self._order = None
        self._returns[:] = 0
        self._lengths[:] = 0
        self._resetting[:] = False
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.asarray(actions)
        if self._order is not None:
            actions = actions[self._order]
        self.vecenv.send(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        obs, rewards, terminals, truncations, puffer_infos, env_ids, _ = self.vecenv.recv()
        env_ids = np.asarray(env_ids)
        if np.array_equal(env_ids, np.arange(self.num_envs)):
            self._order = None
        else:  # rows come in env_ids order: put them in agent order (and actions back)
            self._order = env_ids
            rank = np.argsort(env_ids)
            obs, rewards = obs[rank], rewards[rank]
            terminals, truncations = terminals[rank], truncations[rank]
        obs = obs.copy()
        rewards = np.asarray(rewards, dtype=np.float32).copy()
        dones = np.logical_or(terminals, truncations)

        counting = ~self._resetting
        self._returns += np.where(counting, rewards, 0.0)
        self._lengths += counting
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        finished = np.flatnonzero(dones)
        episode_infos = iter([info for info in puffer_infos if any(key in info for key in EPISODE_KEYS)])
        for agent in finished:
            info = dict(next(episode_infos, {}))
            info.pop("reset_info", None)
            if "terminal_observation" not in info and not self.self_resetting:
                info["terminal_observation"] = obs[agent].copy()
            info.setdefault("TimeLimit.truncated", bool(truncations[agent] and not terminals[agent]))
            if "episode_return" in info:
                episode_return = float(info["episode_return"])
                episode_length = int(info.get("episode_length", self._lengths[agent]))
            else:
                episode_return, episode_length = float(self._returns[agent]), int(self._lengths[agent])
            info["episode"] = {"r": episode_return, "l": episode_length,
                               "t": round(time.time() - self._start, 6)}
            infos[agent] = info
        self._returns[finished] = 0
        self._lengths[finished] = 0
        if not self.self_resetting:
            self._resetting = dones
        return obs, rewards, dones, infos

    def close(self) -> None:
        self.vecenv.close()

    # ---------------------------------------------------------------------------------
    # Attribute access: every env is built by the same creator, so the driver env answers.

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        value = getattr(self.vecenv.driver_env, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        raise APIUsageError(
            "SB3VecEnv cannot set attributes on pufferlib envs, which may live in other processes; "
            "pass settings to the env creator instead."
        )

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None,
                   **method_kwargs: Any) -> list[Any]:
        raise APIUsageError(
            f"SB3VecEnv cannot call {method_name}() on pufferlib envs, which may live in other "
            "processes; pass settings to the env creator instead."
        )

    def get_images(self) -> list[Any]:
        """One ``render()`` per SB3 env (what ``render()`` tiles and ``VecVideoRecorder`` records).

        The envs must be in this process (the Serial backend) and made with ``render_mode="rgb_array"``;
        an env hosting several agents renders once, for each of them.
        """
        envs = getattr(self.vecenv, "envs", None)
        if envs is None:
            raise APIUsageError(f"Rendering needs the envs in this process: make the vecenv with the Serial "
                                f"backend (this one is {type(self.vecenv).__name__}).")
        images = []
        for env in envs:
            image = env.render()
            images.extend([image] * int(env.num_agents))
        return images

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        # Episode statistics arrive in Monitor's format, which is what SB3 checks for.
        return [wrapper_class is Monitor for _ in self._indices(indices)]
