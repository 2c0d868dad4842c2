"""MiniGrid policy: one-hot encoded egocentric view and heading through an MLP."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import pufferlib.models
import pufferlib.pytorch
from pufferlib.environments.binding import with_defaults
from pufferlib.pytorch import layer_init

# Sizes of MiniGrid's object, colour and state index tables (minigrid.core.constants).
CELL_FIELDS = (11, 6, 3)
NUM_DIRECTIONS = 4


class Policy(nn.Module):
    """MLP over the multi-hot view (``7 * 7 * (11 + 6 + 3)`` features) and one-hot heading.

    Indices are categorical, so each cell's object, colour and state are one-hot encoded
    rather than fed as magnitudes. ``encode_observations`` nativizes the flat rows on the
    model's device (``pufferlib.pytorch.nativize_tensor``).
    """

    offsets: torch.Tensor
    limits: torch.Tensor

    def __init__(self, env: Any, hidden_size: int = 128):
        super().__init__()
        self.dtype = pufferlib.pytorch.nativize_dtype(env.emulated)
        view_shape = env.emulated.observation_space["image"].shape
        self.num_codes = sum(CELL_FIELDS)
        self.register_buffer("offsets", torch.tensor([0, CELL_FIELDS[0], CELL_FIELDS[0] + CELL_FIELDS[1]]),
                             persistent=False)
        self.register_buffer("limits", torch.tensor(CELL_FIELDS) - 1, persistent=False)
        features = view_shape[0] * view_shape[1] * self.num_codes + NUM_DIRECTIONS
        self.encoder = nn.Sequential(
            layer_init(nn.Linear(features, hidden_size)), nn.ReLU(),
            layer_init(nn.Linear(hidden_size, hidden_size)), nn.ReLU(),
        )
        self.actor = pufferlib.models.ActionHead(hidden_size, env.single_action_space)
        self.value_fn = layer_init(nn.Linear(hidden_size, 1), std=1.0)
        self.is_continuous = False

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, None]:
        native = pufferlib.pytorch.nativize_tensor(observations, self.dtype)
        batch = observations.shape[0]
        cells = torch.minimum(native["image"].long(), self.limits) + self.offsets
        view = F.one_hot(cells, self.num_codes).sum(dim=-2).reshape(batch, -1)
        direction = F.one_hot(native["direction"].long().clamp(0, NUM_DIRECTIONS - 1), NUM_DIRECTIONS)
        return self.encoder(torch.cat([view, direction.reshape(batch, -1)], dim=1).float()), None

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]:
        return self.actor(hidden), self.value_fn(hidden)


Recurrent = with_defaults(
    pufferlib.models.LSTMWrapper, "Recurrent", "An LSTM between the encoder and the heads, for partially "
    "observed levels.", input_size=128, hidden_size=128, num_layers=1)
