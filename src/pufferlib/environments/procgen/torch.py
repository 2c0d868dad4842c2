"""Procgen policies: the IMPALA ResNet, optionally under an LSTM."""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.ProcgenResnet):
    """IMPALA ResNet on ``(64, 64, 3)`` frames (widths 16/32/32, then 256 features)."""

    def __init__(self, env: Any, cnn_width: int = 16, mlp_width: int = 256):
        super().__init__(env, cnn_width=cnn_width, mlp_width=mlp_width)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM between the ResNet encoder and the action/value heads."""

    def __init__(self, env: Any, policy: Any, input_size: int = 256, hidden_size: int = 256,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
