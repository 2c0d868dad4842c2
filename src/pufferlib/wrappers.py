"""Adapters from the old Gym and PettingZoo APIs to the ones pufferlib emulates (PufferLib 1.0's).

``GymToGymnasium`` makes an env of the old Gym API (``reset() -> obs``, ``step() -> (obs,
reward, done, info)``) a ``gymnasium.Env``; ``PettingZooTruncatedWrapper`` does the same for a
PettingZoo parallel env that reports ``dones`` without truncations. Both keep the env's spaces,
metadata and rendering::

    env = pufferlib.emulation.GymnasiumPufferEnv(env=GymToGymnasium(old_gym_env))

The old API cannot tell a time limit from a real end, so ``done`` becomes ``terminated`` and
``truncated`` is always False, unless the old env reports ``TimeLimit.truncated`` in its info
(Gym's ``TimeLimit`` wrapper does), which is honoured.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium
from pettingzoo import ParallelEnv

TIME_LIMIT_KEY = "TimeLimit.truncated"


def _accepts(method: Any, name: str) -> bool:
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _reset(env: Any, seed: int | None, options: dict | None) -> Any:
    kwargs: dict[str, Any] = {}
    if seed is not None:
        if _accepts(env.reset, "seed"):
            kwargs["seed"] = seed
        elif hasattr(env, "seed"):
            env.seed(seed)  # the older Gym API seeded separately
    if options is not None and _accepts(env.reset, "options"):
        kwargs["options"] = options
    return env.reset(**kwargs)


def _split_done(done: bool, info: dict) -> tuple[bool, bool]:
    """``(terminated, truncated)`` from an old-API ``done`` and its info."""
    truncated = bool(info.get(TIME_LIMIT_KEY, False)) if isinstance(info, dict) else False
    return bool(done) and not truncated, bool(done) and truncated


class GymToGymnasium(gymnasium.Env):
    """An old Gym env (``step`` returns 4 values) as a Gymnasium env (5 values)."""

    def __init__(self, env: Any):
        self.env = env
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self.metadata = dict(getattr(env, "metadata", {}) or {})
        self.render_mode = getattr(env, "render_mode", None)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        result = _reset(self.env, seed, options)
        # Some late Gym versions already return (obs, info).
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
            return result[0], result[1]
        return result, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        result = self.env.step(action)
        if len(result) == 5:
            return result
        observation, reward, done, info = result
        terminated, truncated = _split_done(done, info)
        return observation, reward, terminated, truncated, info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


class PettingZooTruncatedWrapper(ParallelEnv):
    """A PettingZoo parallel env reporting ``dones`` (4 values per step) as one reporting
    terminations and truncations (5 values), with ``reset`` returning ``(observations, infos)``."""

    def __init__(self, env: Any):
        self.env = env
        self.possible_agents = env.possible_agents
        self.metadata = dict(getattr(env, "metadata", {}) or {})
        self.render_mode = getattr(env, "render_mode", None)

    @property
    def agents(self) -> list:
        return self.env.agents

    def observation_space(self, agent: Any) -> gymnasium.Space:
        return self.env.observation_space(agent)

    def action_space(self, agent: Any) -> gymnasium.Space:
        return self.env.action_space(agent)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        result = _reset(self.env, seed, options)
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
            return result[0], result[1]
        return result, {agent: {} for agent in result}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        result = self.env.step(actions)
        if len(result) == 5:
            return result
        observations, rewards, dones, infos = result
        split = {agent: _split_done(done, infos.get(agent, {})) for agent, done in dones.items()}
        terminations = {agent: flags[0] for agent, flags in split.items()}
        truncations = {agent: flags[1] for agent, flags in split.items()}
        return observations, rewards, terminations, truncations, infos

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
