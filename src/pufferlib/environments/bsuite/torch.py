"""bsuite policies: a small MLP, optionally under an LSTM (for the memory experiments)."""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Default):
    """``Default`` MLP over the flattened observation."""

    def __init__(self, env: Any, hidden_size: int = 128):
        super().__init__(env, hidden_size=hidden_size)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM between the MLP encoder and the heads (``memory_len``, ``memory_size``)."""

    def __init__(self, env: Any, policy: Any, input_size: int = 128, hidden_size: int = 128,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
