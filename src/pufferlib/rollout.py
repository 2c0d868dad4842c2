"""The one rollout loop: a policy acting in a vecenv, agent by agent.

``RolloutRunner.run`` drives the vecenv's ``recv``/``send`` pool and is shared by the
trainer's data collection (``Trainer.evaluate``) and by evaluation (``play``, behind
``puffer eval``). It owns everything both need to agree on:

- which policies are recurrent (``is_recurrent``: an ``nn.LSTM`` at ``policy.lstm``);
- one LSTM state per agent, zeroed at each agent's episode start;
- the episode-start convention: a native ``PufferEnv`` resets inside ``step`` (the
  flagged observation already starts the next episode), a wrapped Gymnasium/PettingZoo
  env returns the final observation first and the reset one on the next step;
- clipping ``Box`` actions to the space's bounds before they reach the env (the
  unclipped sample is what the trainer learns from).

Callers see each batch through two hooks: ``observe(batch)`` before the forward pass
(the trainer records the LSTM state there) and ``act(batch, action, logprob, value)``
after it (all three numpy arrays).

On a GPU the batch goes up through a pinned staging buffer with a non-blocking copy, and the
action, log-probability and value come down the same way, with one synchronisation for the
three (``HostTransfer``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from pufferlib import spaces
from pufferlib.distributions import greedy_action, sample_logits
from pufferlib.exceptions import APIUsageError
from pufferlib.puffer_env import PufferEnv


def is_recurrent(policy: nn.Module) -> bool:
    """True for policies called as ``policy(obs, state) -> (logits, value, state)``."""
    return isinstance(getattr(policy, "lstm", None), nn.LSTM)


def lstm_of(policy: nn.Module) -> nn.LSTM:
    """A recurrent policy's ``nn.LSTM`` (``is_recurrent``)."""
    lstm = getattr(policy, "lstm", None)
    assert isinstance(lstm, nn.LSTM)
    return lstm


@dataclass
class Batch:
    """One ``recv`` result plus what the runner derived from it."""

    observations: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray
    infos: list[dict]
    env_ids: np.ndarray
    masks: np.ndarray
    episode_starts: np.ndarray
    """Agents whose observation is the first of an episode (their LSTM state was zeroed)."""
    learnable: np.ndarray
    """Agents whose action in this step will be a real transition (not an ignored final one)."""
    observations_device: torch.Tensor
    state: tuple[torch.Tensor, torch.Tensor] | None
    """LSTM ``(h, c)`` the forward pass starts from, ``(layers, len(env_ids), hidden)``."""


class RolloutRunner:
    """Runs ``policy`` over ``vecenv``; ``forward`` (default: the policy) may be a compiled copy."""

    def __init__(self, vecenv: Any, policy: nn.Module, device: torch.device | str = "cpu",
                 forward: Callable | None = None, deterministic: bool = False):
        self.vecenv = vecenv
        self.deterministic = deterministic
        self.policy = policy
        self.forward = forward if forward is not None else policy
        self.device = torch.device(device)
        self.recurrent = is_recurrent(policy)
        self.reset_in_step = isinstance(vecenv.driver_env, PufferEnv)
        self.action_space = vecenv.single_action_space
        if isinstance(self.action_space, spaces.Box):
            self.action_low = self.action_space.low.astype(np.float32)
            self.action_high = self.action_space.high.astype(np.float32)
        num_agents = vecenv.num_agents
        if self.recurrent:
            lstm = lstm_of(policy)
            self.lstm_h = torch.zeros((lstm.num_layers, num_agents, lstm.hidden_size), device=self.device)
            self.lstm_c = torch.zeros_like(self.lstm_h)
        self.previous_done = np.ones(num_agents, dtype=bool)
        self.timings = {"env": 0.0, "forward": 0.0}
        self.transfer = HostTransfer(self.device)

    def env_action(self, action: np.ndarray) -> np.ndarray:
        """``action`` as the env should receive it (``Box`` actions clipped to the bounds)."""
        if isinstance(self.action_space, spaces.Box):
            return np.clip(action, self.action_low, self.action_high)
        return action

    @torch.inference_mode()
    def run(self, until: Callable[[], bool], observe: Callable[[Batch], Any] | None = None,
            act: Callable[[Batch, np.ndarray, np.ndarray, np.ndarray], Any] | None = None) -> None:
        """``recv`` a batch, act on it and ``send`` the actions, until ``until()`` is true after a batch.

        The vecenv must have a reset in flight (``async_reset``) or actions sent; on return
        the last batch's actions have been sent, so the next ``run`` continues seamlessly.
        """
        vecenv, device = self.vecenv, self.device
        env_time = forward_time = 0.0
        clock = time.perf_counter()
        while True:
            obs, rewards, terminals, truncations, infos, env_ids, masks = vecenv.recv()
            now = time.perf_counter()
            env_time += now - clock
            clock = now

            env_ids = np.asarray(env_ids)
            done = terminals | truncations
            if self.reset_in_step:
                episode_starts, learnable = done, masks
            else:
                episode_starts, learnable = self.previous_done[env_ids], masks & ~done
                self.previous_done[env_ids] = done
            obs_device = self.transfer.to_device(obs)
            state = None
            if self.recurrent:
                agents = torch.from_numpy(env_ids).to(device)
                h, c = self.lstm_h[:, agents], self.lstm_c[:, agents]
                if episode_starts.any():
                    keep = torch.from_numpy(~episode_starts).to(device).view(1, -1, 1)
                    h, c = h * keep, c * keep
                state = (h, c)
            batch = Batch(obs, rewards, terminals, truncations, infos, env_ids, masks, episode_starts,
                          learnable, obs_device, state)
            if observe is not None:
                observe(batch)
            if self.recurrent:
                logits, value, (h, c) = self.forward(obs_device, state)
                self.lstm_h[:, agents], self.lstm_c[:, agents] = h, c
            else:
                logits, value = self.forward(obs_device)
            if self.deterministic:
                sampled, logprob, _ = sample_logits(logits, greedy_action(logits))
            else:
                sampled, logprob, _ = sample_logits(logits)
            action, host_logprob, host_value = self.transfer.to_host(sampled, logprob, value.view(-1))
            if act is not None:
                act(batch, action, host_logprob, host_value)

            now = time.perf_counter()
            forward_time += now - clock
            clock = now
            vecenv.send(self.env_action(action))
            now = time.perf_counter()
            env_time += now - clock
            clock = now
            if until():
                break
        self.timings["env"] += env_time
        self.timings["forward"] += forward_time


class HostTransfer:
    """Copies between numpy arrays and ``device`` for the rollout loop.

    On CPU these are views (no copy). On CUDA, observations go up from a pinned staging buffer
    (a pageable source makes the copy synchronous and slower), and results come down into pinned
    buffers with non-blocking copies and a single stream synchronisation for all of them. Buffers
    are kept per shape and dtype and reused: a buffer is rewritten only after the copy that read
    or filled it has completed (the synchronisation in ``to_host``, or the forward pass that
    consumed the observations before the next batch is staged).
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.device = device
        self._buffers: dict[tuple, torch.Tensor] = {}

    def _pinned(self, key: str, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
        buffer = self._buffers.get((key, shape, dtype))
        if buffer is None:
            buffer = self._buffers[(key, shape, dtype)] = torch.empty(shape, dtype=dtype, pin_memory=True)
        return buffer

    def to_device(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(array)
        if not self.cuda:
            return tensor.to(self.device)
        staging = self._pinned("up", tuple(tensor.shape), tensor.dtype)
        staging.copy_(tensor)
        return staging.to(self.device, non_blocking=True)

    def to_host(self, *tensors: torch.Tensor) -> list[np.ndarray]:
        if not self.cuda:
            return [t.cpu().numpy() for t in tensors]
        hosts = []
        for i, tensor in enumerate(tensors):
            host = self._pinned(f"down{i}", tuple(tensor.shape), tensor.dtype)
            host.copy_(tensor, non_blocking=True)
            hosts.append(host)
        torch.cuda.current_stream(self.device).synchronize()
        # Copies: the pinned buffers are reused by the next batch while callers keep these.
        return [host.numpy().copy() for host in hosts]


def episode_infos(infos: list[dict]) -> list[dict]:
    """One dict per finished episode among ``infos`` (those with ``episode_return`` or ``score``).

    A native env's summary of ``n`` episodes (their means, count under ``"n"``) stands for ``n``
    episodes with those values.
    """
    finished = []
    for info in infos:
        if "episode_return" in info or "score" in info:
            count = int(info.get("n", 1))
            finished.extend([{k: v for k, v in info.items() if k != "n"}] * count)
    return finished


def episode_quotas(episodes: int, rows: int) -> np.ndarray:
    """How many episodes each of ``rows`` agents contributes so that they sum to ``episodes``.

    Every agent plays its episodes in order and only its first ``quota`` count: taking the first
    ``episodes`` to finish anywhere would favour short episodes (they finish first).
    """
    return (episodes + np.arange(rows)) // rows


def _finished_rows(batch: Batch, episodes: list[dict]) -> list[int]:
    """The agent row of each finished episode's info: its ``agent`` (a native env reporting each
    episode), else the batch's done rows in order (a wrapped env reports on the final step)."""
    if all("agent" in info for info in episodes):
        return [int(info["agent"]) for info in episodes]
    done = batch.env_ids[(batch.terminals | batch.truncations) & batch.masks].tolist()
    return done if len(done) == len(episodes) else [int(batch.env_ids[0])] * len(episodes)


def play(vecenv: Any, policy: nn.Module, episodes: int, max_steps: int = 100_000, seed: int | None = 1,
         on_step: Callable[[], Any] | None = None, deterministic: bool = False,
         on_episode: Callable[[dict[str, float]], Any] | None = None) -> list[dict[str, float]]:
    """Run ``policy`` until ``episodes`` episodes finish or ``max_steps`` batches pass.

    The episodes are spread evenly over the agents (``episode_quotas``), so an env of many
    games reports the same episodes as one game would, not its shortest. A native env alone in
    its vecenv is asked to report each episode with its agent (``report_each_episode``). Actions
    are sampled from the policy, or with ``deterministic`` its most likely ones
    (``greedy_action``). Returns the finished episodes' info dicts. ``on_step()`` runs after the
    reset and after every step until the requested episodes are over (for rendering every one of
    them); ``on_episode(info)`` runs as each counted episode finishes.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise APIUsageError(f"episodes must be a positive integer, got {episodes!r}.")
    report_each = getattr(vecenv.driver_env, "report_each_episode", None)
    if report_each is not None and vecenv.num_envs == 1:  # the driver env is the one stepped
        report_each()
    runner = RolloutRunner(vecenv, policy, deterministic=deterministic)
    quotas = episode_quotas(episodes, vecenv.num_agents)
    taken = np.zeros_like(quotas)
    finished: list[dict[str, float]] = []
    steps = 0

    def observe(batch: Batch) -> None:
        nonlocal steps
        wanted = len(finished) < episodes
        infos = episode_infos(batch.infos)
        for row, info in zip(_finished_rows(batch, infos), infos, strict=True):
            if row < len(taken) and taken[row] < quotas[row]:
                taken[row] += 1
                info = {k: v for k, v in info.items() if k != "agent"}
                finished.append(info)
                if on_episode is not None:
                    on_episode(info)
        if wanted and on_step is not None:
            on_step()
        steps += 1

    vecenv.async_reset(seed)
    runner.run(lambda: len(finished) >= episodes or steps >= max_steps, observe=observe)
    return finished
