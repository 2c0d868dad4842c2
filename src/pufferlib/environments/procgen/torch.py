"""Procgen policies: the IMPALA ResNet, optionally under an LSTM."""

import pufferlib.models
from pufferlib.environments.binding import with_defaults

Policy = with_defaults(
    pufferlib.models.ProcgenResnet, "Policy",
    "IMPALA ResNet on ``(64, 64, 3)`` frames (widths 16/32/32, then 256 features).",
    cnn_width=16, mlp_width=256)

Recurrent = with_defaults(
    pufferlib.models.LSTMWrapper, "Recurrent",
    "An LSTM between the ResNet encoder and the action/value heads.",
    input_size=256, hidden_size=256, num_layers=1)
