"""Neural MMO policy: the default MLP over the nativized Dict observation.

nmmo does not install alongside numpy 2 (see ``environment.py``), so no
game-specific encoder is offered; ``Default`` nativizes the structured observation
and one-hot encodes its small discrete leaves.
"""

from __future__ import annotations

from typing import Any

from torch import nn

import pufferlib.models


class Policy(pufferlib.models.Default):
    """``Default`` with a wider hidden layer for nmmo's large observation."""

    def __init__(self, env: Any, hidden_size: int = 256):
        super().__init__(env, hidden_size=hidden_size)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM between ``Policy``'s encoder and heads."""

    def __init__(self, env: Any, policy: nn.Module, input_size: int | None = None,
                 hidden_size: int | None = None, num_layers: int = 1):
        input_size = input_size or policy.hidden_size
        hidden_size = hidden_size or policy.hidden_size
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
