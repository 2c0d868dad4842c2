"""pufferlib: fast, sane reinforcement learning with flat observations everywhere."""

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, InvalidAgentError
from pufferlib.namespace import Namespace, dataclass, namespace

__version__ = "1.0.0"

__all__ = [
    "APIUsageError",
    "EnvironmentSetupError",
    "InvalidAgentError",
    "Namespace",
    "PufferEnv",
    "__version__",
    "dataclass",
    "namespace",
]


def __getattr__(name: str):
    # PufferEnv pulls in numpy and gymnasium; keep `import pufferlib` itself light.
    if name == "PufferEnv":
        from pufferlib.puffer_env import PufferEnv

        return PufferEnv
    raise AttributeError(f"module 'pufferlib' has no attribute {name!r}")
