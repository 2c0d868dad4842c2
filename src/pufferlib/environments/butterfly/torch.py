"""Policies for the butterfly envs: NatureCNN for screens, an MLP for vector observations."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import pufferlib.models
from pufferlib.models import conv_flat_size


class Policy(nn.Module):
    """``Convolutional`` for ``(1, H, W)`` frames (pistonball, cooperative pong),
    ``Default`` for vector observations (knights-archers-zombies)."""

    def __init__(self, env: Any, hidden_size: int = 256):
        super().__init__()
        self.hidden_size = hidden_size
        shape = tuple(env.single_observation_space.shape)
        self.net: pufferlib.models.Convolutional | pufferlib.models.Default
        if len(shape) == 3:
            self.net = pufferlib.models.Convolutional(
                env, framestack=shape[0], flat_size=conv_flat_size(shape),
                hidden_size=hidden_size, output_size=hidden_size)
        else:
            self.net = pufferlib.models.Default(env, hidden_size=hidden_size)
        self.is_continuous = self.net.is_continuous

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return self.net.encode_observations(observations)

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]:
        return self.net.decode_actions(hidden, lookup)


class Recurrent(pufferlib.models.PolicySizedLSTM):
    """An LSTM between ``Policy``'s encoder and heads."""
