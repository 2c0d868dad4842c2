"""Policies for the classic-control environments (discrete and continuous actions alike)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

import pufferlib.models
from pufferlib.exceptions import APIUsageError
from pufferlib.pytorch import layer_init

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


class Policy(nn.Module):
    """Separate actor and critic MLPs of ``num_layers`` layers of ``hidden_size`` units.

    Low-dimensional control tasks learn in markedly fewer samples when the value function
    does not share features with the policy (the critic's large early gradients otherwise
    disturb the actor). ``encode_observations`` returns the actor's features as ``hidden``
    and the critic's as ``lookup``, so ``Recurrent`` puts its LSTM on the actor path only.
    Heads come from ``pufferlib.models.ActionHead``: categorical logits for CartPole, a
    Gaussian for Pendulum and MountainCarContinuous.

    Speed (a batch here costs microseconds of arithmetic and far more in per-op overhead):
    the two paths' first layers are one ``(obs, 2 * hidden_size)`` matmul whose halves are
    initialised independently, so the networks stay separate; its weight is stored
    ``(in, out)`` because the weight gradient ``x.T @ grad`` is several times faster in
    that layout than ``nn.Linear``'s ``grad.T @ x`` when the input is this narrow. The hidden
    layers are applied as functions of their ``nn.Linear`` weights, not as module calls:
    each module call costs several microseconds, as much as a 64-unit layer's arithmetic.
    """

    def __init__(self, env: Any, hidden_size: int = 64, num_layers: int = 1, activation: str = "relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise APIUsageError(
                f"policy.activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}."
            )
        if num_layers < 1:
            raise APIUsageError(f"policy.num_layers must be at least 1, got {num_layers}.")
        self.hidden_size = hidden_size
        input_size = math.prod(env.single_observation_space.shape)
        self.input_weight = nn.Parameter(torch.empty(input_size, 2 * hidden_size))
        self.input_bias = nn.Parameter(torch.zeros(2 * hidden_size))
        with torch.no_grad():
            for block in self.input_weight.split(hidden_size, dim=1):
                nn.init.orthogonal_(block, math.sqrt(2))
        self.activation = ACTIVATIONS[activation]
        self.actor_encoder = _hidden_layers(hidden_size, num_layers - 1)
        self.critic_encoder = _hidden_layers(hidden_size, num_layers - 1)
        self.actor = pufferlib.models.ActionHead(hidden_size, env.single_action_space)
        self.value_head = layer_init(nn.Linear(hidden_size, 1), std=1.0)
        self.is_continuous = self.actor.is_continuous

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = observations.reshape(observations.shape[0], -1).float()
        hidden = self.activation(torch.addmm(self.input_bias, features, self.input_weight))
        actor, critic = hidden.split(self.hidden_size, dim=1)
        # torch types a ModuleList's items as Module; these are _hidden_layers' Linears.
        for layer in cast("Iterable[nn.Linear]", self.actor_encoder):
            actor = self.activation(F.linear(actor, layer.weight, layer.bias))
        for layer in cast("Iterable[nn.Linear]", self.critic_encoder):
            critic = self.activation(F.linear(critic, layer.weight, layer.bias))
        return actor, critic

    def decode_actions(self, hidden: torch.Tensor, lookup: torch.Tensor) -> tuple[Any, torch.Tensor]:
        return self.actor(hidden), F.linear(lookup, self.value_head.weight, self.value_head.bias)


def _hidden_layers(hidden_size: int, num_layers: int) -> nn.ModuleList:
    return nn.ModuleList(layer_init(nn.Linear(hidden_size, hidden_size)) for _ in range(num_layers))


class Recurrent(pufferlib.models.LSTMWrapper):
    """An LSTM on ``Policy``'s actor path (not needed: these envs are fully observed)."""

    def __init__(self, env: Any, policy: Any, input_size: int = 64, hidden_size: int = 64,
                 num_layers: int = 1):
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
