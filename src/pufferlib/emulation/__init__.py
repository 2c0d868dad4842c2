"""Emulation: make any Gymnasium or PettingZoo env look "Atari-like".

Every agent sees one flat ``Box`` observation and takes one flat action
(``Discrete``, ``MultiDiscrete`` or ``Box``), whatever the nesting of the inner
env's spaces. Structured observations are laid out as a numpy structured dtype
(``align=True``: C struct layout, padding included); the flat observation is the raw
memory of that struct, viewed as its one shared leaf dtype or else as ``uint8``.
This layout is public: ``pufferlib.pytorch.nativize_dtype`` rebuilds it on the
model's device from the same offsets.

Per-step work is a loop over precomputed leaf views of preallocated buffers: no
dict building, no ``np.concatenate``.
"""

from pufferlib.emulation.actions import ActionEmulator, emulate_action_space
from pufferlib.emulation.gymnasium_env import GymnasiumPufferEnv
from pufferlib.emulation.layout import (
    DISCRETE_LEAVES,
    LEAF_SPACES,
    Leaf,
    ObservationWriter,
    dtype_from_space,
    emulate,
    emulate_copy,
    emulate_observation_space,
    flatten_space,
    leaf_layout,
    make_buffer,
    nativize,
    struct_fields,
)
from pufferlib.emulation.pettingzoo_env import PettingZooPufferEnv

__all__ = [
    "DISCRETE_LEAVES",
    "LEAF_SPACES",
    "ActionEmulator",
    "GymnasiumPufferEnv",
    "Leaf",
    "ObservationWriter",
    "PettingZooPufferEnv",
    "dtype_from_space",
    "emulate",
    "emulate_action_space",
    "emulate_copy",
    "emulate_observation_space",
    "flatten_space",
    "leaf_layout",
    "make_buffer",
    "nativize",
    "struct_fields",
]
