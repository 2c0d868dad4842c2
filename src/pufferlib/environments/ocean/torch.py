"""Policies for the Ocean environments.

``Policy`` is the default MLP; ``Recurrent`` wraps it in an LSTM. ``memory`` needs
``Recurrent`` (see ``environment.NEEDS_RECURRENCE``); ``stochastic`` should be trained
without it (an LSTM can count and trivialises the task); the rest learn with either.
"""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Default):
    """The default MLP policy: one hidden layer of ``hidden_size`` units."""

    def __init__(self, env: Any, hidden_size: int = 128):
        super().__init__(env, hidden_size=hidden_size)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM over ``Policy``'s encoding."""

    def __init__(self, env: Any, policy: Any, input_size: int = 128, hidden_size: int = 128,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
