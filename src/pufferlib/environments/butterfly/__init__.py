"""PettingZoo butterfly (pistonball, knights-archers-zombies, cooperative pong) as puffer multi-agent envs."""

from pufferlib.environments.binding import lazy_policies

from .environment import env_creator, make, make_env  # noqa: F401

__getattr__ = lazy_policies(__name__)
