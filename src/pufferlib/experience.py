"""The rollout buffer: per-agent trajectories of one update, filled batch by batch.

Experience is stored per agent: row ``a`` of every buffer is agent ``a``'s own trajectory
(``env_ids`` are global agent indices), ``horizon + 1`` steps long. The extra last step is the
bootstrap: its value ends the GAE recursion, and it becomes step 0 of the next rollout, so no
transition is lost between updates. Transitions are linked only within a row, so advantages
never leak across agents.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pufferlib import spaces
from pufferlib.exceptions import APIUsageError
from pufferlib.memory import require


class Experience:
    """Per-agent rollout buffers: ``(num_agents, horizon + 1)`` steps, filled by ``store``.

    Each agent has its own write pointer, so batches may arrive in any agent order. The
    rollout is ``full`` when every agent has ``horizon + 1`` steps; ``carry_over`` then
    moves the last step to the front for the next rollout. Observations live in a torch
    tensor on ``storage_device``; everything else in numpy arrays (GAE runs there).
    """

    def __init__(self, num_agents: int, horizon: int, bptt_horizon: int, observation_space: Any,
                 action_space: Any, storage_device: torch.device,
                 lstm_shape: tuple[int, int] | None = None, lstm_device: torch.device | None = None):
        if horizon % bptt_horizon:
            raise APIUsageError(
                f"Steps per agent per update ({horizon}) must be a multiple of train.bptt_horizon "
                f"({bptt_horizon}): set train.batch_size to a multiple of num_agents * bptt_horizon "
                f"({num_agents * bptt_horizon})."
            )
        n, width = num_agents, horizon + 1
        self.num_agents, self.horizon, self.bptt_horizon = num_agents, horizon, bptt_horizon
        obs_dtype = torch.from_numpy(np.zeros(0, dtype=observation_space.dtype)).dtype
        pin = storage_device.type == "cpu" and torch.cuda.is_available()
        per_step = np.dtype(observation_space.dtype).itemsize * int(np.prod(observation_space.shape)) + 32
        require(n * width * per_step, f"The rollout buffer ({n:,} agents x {width:,} steps)",
                "lower train.batch_size")
        self.observations = torch.zeros((n, width, *observation_space.shape), dtype=obs_dtype,
                                        device=storage_device, pin_memory=pin)
        self.observations_np = self.observations.numpy() if storage_device.type == "cpu" else None
        atn_dtype: type[np.generic]
        if isinstance(action_space, spaces.Box):
            atn_shape, atn_dtype = action_space.shape, np.float32
        elif isinstance(action_space, spaces.MultiDiscrete):
            atn_shape, atn_dtype = action_space.shape, np.int64
        elif isinstance(action_space, spaces.Discrete):
            atn_shape, atn_dtype = (), np.int64
        else:
            raise APIUsageError(
                f"The trainer supports Discrete, MultiDiscrete and Box actions, got {action_space}."
            )
        self.actions = np.zeros((n, width, *atn_shape), dtype=atn_dtype)
        self.logprobs = np.zeros((n, width), dtype=np.float32)
        self.values = np.zeros((n, width), dtype=np.float32)
        self.rewards = np.zeros((n, width), dtype=np.float32)
        self.terminals = np.zeros((n, width), dtype=bool)
        self.truncations = np.zeros((n, width), dtype=bool)
        self.masks = np.zeros((n, width), dtype=bool)
        self.learnable = np.zeros((n, width), dtype=bool)
        self.episode_starts = np.zeros((n, width), dtype=bool)
        self.pointers = np.zeros(n, dtype=np.int64)
        # LSTM state at the start of every BPTT segment (slot horizon // bptt is the bootstrap step's).
        self.lstm_states = None
        if lstm_shape is not None:
            layers, hidden = lstm_shape
            slots = horizon // bptt_horizon + 1
            self.lstm_states = torch.zeros((2, layers, n, slots, hidden), device=lstm_device)

    @property
    def full(self) -> bool:
        return bool(self.pointers.min() > self.horizon)

    def positions(self, env_ids: np.ndarray) -> np.ndarray:
        """Each agent's next step index; raises if an agent got more steps than the rest."""
        steps = self.pointers[env_ids]
        if steps.max() > self.horizon:
            raise RuntimeError(
                "The vecenv returned an agent more often than the others within one rollout; the "
                "trainer needs every agent stepped once per cycle (spec 3.3)."
            )
        return steps

    def store(self, env_ids: np.ndarray, steps: np.ndarray, observations: np.ndarray | torch.Tensor,
              rewards: np.ndarray, terminals: np.ndarray, truncations: np.ndarray, masks: np.ndarray,
              learnable: np.ndarray, episode_starts: np.ndarray, actions: np.ndarray,
              logprobs: np.ndarray, values: np.ndarray) -> None:
        at = _slice_index(env_ids, steps) or (env_ids, steps)
        if self.observations_np is not None:
            self.observations_np[at] = observations
        elif isinstance(at[0], slice):
            self.observations[at] = torch.as_tensor(observations)
        else:  # a device tensor takes index tensors on its device
            index = torch.from_numpy(env_ids).to(self.observations.device)
            self.observations[index, torch.from_numpy(steps).to(self.observations.device)] = \
                torch.as_tensor(observations)
        self.rewards[at] = rewards
        self.terminals[at] = terminals
        self.truncations[at] = truncations
        self.masks[at] = masks
        self.learnable[at] = learnable
        self.episode_starts[at] = episode_starts
        self.actions[at] = actions
        self.logprobs[at] = logprobs
        self.values[at] = values
        self.pointers[at[0]] = steps + 1

    def store_lstm_state(self, env_ids: np.ndarray, steps: np.ndarray, h: torch.Tensor,
                         c: torch.Tensor) -> None:
        """Record the state with which the agents' step ``steps`` is processed, at segment starts."""
        at_start = steps % self.bptt_horizon == 0
        if not at_start.any():
            return
        states = self.lstm_states
        assert states is not None, "a recurrent rollout buffer records LSTM states"
        started = np.flatnonzero(at_start)
        device = states.device
        agents = torch.from_numpy(env_ids[started]).to(device)
        slots = torch.from_numpy(steps[started] // self.bptt_horizon).to(device)
        rows = torch.from_numpy(started).to(device)
        states[0][:, agents, slots] = h[:, rows]
        states[1][:, agents, slots] = c[:, rows]

    def carry_over(self) -> None:
        """Start the next rollout from this one's bootstrap step."""
        self.carry_from(self)

    def carry_from(self, previous: Experience) -> None:
        """Start the next rollout in this buffer from ``previous``' bootstrap step (a buffer of the
        same layout: the trainer's second buffer when rollouts and learning overlap)."""
        last = previous.horizon
        for name in ("observations", "actions", "logprobs", "values", "rewards", "terminals", "truncations",
                     "masks", "learnable", "episode_starts"):
            getattr(self, name)[:, 0] = getattr(previous, name)[:, last]
        if self.lstm_states is not None and previous.lstm_states is not None:
            self.lstm_states[:, :, :, 0] = previous.lstm_states[:, :, :, last // self.bptt_horizon]
        self.pointers[:] = 1


def _slice_index(env_ids: np.ndarray, steps: np.ndarray) -> tuple[slice, int] | None:
    """``(agents lo:hi, step)`` when the batch is a run of consecutive agents all at one step.

    That is the usual batch (a whole env or worker group, stepped in lockstep), and slice
    writes skip numpy's fancy indexing, which dominates ``store`` for large batches.
    """
    first, count = int(env_ids[0]), len(env_ids)
    if int(env_ids[-1]) - first != count - 1 or steps[0] != steps[-1]:
        return None
    if count > 2 and not ((np.diff(env_ids) == 1).all() and (steps == steps[0]).all()):
        return None
    return slice(first, first + count), int(steps[0])
