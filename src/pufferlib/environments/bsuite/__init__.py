"""bsuite (dm_env API) experiments as Gymnasium envs."""

from pufferlib.environments.binding import lazy_policies

from .environment import env_creator, make, make_env  # noqa: F401

__getattr__ = lazy_policies(__name__)
