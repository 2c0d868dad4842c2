"""NatureCNN policy for the grayscale ViZDoom screen."""

from __future__ import annotations

from typing import Any

import pufferlib.models


class Policy(pufferlib.models.Convolutional):
    """``Convolutional`` over the ``(1, H, W)`` screen, ``flat_size`` derived from its shape."""

    def __init__(self, env: Any, hidden_size: int = 512, output_size: int | None = None):
        shape = tuple(env.single_observation_space.shape)
        super().__init__(env, framestack=shape[0], flat_size=pufferlib.models.conv_flat_size(shape),
                         hidden_size=hidden_size, output_size=output_size or hidden_size)


class Recurrent(pufferlib.models.PolicySizedLSTM):
    """An LSTM between the CNN and the heads (Doom is partially observed)."""
