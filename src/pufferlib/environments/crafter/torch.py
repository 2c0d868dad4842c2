"""Crafter policies: NatureCNN on the RGB frame, optionally under an LSTM."""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Convolutional):
    """NatureCNN on ``(64, 64, 3)`` channels-last frames (64 * 4 * 4 conv features)."""

    def __init__(self, env: Any, input_size: int = 512, hidden_size: int = 512, output_size: int = 512,
                 flat_size: int = 64 * 4 * 4):
        super().__init__(env, framestack=3, flat_size=flat_size, input_size=input_size,
                         hidden_size=hidden_size, output_size=output_size, channels_last=True)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM between the CNN encoder and the heads (Crafter is partially observed)."""

    def __init__(self, env: Any, policy: Any, input_size: int = 512, hidden_size: int = 512,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
