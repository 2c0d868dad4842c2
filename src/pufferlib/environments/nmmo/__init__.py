"""Neural MMO (does not install on Python 3.11 with numpy 2; see environment.py)."""

from pufferlib.environments.binding import lazy_policies

from .environment import env_creator, make, make_env  # noqa: F401

__getattr__ = lazy_policies(__name__)
