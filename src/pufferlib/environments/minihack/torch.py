"""MiniHack shares NetHack's observation format, so it shares its policy."""

from pufferlib.environments.nethack.torch import Policy, Recurrent

__all__ = ["Policy", "Recurrent"]
