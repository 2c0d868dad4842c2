"""``PettingZooPufferEnv``: every agent of a PettingZoo parallel env flat, one row each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np
from pettingzoo.utils.env import AECEnv, ParallelEnv

from pufferlib import spaces
from pufferlib.emulation.actions import ActionEmulator
from pufferlib.emulation.inner import (
    _accepts_seed,
    _check_native_observation,
    _check_step_result,
    _make_env,
    _reset_inner,
)
from pufferlib.emulation.layout import (
    ObservationWriter,
    _shape_error,
    _shape_of,
    emulate_observation_space,
    make_buffer,
)
from pufferlib.exceptions import APIUsageError, InvalidAgentError
from pufferlib.namespace import Namespace, namespace


class PettingZooPufferEnv(ParallelEnv):
    """A PettingZoo parallel env whose agents all see flat observations and act flat.

    Outputs always hold one entry per possible agent: an agent absent from the inner
    env's output has an all-zero observation, reward 0, terminal True, truncation
    False and mask False. ``actions`` is a dict by agent or an array in
    ``possible_agents`` order; actions for agents that are not alive are dropped.
    Once a vector backend has injected ``buf``, returned observations alias those
    buffers, which the next call overwrites; standalone, each call returns fresh arrays.
    """

    def __init__(self, env: Any = None, env_creator: Callable | None = None,
                 env_args: Sequence = (), env_kwargs: dict | None = None,
                 to_puffer: bool = False, *, check: bool = False):
        env = _make_env(env, env_creator, env_args, env_kwargs or {})
        if not hasattr(env, "possible_agents"):
            raise APIUsageError(f"{type(env).__name__} is not a PettingZoo env (no possible_agents).")
        if _is_aec(env):
            from pettingzoo.utils.conversions import aec_to_parallel

            env = aec_to_parallel(env)
        self.env = env
        self.to_puffer = to_puffer
        self.check = check
        self._possible_agents = list(env.possible_agents)
        if not self._possible_agents:
            raise APIUsageError(f"{type(env).__name__} has no possible_agents.")
        self._num_agents = len(self._possible_agents)
        self._agent_index = {agent: i for i, agent in enumerate(self._possible_agents)}
        native_obs_space = self._shared_space(env.observation_space, "observation")
        native_atn_space = self._shared_space(env.action_space, "action")
        self.single_observation_space, self.obs_dtype = emulate_observation_space(native_obs_space)
        self._actions = ActionEmulator(native_atn_space)
        self.single_action_space = self._actions.flat_space
        self.atn_dtype = self._actions.struct_dtype
        self.is_obs_emulated = not isinstance(native_obs_space, spaces.Box)
        self.is_atn_emulated = self._actions.is_emulated
        self.emulated = namespace(
            observation_dtype=self.single_observation_space.dtype,
            emulated_observation_dtype=self.obs_dtype,
            observation_space=native_obs_space,
            action_space=native_atn_space,
        )
        self.observation_spaces = dict.fromkeys(self._possible_agents, self.single_observation_space)
        self.action_spaces = dict.fromkeys(self._possible_agents, self.single_action_space)
        self.buf: Namespace | None = None
        self._bound: Namespace | None = None
        self._writers: list[ObservationWriter] | None = None
        self._accepts_seed = _accepts_seed(env.reset)
        self._done = False
        self._reset_called = False
        self._reset_observations_checked = False
        self._step_observations_checked = False
        self._actions_checked = False
        self._steps_checked = False

    def _shared_space(self, space_fn: Callable, kind: str) -> gymnasium.Space:
        spaces_by_agent = {agent: space_fn(agent) for agent in self._possible_agents}
        first = spaces_by_agent[self._possible_agents[0]]
        different = [agent for agent, space in spaces_by_agent.items() if space != first]
        if different:
            raise APIUsageError(
                f"Agents {different} have a different {kind} space from "
                f"{self._possible_agents[0]!r} ({first}). PettingZooPufferEnv needs one shared "
                f"{kind} space: pad the spaces to a common one (e.g. supersuit's pad_{kind}s)."
            )
        return first

    @property
    def render_mode(self) -> str | None:
        return getattr(self.env, "render_mode", None)

    @property
    def metadata(self) -> dict:
        return getattr(self.env, "metadata", {"render_modes": []})

    def __setstate__(self, state: dict) -> None:
        # Pickling copies the buffers, so the writers' views no longer alias them: rebind.
        self.__dict__.update(state)
        if self._bound is not None:
            self._bound = None
            self._bind_buffers()

    @property
    def agents(self) -> list:
        return list(self.env.agents)

    @property
    def possible_agents(self) -> list:
        return self._possible_agents

    @property
    def num_agents(self) -> int:
        return self._num_agents

    @property
    def done(self) -> bool:
        return self._done

    def observation_space(self, agent: Any) -> gymnasium.spaces.Box:
        if agent not in self._agent_index:
            raise InvalidAgentError(agent, self._possible_agents)
        return self.single_observation_space

    def action_space(self, agent: Any) -> gymnasium.Space:
        if agent not in self._agent_index:
            raise InvalidAgentError(agent, self._possible_agents)
        return self.single_action_space

    def _bind_buffers(self) -> None:
        if self._bound is not None and self._bound is self.buf:
            return
        self._bound = self.buf if self.buf is not None else make_buffer(
            self.single_observation_space, self._num_agents)
        self._obs_rows = list(self._bound.observations)
        if self.is_obs_emulated:
            self._writers = [ObservationWriter(self.emulated.observation_space, self.obs_dtype, row)
                             for row in self._obs_rows]

    def _write(self, native_obs: dict, rewards: dict, terminals: dict, truncations: dict,
               check: bool) -> None:
        """Write one row per possible agent: real data if present, else zeros and mask False.
        With ``check``, every observation is first validated against the native space."""
        index, agents = self._agent_index, self._possible_agents
        if check:
            for agent, obs in native_obs.items():
                if agent not in index:
                    raise InvalidAgentError(agent, agents)
                _check_native_observation(self.emulated.observation_space, obs, f" of agent {agent!r}")
        writers, rows = self._writers, self._obs_rows
        try:
            for agent, obs in native_obs.items():
                if writers is not None:
                    writers[index[agent]].write(obs)
                else:
                    row = rows[index[agent]]
                    if (obs.shape if type(obs) is np.ndarray else _shape_of(obs)) != row.shape:
                        raise _shape_error(obs, row.shape, self.emulated.observation_space,
                                           f" of agent {agent!r}")
                    row[...] = obs
        except KeyError:
            raise InvalidAgentError(next(a for a in native_obs if a not in index), agents) from None
        except (TypeError, ValueError) as e:
            raise APIUsageError(
                f"Observations {native_obs!r} do not fit the observation space "
                f"{self.emulated.observation_space}: {e}") from e
        # Per-agent values go in as one list per array: one numpy call instead of one per agent.
        bound = self._bound
        assert bound is not None  # reset and step bind the buffers first
        if len(native_obs) == self._num_agents:
            bound.masks[...] = True
            bound.rewards[...] = [rewards.get(agent, 0.0) for agent in agents]
            bound.terminals[...] = [terminals.get(agent, False) for agent in agents]
            bound.truncations[...] = [truncations.get(agent, False) for agent in agents]
            return
        present = [agent in native_obs for agent in agents]
        for row, alive in zip(rows, present):
            if not alive:
                row[...] = 0
        bound.masks[...] = present
        pairs = list(zip(agents, present))
        bound.rewards[...] = [rewards.get(agent, 0.0) if alive else 0.0 for agent, alive in pairs]
        bound.terminals[...] = [terminals.get(agent, False) if alive else True for agent, alive in pairs]
        bound.truncations[...] = [truncations.get(agent, False) and alive for agent, alive in pairs]

    def _outputs(self) -> dict:
        if self.buf is not None:
            rows = self._obs_rows
        else:
            assert self._bound is not None  # reset binds the buffers first
            rows = self._bound.observations.copy()
        return dict(zip(self._possible_agents, rows))

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self._bind_buffers()
        native_obs, native_infos = _reset_inner(self.env, seed, options, self._accepts_seed)
        self._write(native_obs, {}, {}, {}, self.check or not self._reset_observations_checked)
        self._reset_observations_checked = True
        self._done = len(native_obs) == 0
        self._reset_called = True
        infos = {agent: native_infos.get(agent, {}) for agent in self._possible_agents}
        return self._outputs(), infos

    def _native_actions(self, actions: Any) -> dict:
        alive = self.env.agents
        index = self._agent_index
        check = self.check or not self._actions_checked
        if isinstance(actions, dict):
            for agent in actions:
                if agent not in index:
                    raise InvalidAgentError(agent, self._possible_agents)
            rows = {agent: actions[agent] for agent in alive if agent in actions}
            if check:
                for row in rows.values():
                    self._actions.check(row)
                self._actions_checked = True
            nativize = self._actions.nativize
            return {agent: nativize(row) for agent, row in rows.items()}
        array = np.asarray(actions)
        if array.ndim == 0 or len(array) != self._num_agents:
            raise APIUsageError(
                f"Got an action array of shape {array.shape}, expected {self._num_agents} rows "
                "(one per possible agent, in possible_agents order) or a dict by agent."
            )
        if check:
            for agent in alive:
                self._actions.check(array[index[agent]])
            self._actions_checked = True
        native = self._actions.nativize_rows(array)
        return {agent: native[index[agent]] for agent in alive}

    def step(self, actions: Any) -> tuple[dict, dict, dict, dict, dict]:
        if not self._reset_called:
            raise APIUsageError("step() called before reset()")
        if self._done:
            raise APIUsageError("step() called after environment is done")
        result = self.env.step(self._native_actions(actions))
        if self.check or not self._steps_checked:
            _check_step_result(self.env, result)
            self._steps_checked = True
        native_obs, rewards, terminals, truncations, native_infos = result
        # As GymnasiumPufferEnv: step observations are checked on the first step, and on
        # every step with check=True (reset observations separately, on the first reset).
        self._write(native_obs, rewards, terminals, truncations,
                    self.check or not self._step_observations_checked)
        self._step_observations_checked = True
        self._done = not self.env.agents or all(
            terminals.get(agent) or truncations.get(agent) for agent in native_obs)
        bound, agents = self._bound, self._possible_agents
        assert bound is not None  # bound by reset
        # The inner env's own reward values, not their float32 copies in the buffer.
        return (
            self._outputs(),
            {agent: rewards.get(agent, 0.0) if agent in native_obs else 0.0 for agent in agents},
            dict(zip(agents, bound.terminals.tolist())),
            dict(zip(agents, bound.truncations.tolist())),
            {agent: native_infos.get(agent, {}) for agent in agents},
        )

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def state(self) -> np.ndarray:
        return self.env.state()


def _is_aec(env: Any) -> bool:
    return isinstance(env, AECEnv)
