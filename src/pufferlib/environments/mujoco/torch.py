"""Continuous-control policies: an MLP with a Gaussian action head, optionally under an LSTM."""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Default):
    """``Default`` MLP; its ``Box`` action head returns a ``torch.distributions.Normal``."""

    def __init__(self, env: Any, hidden_size: int = 256):
        super().__init__(env, hidden_size=hidden_size)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM between the MLP encoder and the Gaussian head."""

    def __init__(self, env: Any, policy: Any, input_size: int = 256, hidden_size: int = 256,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
