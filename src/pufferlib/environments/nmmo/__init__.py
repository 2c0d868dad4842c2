"""Neural MMO (does not install on Python 3.11 with numpy 2; see environment.py)."""

from .environment import env_creator, make, make_env  # noqa: F401

try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    from .torch import Policy, Recurrent  # noqa: F401
