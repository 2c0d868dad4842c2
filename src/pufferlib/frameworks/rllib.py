"""RLlib binding: pufferlib envs and policies in RLlib's PPO (RLlib's new API stack).

- ``register_env(name, env_creator)`` registers a pufferlib env creator with RLlib.
  Single-agent envs reach RLlib as Gymnasium envs with the flat puffer spaces;
  PettingZoo (multi-agent) envs as RLlib ``MultiAgentEnv``s that report exactly the
  agents the inner env reported, so padded puffer rows never become fake agents.
- ``policy_spec(policy_class, **policy_kwargs)`` is an ``RLModuleSpec`` whose module
  wraps a pufferlib-convention policy (``forward(obs) -> (logits, value)`` split into
  ``encode_observations``/``decode_actions``, as in ``pufferlib.models``). With
  ``rnn_class`` (e.g. ``pufferlib.models.LSTMWrapper``) the module is a stateful
  RLlib module: RLlib carries the LSTM state ``{"h", "c"}`` between steps and trains
  on zero-padded sequences of ``max_seq_len`` steps, each starting from the state the
  env runner recorded.

The module's ``policy`` attribute *is* the plain pufferlib policy, so weights move
both ways with ``state_dict``: ``policy_state_dict(algo)`` returns them in the plain
policy's key names, ready for ``Policy(env).load_state_dict(...)``.

Structured observations: the flat observation ``Box`` that ``register_env`` hands
RLlib is an ``EmulatedBox``, a ``Box`` that also carries the env's emulation layout
(``emulated``) and its flat puffer action space, so the module nativizes structured
observations exactly as ``models.Default`` does inside pufferlib. A module built on
a plain ``Box`` (an env not registered here) treats observations as a plain array.

Action distributions: ``Discrete`` logits go to RLlib's ``TorchCategorical``,
``MultiDiscrete`` logits (concatenated) to ``TorchMultiCategorical`` and ``Box``
``Normal``s to ``TorchDiagGaussian`` as ``[mean, log_std]`` over the flattened action
(multi-dimensional ``Box`` actions reach RLlib flattened and are reshaped for the
env). RLlib rescales ``Box`` actions from [-1, 1] to the space's bounds unless you set
``config.environment(normalize_actions=False)``; pufferlib policies act in the
env's units, so set it (and ``clip_actions=True``) to act as they do in pufferlib.

Native ``PufferEnv``s reset themselves: one with a single agent is presented as a
Gymnasium env whose episode-ending step returns the *next* episode's first
observation (RLlib bootstraps truncated episodes from it; terminal ones never use it).
Native envs with several agents reset each agent on its own, which RLlib's
multi-agent episodes (every agent ends with the episode) cannot express: they are
refused with ``APIUsageError`` (build them with one agent, or use ``pufferlib.vector``
and pufferlib's trainer).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np
import pettingzoo
import torch

from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv, make_buffer
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.namespace import namespace
from pufferlib.puffer_env import PufferEnv

try:
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.distribution.torch.torch_distribution import (
        TorchCategorical,
        TorchDiagGaussian,
        TorchMultiCategorical,
    )
    from ray.rllib.core.rl_module import RLModuleSpec
    from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
    from ray.rllib.core.rl_module.torch import TorchRLModule
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
    from ray.tune.registry import register_env as _ray_register_env
except ImportError as e:
    raise EnvironmentSetupError(e, "rllib") from e

__all__ = [
    "EmulatedBox",
    "GymnasiumEnv",
    "MultiAgentPufferEnv",
    "PufferRLModule",
    "make_env",
    "policy_spec",
    "policy_state_dict",
    "register_env",
]


# ---------------------------------------------------------------------------------------
# Environments


class EmulatedBox(gymnasium.spaces.Box):
    """The flat puffer observation ``Box``, carrying what a policy needs besides it.

    ``emulated`` is the env's emulation layout (``env.emulated``: native observation
    space and struct dtype) and ``puffer_action_space`` the env's flat puffer action
    space (which RLlib may see flattened). Both survive pickling, so every RLlib
    process that builds the module sees them. Equality is plain ``Box`` equality.
    """

    def __init__(self, box: gymnasium.spaces.Box, emulated: Any, puffer_action_space: gymnasium.Space):
        super().__init__(low=box.low, high=box.high, shape=box.shape, dtype=box.dtype)
        self.emulated = emulated
        self.puffer_action_space = puffer_action_space


def _rllib_action_space(space: gymnasium.Space) -> gymnasium.Space:
    # RLlib's Gaussian is diagonal over the last axis: hand it multi-dimensional Box
    # actions flattened (the wrappers reshape them back for the env).
    if isinstance(space, gymnasium.spaces.Box) and len(space.shape) > 1:
        return gymnasium.spaces.Box(space.low.reshape(-1), space.high.reshape(-1), dtype=space.dtype)
    return space


def _observation_space(env: Any) -> EmulatedBox:
    return EmulatedBox(env.single_observation_space, env.emulated, env.single_action_space)


class GymnasiumEnv(gymnasium.Env):
    """A single-agent puffer env (``GymnasiumPufferEnv`` or a one-agent native
    ``PufferEnv``) as a plain Gymnasium env for RLlib.

    Observations are copies of the flat puffer observations, so RLlib may keep them;
    actions arrive in RLlib's action space and are reshaped to the puffer one.
    """

    metadata = {"render_modes": []}

    def __init__(self, env: GymnasiumPufferEnv | PufferEnv):
        if isinstance(env, PufferEnv) and env.num_agents != 1:
            raise APIUsageError(
                f"{type(env).__name__} is a native PufferEnv with {env.num_agents} agents, each reset "
                "on its own; RLlib's episodes cannot express that. Build it with one agent "
                "(e.g. num_envs=1) for RLlib, or train it with pufferlib's trainer."
            )
        self.env = env
        self.native = isinstance(env, PufferEnv)
        self.observation_space = _observation_space(env)
        self.puffer_action_space = env.single_action_space
        self.action_space = _rllib_action_space(env.single_action_space)
        self.render_mode = getattr(env, "render_mode", None)

    def _action(self, action: Any) -> Any:
        space = self.puffer_action_space
        if isinstance(space, gymnasium.spaces.Box):
            return np.asarray(action, dtype=space.dtype).reshape(space.shape)
        if isinstance(space, gymnasium.spaces.Discrete):
            return int(action)
        return np.asarray(action)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        env = self.env
        if isinstance(env, PufferEnv):  # self.native
            obs, infos = env.reset(seed=seed)
            return np.array(obs[0]), _merge(infos)
        obs, info = env.reset(seed=seed, options=options)
        return np.array(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = self._action(action)
        env = self.env
        if isinstance(env, PufferEnv):  # self.native
            actions = np.asarray(action, dtype=env.actions.dtype).reshape(env.actions.shape)
            obs, rewards, terminals, truncations, infos = env.step(actions)
            return (np.array(obs[0]), float(rewards[0]), bool(terminals[0]), bool(truncations[0]),
                    _merge(infos))
        obs, reward, terminal, truncated, info = env.step(action)
        return np.array(obs), float(reward), bool(terminal), bool(truncated), info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _merge(infos: Any) -> dict:
    """A native env's list of info dicts as one dict (later keys win)."""
    if isinstance(infos, dict):
        return infos
    merged: dict = {}
    for info in infos or ():
        merged.update(info)
    return merged


class MultiAgentPufferEnv(MultiAgentEnv):
    """A ``PettingZooPufferEnv`` as an RLlib ``MultiAgentEnv``.

    Each step reports exactly the agents the inner PettingZoo env reported (the rows
    whose puffer mask is True), with their flat observations, rewards, terminations,
    truncations and infos. An agent reported done is never reported again; the
    episode ends (``"__all__"``) when the puffer env is done. ``"__all__"`` is a
    truncation only when every agent reported at the end was truncated. ``agents``
    lists the agents of the latest output, done ones included (RLlib's env checker
    requires every reported agent to be in it); act for those not reported done.
    """

    observation_spaces: dict[Any, gymnasium.Space]
    action_spaces: dict[Any, gymnasium.Space]

    def __init__(self, env: PettingZooPufferEnv):
        super().__init__()
        self.env = env
        self.possible_agents = list(env.possible_agents)
        self.agents = []
        obs_space = _observation_space(env)
        atn_space = _rllib_action_space(env.single_action_space)
        self.puffer_action_space = env.single_action_space
        self.observation_spaces = dict.fromkeys(self.possible_agents, obs_space)
        self.action_spaces = dict.fromkeys(self.possible_agents, atn_space)
        # Old-API-stack attributes some RLlib code paths still read.
        self.observation_space = gymnasium.spaces.Dict(self.observation_spaces)
        self.action_space = gymnasium.spaces.Dict(self.action_spaces)
        # Own the puffer buffers (as a vector backend does) to read its masks.
        self.buf = make_buffer(env.single_observation_space, env.num_agents)
        env.buf = self.buf
        self.render_mode = getattr(env, "render_mode", None)

    def _present(self) -> list:
        return [agent for agent, alive in zip(self.possible_agents, self.buf.masks) if alive]

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, infos = self.env.reset(seed=seed, options=options)
        present = self._present()
        self.agents = present
        return ({agent: np.array(obs[agent]) for agent in present},
                {agent: infos[agent] for agent in present if infos.get(agent)})

    # RLlib's MultiAgentEnv.step returns dicts by agent where its base gymnasium.Env returns scalars.
    def step(self, action_dict: dict) -> tuple[dict, dict, dict, dict, dict]:  # type: ignore[override]
        unknown = [agent for agent in action_dict if agent not in self.observation_spaces]
        if unknown:
            raise APIUsageError(f"Actions for unknown agents {unknown}; agents are {self.possible_agents}.")
        shape = self.puffer_action_space.shape
        actions = {agent: np.asarray(action).reshape(shape) for agent, action in action_dict.items()}
        obs, rewards, terminals, truncations, infos = self.env.step(actions)
        present = self._present()
        done = self.env.done
        out_obs = {agent: np.array(obs[agent]) for agent in present}
        out_rewards = {agent: float(rewards[agent]) for agent in present}
        out_terminals = {agent: bool(terminals[agent]) for agent in present}
        out_truncations = {agent: bool(truncations[agent]) and not out_terminals[agent] for agent in present}
        all_truncated = done and bool(present) and all(out_truncations.values())
        out_terminals["__all__"] = done and not all_truncated
        out_truncations["__all__"] = all_truncated
        self.agents = present
        return (out_obs, out_rewards, out_terminals, out_truncations,
                {agent: infos[agent] for agent in present if infos.get(agent)})

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def make_env(env_creator: Callable, env_args: Sequence = (), env_kwargs: dict | None = None,
             env_config: dict | None = None) -> GymnasiumEnv | MultiAgentPufferEnv:
    """Build ``env_creator(*env_args, **env_kwargs, **env_config)`` as an RLlib env.

    The creator may return a pufferlib env (``GymnasiumPufferEnv``,
    ``PettingZooPufferEnv``, a native ``PufferEnv`` with one agent) or a raw Gymnasium
    or PettingZoo parallel env, which is wrapped in the matching puffer env first.
    ``env_config`` is RLlib's ``config.environment(env_config=...)``: its keys override
    ``env_kwargs``.
    """
    kwargs = {**(env_kwargs or {}), **dict(env_config or {})}
    env = env_creator(*env_args, **kwargs)
    if isinstance(env, PettingZooPufferEnv):
        return MultiAgentPufferEnv(env)
    if isinstance(env, (GymnasiumPufferEnv, PufferEnv)):
        return GymnasiumEnv(env)
    if isinstance(env, (pettingzoo.ParallelEnv, pettingzoo.AECEnv)):
        return MultiAgentPufferEnv(PettingZooPufferEnv(env))
    if isinstance(env, gymnasium.Env):
        return GymnasiumEnv(GymnasiumPufferEnv(env))
    raise APIUsageError(
        f"The env creator returned {type(env).__name__}, which is neither a pufferlib env "
        "(GymnasiumPufferEnv, PettingZooPufferEnv, PufferEnv) nor a Gymnasium or PettingZoo env."
    )


def register_env(name: str, env_creator: Callable, env_args: Sequence = (),
                 env_kwargs: dict | None = None) -> str:
    """Register ``env_creator(*env_args, **env_kwargs)`` with RLlib under ``name``.

    Returns ``name``, for ``PPOConfig().environment(name)``. RLlib's ``env_config``
    is passed to the creator as extra keyword arguments (overriding ``env_kwargs``).
    Single-agent envs become Gymnasium envs and PettingZoo envs RLlib
    ``MultiAgentEnv``s (see ``make_env``). The creator must be picklable (a
    module-level function or a ``functools.partial`` of one) when RLlib runs env
    runners in other processes.
    """
    if not isinstance(name, str) or not name:
        raise APIUsageError(f"register_env: name must be a non-empty string, got {name!r}.")
    if not callable(env_creator):
        raise APIUsageError(
            f"register_env: env_creator must be callable (e.g. "
            f"pufferlib.environments.ocean.env_creator('squared')), got {env_creator!r}."
        )
    if isinstance(env_args, (str, bytes)) or not isinstance(env_args, Sequence):
        raise APIUsageError(f"register_env: env_args must be a sequence of arguments, got {env_args!r}.")
    if env_kwargs is not None and not isinstance(env_kwargs, dict):
        raise APIUsageError(f"register_env: env_kwargs must be a dict or None, got {env_kwargs!r}.")
    # RLlib calls creator(env_config): make_env's last argument.
    creator = functools.partial(make_env, env_creator, tuple(env_args), dict(env_kwargs or {}))
    _ray_register_env(name, creator)
    return name


# ---------------------------------------------------------------------------------------
# Policies


class PufferRLModule(TorchRLModule, ValueFunctionAPI):
    """An RLlib ``TorchRLModule`` around a pufferlib-convention policy.

    ``model_config`` holds ``policy_class``, ``policy_kwargs`` and optionally
    ``rnn_class``/``rnn_kwargs`` (see ``policy_spec``). ``self.policy`` is the plain
    pufferlib policy (the recurrent wrapper when ``rnn_class`` is set). Forward passes
    output ``action_dist_inputs`` (see the module docstring) and keep the value of
    the same pass for the loss, so a training step runs the policy once.
    """

    def setup(self) -> None:
        config = self.model_config
        if not isinstance(config, dict) or config.get("policy_class") is None:
            raise APIUsageError(
                "PufferRLModule needs model_config['policy_class']: build it with policy_spec().")
        policy_class = config["policy_class"]
        obs_space = self.observation_space
        assert obs_space is not None  # RLlib sets the spaces before setup()
        emulated = getattr(obs_space, "emulated", None)
        if emulated is None:
            # A plain Box (an env not registered here): plain array observations.
            emulated = namespace(observation_dtype=obs_space.dtype,
                                 emulated_observation_dtype=obs_space.dtype,
                                 observation_space=obs_space, action_space=self.action_space)
        puffer_action_space = getattr(obs_space, "puffer_action_space", None) or self.action_space
        env = namespace(single_observation_space=obs_space, single_action_space=puffer_action_space,
                        emulated=emulated, num_agents=1)
        policy = policy_class(env, **config.get("policy_kwargs", {}))
        rnn_class = config.get("rnn_class")
        self.is_recurrent = rnn_class is not None
        if rnn_class is not None:
            policy = rnn_class(env, policy, **config.get("rnn_kwargs", {}))
            for name in ("num_layers", "hidden_size"):
                if not isinstance(getattr(policy, name, None), int):
                    raise APIUsageError(
                        f"rnn_class {rnn_class.__name__} must have an int {name} (as LSTMWrapper does) "
                        "to size RLlib's recurrent state."
                    )
        self.policy = policy
        self._puffer_action_space = puffer_action_space
        self._dist_cls: type
        if isinstance(puffer_action_space, gymnasium.spaces.Discrete):
            self._dist_cls = TorchCategorical
        elif isinstance(puffer_action_space, gymnasium.spaces.MultiDiscrete):
            sizes = [int(n) for n in np.asarray(puffer_action_space.nvec).reshape(-1)]
            # RLlib annotates this classmethod's class argument and result as instances.
            self._dist_cls = TorchMultiCategorical.get_partial_dist_cls(  # type: ignore[misc, assignment]
                space=self.action_space, input_lens=sizes)
        elif isinstance(puffer_action_space, gymnasium.spaces.Box):
            self._dist_cls = TorchDiagGaussian
        else:
            raise APIUsageError(
                f"PufferRLModule acts in Discrete, MultiDiscrete or Box spaces, got {puffer_action_space}. "
                "Register the env with pufferlib.frameworks.rllib.register_env to flatten it."
            )

    # RLlib's distribution classes for the policy's logits -----------------------------

    def get_inference_action_dist_cls(self) -> type:
        return self._dist_cls

    def get_exploration_action_dist_cls(self) -> type:
        return self._dist_cls

    def get_train_action_dist_cls(self) -> type:
        return self._dist_cls

    # State ---------------------------------------------------------------------------

    def get_initial_state(self) -> dict:
        if not self.is_recurrent:
            return {}
        shape = (self.policy.num_layers, self.policy.hidden_size)
        return {"h": np.zeros(shape, dtype=np.float32), "c": np.zeros(shape, dtype=np.float32)}

    # Forward passes ------------------------------------------------------------------

    def _run(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, dict | None]:
        """``(action_dist_inputs, values, state_out)`` shaped ``(B, ...)``, or ``(B, T, ...)``
        for a recurrent policy (whose RLlib batches always have a time axis)."""
        obs = batch[Columns.OBS]
        state_out = None
        if self.is_recurrent:
            lead = tuple(obs.shape[:2])
            state_in = batch[Columns.STATE_IN]
            # RLlib batches state as (B, num_layers, hidden); nn.LSTM wants (num_layers, B, hidden).
            state = (state_in["h"].transpose(0, 1).contiguous(), state_in["c"].transpose(0, 1).contiguous())
            logits, value, (h, c) = self.policy(obs, state)
            state_out = {"h": h.transpose(0, 1), "c": c.transpose(0, 1)}
        else:
            lead = tuple(obs.shape[:1])
            logits, value = self.policy(obs)
        return _dist_inputs(logits, lead), value.reshape(lead), state_out

    def _forward(self, batch: dict, **kwargs: Any) -> dict:
        dist_inputs, _, state_out = self._run(batch)
        out: dict[str, Any] = {Columns.ACTION_DIST_INPUTS: dist_inputs}
        if state_out is not None:
            out[Columns.STATE_OUT] = state_out
        return out

    def _forward_train(self, batch: dict, **kwargs: Any) -> dict:
        dist_inputs, values, state_out = self._run(batch)
        # The loss passes EMBEDDINGS back to compute_values: here they are the values.
        out: dict[str, Any] = {Columns.ACTION_DIST_INPUTS: dist_inputs, Columns.EMBEDDINGS: values}
        if state_out is not None:
            out[Columns.STATE_OUT] = state_out
        return out

    def compute_values(self, batch: dict, embeddings: Any = None) -> torch.Tensor:
        """Value estimates ``(B,)`` (``(B, T)`` for recurrent policies)."""
        if embeddings is not None:
            return embeddings
        return self._run(batch)[1]


def _dist_inputs(logits: Any, lead: tuple) -> torch.Tensor:
    """A pufferlib policy's logits as one RLlib ``action_dist_inputs`` tensor."""
    if isinstance(logits, torch.distributions.Normal):
        count = math.prod(lead)
        mean = logits.loc.reshape(count, -1)
        log_std = logits.scale.log().reshape(count, -1)
        return torch.cat([mean, log_std], dim=-1).reshape(*lead, -1)
    if isinstance(logits, (list, tuple)):
        logits = torch.cat(list(logits), dim=-1)
    return logits.reshape(*lead, -1)


def policy_spec(policy_class: type, *, rnn_class: type | None = None, rnn_kwargs: dict | None = None,
                **policy_kwargs: Any) -> RLModuleSpec:
    """An ``RLModuleSpec`` for RLlib whose module wraps ``policy_class(env, **policy_kwargs)``.

    ``policy_class`` follows the ``pufferlib.models`` convention (``forward(obs) ->
    (logits, value)``; Discrete, MultiDiscrete or Box actions). With ``rnn_class``
    (``pufferlib.models.LSTMWrapper`` or a subclass, built as ``rnn_class(env, policy,
    **rnn_kwargs)``) the module is stateful; set ``config.rl_module(model_config=...)``
    's ``max_seq_len`` for the training sequence length. Use it as
    ``PPOConfig().rl_module(rl_module_spec=policy_spec(Policy))``, or per module in a
    ``MultiRLModuleSpec``.
    """
    if not (isinstance(policy_class, type) and issubclass(policy_class, torch.nn.Module)):
        raise APIUsageError(
            f"policy_spec: policy_class must be a torch.nn.Module class following pufferlib's "
            f"policy convention (e.g. pufferlib.models.Default), got {policy_class!r}."
        )
    if rnn_class is not None and not (isinstance(rnn_class, type) and issubclass(rnn_class, torch.nn.Module)):
        raise APIUsageError(
            f"policy_spec: rnn_class must be a torch.nn.Module class such as "
            f"pufferlib.models.LSTMWrapper, got {rnn_class!r}."
        )
    if rnn_kwargs is not None and rnn_class is None:
        raise APIUsageError("policy_spec: rnn_kwargs given without rnn_class.")
    model_config: dict[str, Any] = {"policy_class": policy_class, "policy_kwargs": dict(policy_kwargs)}
    if rnn_class is not None:
        model_config.update(rnn_class=rnn_class, rnn_kwargs=dict(rnn_kwargs or {}))
    return RLModuleSpec(module_class=PufferRLModule, model_config=model_config)


def policy_state_dict(algorithm: Any, module_id: str | None = None) -> dict[str, torch.Tensor]:
    """The trained weights of an RLlib ``Algorithm``'s ``PufferRLModule``, keyed like the
    plain pufferlib policy: load them with ``policy.load_state_dict(...)``.

    ``module_id`` picks the module of a multi-agent setup (default: RLlib's default
    module). The weights come from the learner, the copy RLlib trains.
    """
    from ray.rllib.core import DEFAULT_MODULE_ID

    module_id = module_id or DEFAULT_MODULE_ID
    state = algorithm.learner_group.get_state(components=f"learner/rl_module/{module_id}")
    weights = state["learner"]["rl_module"][module_id]
    prefix = "policy."
    if not any(key.startswith(prefix) for key in weights):
        raise APIUsageError(
            f"Module {module_id!r} is not a PufferRLModule (no '{prefix}*' weights): "
            "build it with policy_spec()."
        )
    return {key[len(prefix):]: torch.as_tensor(np.asarray(value)) for key, value in weights.items()
            if key.startswith(prefix)}
