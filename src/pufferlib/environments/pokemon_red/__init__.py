"""Pokémon Red on PyBoy (bring your own ROM) with a NatureCNN policy."""

from .environment import env_creator, make, make_env  # noqa: F401

try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    from .torch import Policy, Recurrent  # noqa: F401
