"""CleanRL binding: the ``get_action_and_value`` policy interface (and ``sample_logits``).

Models follow the ``pufferlib.models`` convention (``forward(obs) -> (logits, value)``,
or ``forward(obs, state) -> (logits, value, state)`` for recurrent ones). ``logits`` is
a ``(B, n)`` tensor (Discrete), a sequence of ``(B, n_i)`` tensors (MultiDiscrete) or a
``torch.distributions.Normal`` over ``(B, *action_shape)`` (Box).
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from pufferlib.distributions import sample_logits

__all__ = ["Policy", "RecurrentPolicy", "sample_logits"]

class Policy(nn.Module):
    """CleanRL interface over a model whose ``forward(x)`` returns ``(logits, value)``."""

    def __init__(self, policy: nn.Module):
        super().__init__()
        self.policy = policy

    def get_value(self, x: torch.Tensor, state: Any = None) -> torch.Tensor:
        """The value estimate ``(B, 1)``; ``state`` is ignored (CleanRL signature)."""
        _, value = self.policy(x)
        return value

    def get_action_and_value(self, x: torch.Tensor, action: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(action, logprob, entropy, value)``; scores ``action`` when given."""
        logits, value = self.policy(x)
        action, logprob, entropy = sample_logits(logits, action)
        return action, logprob, entropy, value

    def forward(self, x: torch.Tensor, action: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.get_action_and_value(x, action)


class RecurrentPolicy(nn.Module):
    """CleanRL interface over a recurrent model (e.g. ``pufferlib.models.LSTMWrapper``)
    whose ``forward(x, state)`` returns ``(logits, value, state)``.

    ``x`` is ``(B, *obs_shape)`` or ``(B, T, *obs_shape)``; outputs are flattened over
    batch and time (row ``b * T + t``); ``state`` is ``None`` or ``(h, c)`` each
    ``(num_layers, B, hidden)``.
    """

    def __init__(self, policy: nn.Module):
        super().__init__()
        self.policy = policy

    @property
    def lstm(self) -> nn.LSTM:
        # The model's LSTM, named ``recurrent`` as in LSTMWrapper (torch types module attributes loosely).
        return cast(nn.LSTM, self.policy.recurrent)

    def get_value(self, x: torch.Tensor, state: Any = None) -> torch.Tensor:
        """The value estimate ``(B * T, 1)``."""
        _, value, _ = self.policy(x, state)
        return value

    def get_action_and_value(self, x: torch.Tensor, state: Any = None,
                             action: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        """``(action, logprob, entropy, value, state)``; scores ``action`` when given."""
        logits, value, state = self.policy(x, state)
        action, logprob, entropy = sample_logits(logits, action)
        return action, logprob, entropy, value, state

    def forward(self, x: torch.Tensor, state: Any = None, action: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        return self.get_action_and_value(x, state, action)
