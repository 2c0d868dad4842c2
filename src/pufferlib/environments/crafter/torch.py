"""Crafter policies: NatureCNN on the RGB frame, optionally under an LSTM."""

import pufferlib.models
from pufferlib.environments.binding import with_defaults

Policy = with_defaults(
    pufferlib.models.Convolutional, "Policy",
    "NatureCNN on ``(64, 64, 3)`` channels-last frames (64 * 4 * 4 conv features).",
    fixed={"framestack": 3, "channels_last": True},
    input_size=512, hidden_size=512, output_size=512, flat_size=64 * 4 * 4)

Recurrent = with_defaults(
    pufferlib.models.LSTMWrapper, "Recurrent",
    "An LSTM between the CNN encoder and the heads (Crafter is partially observed).",
    input_size=512, hidden_size=512, num_layers=1)
