"""Atari 2600 games (ale-py) with DeepMind preprocessing and a NatureCNN policy."""

from pufferlib.environments.binding import lazy_policies

from .environment import env_creator, make, make_env  # noqa: F401

__getattr__ = lazy_policies(__name__)
