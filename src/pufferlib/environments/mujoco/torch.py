"""Continuous-control policies: CleanRL's separate actor and critic MLPs, optionally under an LSTM."""

from __future__ import annotations

from typing import Any

import torch

import pufferlib.models
from pufferlib.environments.classic_control.torch import Policy as SeparateActorCritic
from pufferlib.normalization import CLIP, ObservationNormalizer


class Policy(SeparateActorCritic):
    """Separate actor and critic MLPs (``num_layers`` x ``hidden_size``, tanh by default) with a
    state-independent log-std Gaussian head: CleanRL's ``ppo_continuous_action`` agent.

    With ``normalize_observations`` the first layer is an ``ObservationNormalizer``
    (running mean/variance, clipped to ``observation_clip``): its statistics are saved with
    the weights and updated by the trainer from every rollout, so evaluation and resumed
    runs see the inputs exactly as training did.
    """

    def __init__(self, env: Any, hidden_size: int = 64, num_layers: int = 2, activation: str = "tanh",
                 normalize_observations: bool = True, observation_clip: float = CLIP):
        super().__init__(env, hidden_size=hidden_size, num_layers=num_layers, activation=activation)
        self.normalizer = (ObservationNormalizer(env.single_observation_space.shape, observation_clip)
                           if normalize_observations else None)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.normalizer is not None:
            observations = self.normalizer(observations)
        return super().encode_observations(observations)


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM on ``Policy``'s actor path."""

    def __init__(self, env: Any, policy: Any, input_size: int = 64, hidden_size: int = 64,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
