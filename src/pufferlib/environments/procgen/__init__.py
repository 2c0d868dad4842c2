"""Procgen (procgen-mirror, gym3 API) as Gymnasium envs, with the IMPALA ResNet policy."""

from .environment import env_creator, make, make_env  # noqa: F401

try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    from .torch import Policy, Recurrent  # noqa: F401
