"""Episode statistics wrappers: report each finished episode in the info of its last step.

``EpisodeStats`` wraps a Gymnasium env and ``MultiagentEpisodeStats`` a PettingZoo
parallel env. On the step that ends an episode (per agent for multi-agent envs) the
returned info is::

    {'episode_return': float, 'episode_length': int, **final_stats}

where ``final_stats`` are the numeric scalar values of the env's own info on that
final step (nested dicts flattened to ``'outer/inner'`` keys, bools and numpy scalars
turned into Python numbers; strings, arrays and other values dropped). These are what
the trainer averages over finished episodes, e.g. Ocean's ``score``. Values are taken
from the final step, never summed over the episode: an env that wants an episode total
reports it itself.

Every other step returns an empty info, so the vector backends' ``infos`` list holds
one dict per finished episode and nothing else. Per-step cost is one float add, one
integer increment and an empty dict.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import gymnasium
import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper


def _numeric_scalar(value: Any) -> float | int | None:
    """``value`` as a Python number if it is a numeric scalar (or a one-element array)."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, numbers.Integral):
        return int(value)  # also turns IntEnum codes (e.g. NLE's end_status) into plain numbers
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return _numeric_scalar(value.reshape(()).item())
    return None


def _flatten(info: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in info.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}/")
        else:
            yield name, value


def checked_step(env: Any, result: Any) -> Any:
    """``result`` of ``env.step`` if it is Gymnasium's 5-tuple; else an ``APIUsageError`` that says so
    (an env on the old Gym API returns 4 values, which would fail to unpack with no word of why)."""
    if type(result) is tuple and len(result) == 5:
        return result
    from pufferlib.emulation.inner import _check_step_result

    _check_step_result(env, result)
    return result


def final_stats(info: Mapping, episode_return: float, episode_length: int) -> dict[str, float | int]:
    """The info reported for a finished episode: the env's numeric scalars plus return and length."""
    stats: dict[str, float | int] = {}
    for key, value in _flatten(info):
        number = _numeric_scalar(value)
        if number is not None:
            stats[key] = number
    stats["episode_return"] = episode_return
    stats["episode_length"] = episode_length
    return stats


class EpisodeStats(gymnasium.Wrapper):
    """Report ``episode_return``, ``episode_length`` and the env's final numeric info keys.

    Non-final steps return an empty info; the final step (terminal or truncated)
    returns the dict built by :func:`final_stats`. ``reset`` returns the inner env's
    reset info unchanged.
    """

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.episode_return = 0.0
        self.episode_length = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        self.episode_return = 0.0
        self.episode_length = 0
        if options is None:
            return self.env.reset(seed=seed)
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        observation, reward, terminated, truncated, info = checked_step(self.env, self.env.step(action))
        self.episode_return += float(reward)
        self.episode_length += 1
        if terminated or truncated:
            info = final_stats(info, self.episode_return, self.episode_length)
        else:
            info = {}
        return observation, reward, terminated, truncated, info


class MultiagentEpisodeStats(BaseParallelWrapper):
    """Per-agent episode statistics for a PettingZoo parallel env.

    The step on which an agent terminates or is truncated puts that agent's
    ``episode_return``, ``episode_length`` and final numeric info keys in that agent's
    info; every other agent info is empty. Statistics restart at ``reset``.
    """

    def __init__(self, env: Any):
        super().__init__(env)
        self._returns: dict[Any, float] = {}
        self._lengths: dict[Any, int] = {}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if options is None:
            observations, infos = self.env.reset(seed=seed)
        else:
            observations, infos = self.env.reset(seed=seed, options=options)
        self._returns = dict.fromkeys(self.env.possible_agents, 0.0)
        self._lengths = dict.fromkeys(self.env.possible_agents, 0)
        return observations, infos

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        observations, rewards, terminals, truncations, infos = checked_step(self.env, self.env.step(actions))
        returns, lengths = self._returns, self._lengths
        stats_infos = {}
        for agent, reward in rewards.items():
            returns[agent] = returns.get(agent, 0.0) + float(reward)
            lengths[agent] = lengths.get(agent, 0) + 1
            if terminals.get(agent, False) or truncations.get(agent, False):
                stats_infos[agent] = final_stats(infos.get(agent, {}), returns[agent], lengths[agent])
        for agent in infos:
            if agent not in stats_infos:
                stats_infos[agent] = {}
        return observations, rewards, terminals, truncations, stats_infos
