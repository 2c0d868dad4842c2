"""Neural MMO policy: the default MLP over the nativized Dict observation.

nmmo does not install alongside numpy 2 (see ``environment.py``), so no
game-specific encoder is offered; ``Default`` nativizes the structured observation
and one-hot encodes its small discrete leaves.
"""

import pufferlib.models
from pufferlib.environments.binding import with_defaults

Policy = with_defaults(pufferlib.models.Default, "Policy",
                       "``Default`` with a wider hidden layer for nmmo's large observation.", hidden_size=256)


class Recurrent(pufferlib.models.PolicySizedLSTM):
    """An LSTM between ``Policy``'s encoder and heads."""
