"""Neural MMO policy: the default MLP over the nativized Dict observation.

nmmo does not install alongside numpy 2 (see ``environment.py``), so no
game-specific encoder is offered; ``Default`` nativizes the structured observation
and one-hot encodes its small discrete leaves.
"""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Default):
    """``Default`` with a wider hidden layer for nmmo's large observation."""

    def __init__(self, env: Any, hidden_size: int = 256):
        super().__init__(env, hidden_size=hidden_size)


class Recurrent(pufferlib.models.PolicySizedLSTM):
    """An LSTM between ``Policy``'s encoder and heads."""
