"""A small CNN over MAgent2's egocentric ``(view, view, channels)`` grid."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import pufferlib.models
from pufferlib.pytorch import layer_init


class Policy(nn.Module):
    """Two 3x3 convs over the channels-last view grid, then ``Linear(hidden_size)``."""

    def __init__(self, env: Any, hidden_size: int = 256, channels: int = 32):
        super().__init__()
        self.hidden_size = hidden_size
        view, _, in_channels = env.single_observation_space.shape
        self.network = nn.Sequential(
            layer_init(nn.Conv2d(in_channels, channels, 3)), nn.ReLU(),
            layer_init(nn.Conv2d(channels, channels, 3)), nn.ReLU(),
            nn.Flatten(),
            layer_init(nn.Linear(channels * (view - 4) ** 2, hidden_size)), nn.ReLU(),
        )
        self.actor = pufferlib.models.ActionHead(hidden_size, env.single_action_space)
        self.value_head = layer_init(nn.Linear(hidden_size, 1), std=1.0)
        self.is_continuous = False

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.network(observations.permute(0, 3, 1, 2).float()), None

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]:
        return self.actor(hidden), self.value_head(hidden)


class Recurrent(pufferlib.models.PolicySizedLSTM):
    """An LSTM between ``Policy``'s encoder and heads."""
