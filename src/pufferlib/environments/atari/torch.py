"""Atari policies: NatureCNN over the stacked frames, optionally under an LSTM."""

import pufferlib.models
from pufferlib.environments.binding import with_defaults

Policy = with_defaults(
    pufferlib.models.Convolutional, "Policy",
    "NatureCNN on ``(framestack, 84, 84)`` uint8 frames; one logit per legal action.",
    input_size=512, hidden_size=512, output_size=512, framestack=4, flat_size=64 * 7 * 7)

Recurrent = with_defaults(
    pufferlib.models.LSTMWrapper, "Recurrent", "An LSTM between the CNN encoder and the action/value heads.",
    input_size=512, hidden_size=512, num_layers=1)
