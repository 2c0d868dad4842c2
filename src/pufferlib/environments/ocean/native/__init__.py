"""Native Ocean: games written in Python and compiled by Numba, many per object (spec 2.6).

Each env class simulates ``num_envs`` games (``num_envs * agents_per_game`` agents) and
steps them all in one compiled kernel call, writing straight into the ``PufferEnv``
buffers. See ``docs/native_env.md`` for how to write one, and ``base.NativeEnv`` for the
contract they share (seeding, auto-reset, episode statistics).

Kernels are compiled on first use and cached on disk (``cache=True``): the first start
compiles (seconds), later starts load the cache.
"""

from pufferlib.exceptions import EnvironmentSetupError

try:
    import numba  # noqa: F401
except ImportError as e:  # the `native` extra is not installed
    raise EnvironmentSetupError(e, "native") from e

from pufferlib.environments.ocean.native.base import NativeEnv  # noqa: E402
from pufferlib.environments.ocean.native.breakout import Breakout
from pufferlib.environments.ocean.native.cartpole import CartPole
from pufferlib.environments.ocean.native.connect4 import Connect4
from pufferlib.environments.ocean.native.pong import Pong
from pufferlib.environments.ocean.native.snake import Snake

__all__ = ["Breakout", "CartPole", "Connect4", "NativeEnv", "Pong", "Snake"]
