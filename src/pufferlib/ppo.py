"""PPO's math, as pure functions: advantages, learning targets, minibatch indices and the loss.

Each phase of an update is one function here that takes arrays and returns arrays, so that it
can be tested alone; ``pufferlib.trainer.Trainer`` calls them in order::

    advantages = compute_gae(values, rewards, terminals, truncations, gamma, gae_lambda)
    targets = learning_targets(...)                       # one (steps, 5) table per update
    loss, stats = ppo_loss(new_logprobs, entropy, new_values, minibatch, weights, config)

Arrays follow the rollout buffer's arrival convention (``pufferlib.experience``): column ``t``
holds what ``recv`` returned at step ``t``, i.e. the observation's value, and the reward and
flags of the transition that *led to* it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# Columns of the per-step learning-target table.
LOGPROB, VALUE, ADVANTAGE, RETURN, LEARNABLE = range(5)
# Rows of the per-minibatch statistics ppo_loss returns.
STAT_NAMES = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "loss")


def compute_gae(values: np.ndarray, rewards: np.ndarray, terminals: np.ndarray, truncations: np.ndarray,
                gamma: float, gae_lambda: float) -> np.ndarray:
    """Generalised advantage estimates for ``(agents, T + 1)`` arrays in arrival convention.

    The transition taken from step ``t`` earns ``rewards[:, t+1]``, bootstraps from
    ``values[:, t+1]`` unless ``terminals[:, t+1]`` (a truncated step's value is the value of its
    final observation), and the recursion is cut wherever step ``t+1`` ends an episode. The
    result is ``(agents, T)``: one advantage per step that has a successor. Vectorised over
    agents, sequential over time.
    """
    steps = values.shape[1] - 1
    advantages = np.zeros((values.shape[0], steps), dtype=np.float32)
    continues = ~(terminals | truncations)
    bootstrap = gamma * values * ~terminals
    deltas = rewards[:, 1:] + bootstrap[:, 1:] - values[:, :-1]
    decay = (gamma * gae_lambda) * continues[:, 1:]
    last = np.zeros(values.shape[0], dtype=np.float32)
    for t in range(steps - 1, -1, -1):
        last = deltas[:, t] + decay[:, t] * last
        advantages[:, t] = last
    return advantages


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """``1 - Var(target - predicted) / Var(target)`` on aligned arrays; nan if ``target`` is constant."""
    if predicted.size == 0:
        return float("nan")
    variance = np.var(target)
    if variance == 0:
        return float("nan")
    return float(1.0 - np.var(target - predicted) / variance)


def learning_targets(logprobs: np.ndarray, values: np.ndarray, rewards: np.ndarray, terminals: np.ndarray,
                     truncations: np.ndarray, learnable: np.ndarray, gamma: float, gae_lambda: float
                     ) -> tuple[np.ndarray, float]:
    """``(targets, explained variance)``: every step's learning targets in one ``(agents, T + 1, 5)``
    table (columns ``LOGPROB``, ``VALUE``, ``ADVANTAGE``, ``RETURN``, ``LEARNABLE``).

    One table means one gather per epoch instead of five per minibatch: small models are bound
    by per-op overhead, not arithmetic. The bootstrap column (the last) is never learnable.
    """
    horizon = values.shape[1] - 1
    advantages = np.zeros_like(values)
    advantages[:, :horizon] = compute_gae(values, rewards, terminals, truncations, gamma, gae_lambda)
    learnable = learnable.copy()
    learnable[:, horizon] = False
    returns = advantages + values
    explained = explained_variance(values[learnable], returns[learnable])
    targets = np.stack([logprobs, values, advantages, returns, learnable], axis=-1, dtype=np.float32)
    return targets, explained


def segment_index(starts: np.ndarray, length: int) -> np.ndarray:
    """Flat indices of the ``length``-step segments beginning at ``starts``, segment-major."""
    if length == 1:
        return starts
    return (starts[:, None] + np.arange(length)[None, :]).reshape(-1)


def segment_starts(num_agents: int, horizon: int, length: int) -> np.ndarray:
    """Flat indices (into the ``(agents, horizon + 1)`` grid) of every ``length``-step segment's first step.

    The bootstrap column is never a segment's step: it is learned from in the next rollout.
    """
    width = horizon + 1
    return (np.arange(num_agents)[:, None] * width + np.arange(0, horizon, length)[None, :]).reshape(-1)


def minibatch_weights(learnable: torch.Tensor) -> torch.Tensor:
    """Per-step loss weights of ``(minibatches, rows)`` learnable flags: each minibatch's sum to 1.

    With the weights pre-divided, every loss term is a single dot product over the minibatch.
    """
    return learnable / learnable.sum(dim=1, keepdim=True).clamp(min=1.0)


def normalize_advantages(advantages: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Advantages standardised per minibatch (``(minibatches, rows)``), over the weighted steps."""
    mean = (advantages * weights).sum(dim=1, keepdim=True)
    centered = advantages - mean
    std = (centered.square() * weights).sum(dim=1, keepdim=True).sqrt()
    return centered / (std + 1e-8)


def ppo_loss(new_logprobs: torch.Tensor, entropy: torch.Tensor, new_values: torch.Tensor,
             minibatch: torch.Tensor, advantages: torch.Tensor, weights: torch.Tensor, config: Any
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, stats)`` of one minibatch: clipped PPO, clipped value loss, entropy bonus.

    ``minibatch`` holds the rows' learning targets (``learning_targets`` columns), ``advantages``
    the (normalised) advantages and ``weights`` the loss weights (``minibatch_weights``).
    ``stats`` is the detached ``STAT_NAMES`` vector.
    """
    old_logprobs, old_values, returns = minibatch[:, LOGPROB], minibatch[:, VALUE], minibatch[:, RETURN]
    log_ratio = new_logprobs - old_logprobs
    ratio = log_ratio.exp()
    clipped_ratio = ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
    policy_loss = -torch.dot(torch.min(advantages * ratio, advantages * clipped_ratio), weights)

    new_values = new_values.view(-1)
    value_loss = (new_values - returns).square()
    if config.clip_vloss:
        change = (new_values - old_values).clamp(-config.vf_clip_coef, config.vf_clip_coef)
        value_loss = torch.max(value_loss, (old_values + change - returns).square())
    value_loss = 0.5 * torch.dot(value_loss, weights)
    entropy_mean = torch.dot(entropy, weights)
    loss = policy_loss - config.ent_coef * entropy_mean + config.vf_coef * value_loss
    with torch.no_grad():
        approx_kl = torch.dot((ratio - 1) - log_ratio, weights)
        clip_fraction = torch.dot(((ratio - 1).abs() > config.clip_coef).float(), weights)
        stats = torch.stack([policy_loss, value_loss, entropy_mean, approx_kl, clip_fraction, loss])
    return loss, stats
