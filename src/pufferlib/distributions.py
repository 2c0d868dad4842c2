"""Action distributions: sampling and scoring the actions of every action space the trainer supports.

A policy's ``logits`` is a ``(B, n)`` tensor (Discrete), a sequence of ``(B, n_i)`` tensors
(MultiDiscrete) or a ``torch.distributions.Normal`` over ``(B, *action_shape)`` (Box).
``sample_logits`` draws (or scores) actions with their log-probabilities and entropies;
``greedy_action`` is the most likely action. The trainer, the rollout loop and the CleanRL
binding (which re-exports ``sample_logits``) all use these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch.distributions import Normal

from pufferlib.exceptions import APIUsageError

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _shaped_action(action: torch.Tensor | None, shape: torch.Size | tuple, what: str
                   ) -> torch.Tensor | None:
    """``action`` reshaped to ``shape``: 1.0 trainers store actions as ``(B, T)`` (or with a
    trailing 1) and score them against ``(B * T, ...)`` logits."""
    if action is None or tuple(action.shape) == tuple(shape):
        return action
    if action.numel() != math.prod(shape):
        raise APIUsageError(
            f"sample_logits: a given action of shape {tuple(action.shape)} ({action.numel()} "
            f"elements) does not match {what}, which need {tuple(shape)} ({math.prod(shape)} "
            "elements): pass one action per row of the logits."
        )
    return action.reshape(shape)


def _categorical(logits: torch.Tensor, action: torch.Tensor | None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    log_probs = torch.log_softmax(logits, dim=-1)
    probs = log_probs.exp()
    if action is None:
        # Gumbel-max in its exponential form: argmax p / E, E ~ Exp(1). Cheaper than
        # torch.multinomial on CPU, and a straight line of ops for torch.compile.
        action = (probs / torch.empty_like(probs).exponential_()).argmax(dim=-1)
    else:
        action = action.long()
    logprob = log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)
    # Masked actions have log-prob -inf and prob 0: clamp so that 0 * -inf is 0, not nan.
    finite_log_probs = log_probs.clamp(min=torch.finfo(log_probs.dtype).min)
    entropy = -(probs * finite_log_probs).sum(dim=-1)
    return action, logprob, entropy


def _normal(dist: Normal, action: torch.Tensor | None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mean, std = dist.loc, dist.scale
    if action is not None:
        standardised = (action - mean) / std
    else:
        # Like Normal.sample(): no gradient through the sample (REINFORCE, not reparameterized).
        noise = torch.randn_like(mean)
        action = torch.addcmul(mean, std, noise).detach()
        # Without autograd the standardised action is the noise itself (no division); with it,
        # the log-prob must be a function of mean and std at the fixed action.
        standardised = (action - mean) / std if torch.is_grad_enabled() else noise
    # Summed over the action dimensions: log N(a) = -z^2/2 - log std - log sqrt(2 pi) per dimension.
    dims = tuple(range(1, mean.dim()))
    size = math.prod(mean.shape[1:])
    log_std = std.log()
    log_std = log_std.sum(dim=dims) if dims else log_std
    square = standardised.square()
    square = square.sum(dim=dims) if dims else square
    logprob = square.mul(-0.5) - (log_std + size * _HALF_LOG_2PI)
    entropy = log_std + size * (0.5 + _HALF_LOG_2PI)
    return action, logprob, entropy


def sample_logits(logits: Any, action: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample an action (or score the given one): ``(action, logprob, entropy)``.

    - Discrete, ``logits (B, n)``: ``action (B,)`` int64.
    - MultiDiscrete, a list of ``(B, n_i)``: ``action (B, k)`` int64; log-prob and
      entropy are summed over the components.
    - Box, a ``torch.distributions.Normal`` over ``(B, *shape)``: ``action (B, *shape)``;
      log-prob and entropy summed over action dimensions.

    ``logprob`` and ``entropy`` are ``(B,)``; a batch of one keeps its batch dimension. A
    given ``action`` may have any shape with the right number of elements (e.g. ``(B, T)``
    against ``(B * T, n)`` logits) and is reshaped; a wrong element count is an
    ``APIUsageError``.
    """
    if isinstance(logits, torch.Tensor):
        what = f"logits {tuple(logits.shape)}"
        return _categorical(logits, _shaped_action(action, logits.shape[:-1], what))
    if isinstance(logits, Normal):
        what = f"a Normal over {tuple(logits.loc.shape)}"
        return _normal(logits, _shaped_action(action, logits.loc.shape, what))
    if isinstance(logits, (list, tuple)) and logits and all(isinstance(c, torch.Tensor) for c in logits):
        shape = (*logits[0].shape[:-1], len(logits))
        return _multi_categorical(logits, _shaped_action(action, shape, f"{len(logits)} logits tensors"))
    raise TypeError(
        f"sample_logits: expected a logits tensor, a list of logits tensors or a Normal, got "
        f"{type(logits).__name__}."
    )


def _multi_categorical(logits: Sequence[torch.Tensor], action: torch.Tensor | None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    sizes = [component.shape[-1] for component in logits]
    if len(set(sizes)) == 1:
        # Equal sizes: one batched categorical over (B, k, n) instead of k small ones.
        stacked = torch.stack(list(logits), dim=1)
        action, logprob, entropy = _categorical(stacked, action)
        return action, logprob.sum(dim=1), entropy.sum(dim=1)
    actions = []
    total_logprob: torch.Tensor | int = 0
    total_entropy: torch.Tensor | int = 0
    for i, component in enumerate(logits):
        a, lp, ent = _categorical(component, None if action is None else action[:, i])
        actions.append(a)
        total_logprob = total_logprob + lp
        total_entropy = total_entropy + ent
    # Tensors: logits is not empty.
    assert isinstance(total_logprob, torch.Tensor) and isinstance(total_entropy, torch.Tensor)
    return torch.stack(actions, dim=1), total_logprob, total_entropy


def greedy_action(logits: Any) -> torch.Tensor:
    """The most likely action under ``sample_logits``' distributions (argmax per categorical, Normal mean)."""
    if isinstance(logits, torch.Tensor):
        return logits.argmax(dim=-1)
    if isinstance(logits, torch.distributions.Normal):
        return logits.loc
    return torch.stack([component.argmax(dim=-1) for component in logits], dim=-1)
