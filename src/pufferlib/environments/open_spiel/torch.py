"""An MLP policy that masks illegal actions for OpenSpiel games.

The observation row is ``[observation tensor | legal-action mask | to-play flag]``
(see ``environment.py``). The encoder reads the tensor and the flag; the mask travels
as ``lookup`` to ``decode_actions``, which pushes illegal logits to a large negative
value, so sampling never picks an illegal action on the player's turn.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import pufferlib.models
from pufferlib.pytorch import layer_init

# Finite, so masked entries contribute 0 (not NaN) to the entropy.
MASKED_LOGIT = -1e9


class Policy(nn.Module):
    """Two-layer MLP over the observation tensor and to-play flag, masked action logits."""

    def __init__(self, env: Any, hidden_size: int = 128):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_actions = int(env.single_action_space.n)
        self.tensor_size = env.single_observation_space.shape[0] - self.num_actions - 1
        self.encoder = nn.Sequential(
            layer_init(nn.Linear(self.tensor_size + 1, hidden_size)), nn.ReLU(),
            layer_init(nn.Linear(hidden_size, hidden_size)), nn.ReLU(),
        )
        self.actor = layer_init(nn.Linear(hidden_size, self.num_actions), std=0.01)
        self.value_head = layer_init(nn.Linear(hidden_size, 1), std=1.0)
        self.is_continuous = False

    def forward(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, a = self.tensor_size, self.num_actions
        features = torch.cat([observations[:, :n], observations[:, n + a:]], dim=1)
        legal = observations[:, n:n + a] > 0.5
        # Off-turn rows have no legal action; leave their logits unmasked (their actions are ignored).
        legal = legal | ~legal.any(dim=1, keepdim=True)
        return self.encoder(features), legal

    def decode_actions(self, hidden: torch.Tensor, lookup: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.actor(hidden).masked_fill(~lookup, MASKED_LOGIT)
        return logits, self.value_head(hidden)


class Recurrent(pufferlib.models.PolicySizedLSTM):
    """An LSTM between ``Policy``'s encoder and its masked heads (for imperfect-information games)."""
