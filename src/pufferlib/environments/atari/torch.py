"""Atari policies: NatureCNN over the stacked frames, optionally under an LSTM."""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Convolutional):
    """NatureCNN on ``(framestack, 84, 84)`` uint8 frames; one logit per legal action."""

    def __init__(self, env: Any, input_size: int = 512, hidden_size: int = 512, output_size: int = 512,
                 framestack: int = 4, flat_size: int = 64 * 7 * 7):
        super().__init__(env, framestack=framestack, flat_size=flat_size, input_size=input_size,
                         hidden_size=hidden_size, output_size=output_size)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM between the CNN encoder and the action/value heads."""

    def __init__(self, env: Any, policy: Any, input_size: int = 512, hidden_size: int = 512,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
