"""Policies for the Ocean environments.

``Policy`` is the default MLP; ``Recurrent`` wraps it in an LSTM. ``memory`` needs
``Recurrent`` (see ``environment.NEEDS_RECURRENCE``); ``stochastic`` should be trained
without it (an LSTM can count and trivialises the task); the rest learn with either.
"""

from __future__ import annotations

from typing import Any

import torch

import pufferlib.models
from pufferlib.exceptions import APIUsageError
from pufferlib.normalization import ObservationNormalizer


class Policy(pufferlib.models.Default):
    """The default MLP policy: one hidden layer of ``hidden_size`` units.

    With ``normalize_observations`` the observations first pass an ``ObservationNormalizer``
    (running mean and variance, saved with the weights and updated by the trainer): for games
    whose observations differ in scale by orders of magnitude (3.0's Breakout divides ball
    velocities of a few pixels per frame by 512, so its most telling features stay below 0.02).
    """

    def __init__(self, env: Any, hidden_size: int = 128, normalize_observations: bool = False):
        super().__init__(env, hidden_size=hidden_size)
        self.normalizer = None
        if normalize_observations:
            if self.flatten.is_structured:
                raise APIUsageError("Policy: normalize_observations needs a Box observation space.")
            self.normalizer = ObservationNormalizer(env.single_observation_space.shape)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, None]:
        if self.normalizer is not None:
            observations = self.normalizer(observations)
        return super().encode_observations(observations)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM over ``Policy``'s encoding."""

    def __init__(self, env: Any, policy: Any, input_size: int = 128, hidden_size: int = 128,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
