"""bsuite (dm_env API) experiments as Gymnasium envs."""

from .environment import env_creator, make, make_env  # noqa: F401

try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    from .torch import Policy, Recurrent  # noqa: F401
