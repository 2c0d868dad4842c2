"""Policies for the classic-control environments (discrete and continuous actions alike)."""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Default):
    """The default MLP policy: one hidden layer of ``hidden_size`` units.

    ``Default`` gives a categorical head for CartPole and a Gaussian head for Pendulum
    and MountainCarContinuous.
    """

    def __init__(self, env: Any, hidden_size: int = 64):
        super().__init__(env, hidden_size=hidden_size)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM over ``Policy``'s encoding (not needed: these envs are fully observed)."""

    def __init__(self, env: Any, policy: Any, input_size: int = 64, hidden_size: int = 64,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
