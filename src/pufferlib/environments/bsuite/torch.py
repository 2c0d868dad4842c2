"""bsuite policies: a small MLP, optionally under an LSTM (for the memory experiments)."""

import pufferlib.models
from pufferlib.environments.binding import with_defaults

Policy = with_defaults(pufferlib.models.Default, "Policy", "``Default`` MLP over the flattened observation.",
                       hidden_size=128)

Recurrent = with_defaults(
    pufferlib.models.LSTMWrapper, "Recurrent",
    "An LSTM between the MLP encoder and the heads (``memory_len``, ``memory_size``).",
    input_size=128, hidden_size=128, num_layers=1)
