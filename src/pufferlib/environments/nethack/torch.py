"""A policy for NLE dict observations (NetHack and MiniHack).

Glyph maps (``glyphs`` and/or ``glyphs_crop``) go through one shared glyph embedding
and a small CNN per map; ``blstats`` (bottom-line stats) through a log-scaled MLP;
``message`` (the top-line text bytes) through an MLP. The features are concatenated
and projected to ``hidden_size``. ``encode_observations`` and ``decode_actions`` are
split so ``Recurrent`` (an ``LSTMWrapper``) can run an LSTM between them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import pufferlib.models
from pufferlib import pytorch
from pufferlib.exceptions import APIUsageError
from pufferlib.pytorch import layer_init

GLYPH_MAPS = ("glyphs", "glyphs_crop")
FEATURE_KEYS = (*GLYPH_MAPS, "blstats", "message")


class GlyphCNN(nn.Module):
    """Embedded glyph map ``(B, H, W, E)`` -> ``(B, features)``: one 3x3 conv, two 3x3/2."""

    def __init__(self, map_shape: tuple[int, int], embedding_dim: int, channels: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            layer_init(nn.Conv2d(embedding_dim, channels, 3, padding=1)), nn.ReLU(),
            layer_init(nn.Conv2d(channels, channels, 3, stride=2, padding=1)), nn.ReLU(),
            layer_init(nn.Conv2d(channels, channels, 3, stride=2, padding=1)), nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            self.size = self.net(torch.zeros(1, embedding_dim, *map_shape)).shape[1]

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        return self.net(embedded.permute(0, 3, 1, 2))


class Policy(nn.Module):
    """Glyph embeddings + CNN, bottom-line stats and message for NLE observations.

    Works with any subset of ``glyphs``, ``glyphs_crop``, ``blstats`` and ``message``
    in the env's observation dict (other keys are ignored). The action head matches the
    env's real action count.
    """

    def __init__(self, env: Any, hidden_size: int = 256, embedding_dim: int = 16):
        super().__init__()
        native_space = getattr(env.emulated, "observation_space", None)
        present = getattr(native_space, "spaces", None) or {}
        keys = [k for k in FEATURE_KEYS if k in present]
        if not keys:
            raise APIUsageError(
                f"The NLE policy needs a Dict observation with some of {FEATURE_KEYS}; "
                f"got {native_space}. Build the env with pufferlib.environments.nethack or minihack."
            )
        assert native_space is not None  # it has the keys
        self.hidden_size = hidden_size
        self.native_dtype = pytorch.nativize_dtype(env.emulated)
        self.maps = [k for k in GLYPH_MAPS if k in keys]
        self.use_blstats = "blstats" in keys
        self.use_message = "message" in keys
        size = 0
        if self.maps:
            num_glyphs = max(int(native_space[k].high.max()) for k in self.maps) + 1
            self.glyph_embedding = nn.Embedding(num_glyphs, embedding_dim)
            glyph_cnns = {k: GlyphCNN(tuple(native_space[k].shape), embedding_dim) for k in self.maps}
            self.glyph_cnns = nn.ModuleDict(glyph_cnns)
            size += sum(cnn.size for cnn in glyph_cnns.values())
        if self.use_blstats:
            self.blstats_net = nn.Sequential(
                layer_init(nn.Linear(native_space["blstats"].shape[0], 64)), nn.ReLU())
            size += 64
        if self.use_message:
            self.message_net = nn.Sequential(
                layer_init(nn.Linear(native_space["message"].shape[0], 64)), nn.ReLU())
            size += 64
        self.projection = nn.Sequential(layer_init(nn.Linear(size, hidden_size)), nn.ReLU())
        self.actor = pufferlib.models.ActionHead(hidden_size, env.single_action_space)
        self.value_head = layer_init(nn.Linear(hidden_size, 1), std=1.0)
        self.is_continuous = False

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, None]:
        obs = pytorch.nativize_tensor(observations, self.native_dtype)
        features = []
        for key in self.maps:
            embedded = self.glyph_embedding(obs[key].long())
            features.append(self.glyph_cnns[key](embedded))
        if self.use_blstats:
            # Stats span 0..1e6 (score, gold, turn): compress them before the MLP.
            blstats = obs["blstats"].float()
            features.append(self.blstats_net(torch.sign(blstats) * torch.log1p(blstats.abs())))
        if self.use_message:
            features.append(self.message_net(obs["message"].float() / 255.0))
        return self.projection(torch.cat(features, dim=1)), None

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]:
        return self.actor(hidden), self.value_head(hidden)


class Recurrent(pufferlib.models.PolicySizedLSTM):
    """An LSTM between ``Policy``'s encoder and heads (NetHack is partially observed)."""
