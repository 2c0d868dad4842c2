"""Ocean: first-party environments.

Sanity envs (``squared``, ``bandit``, ``memory``, ...) isolate one skill each; the native
envs (``cartpole``, ``snake``, ``breakout``, ``pong``, ``connect4``; see ``ocean.native``)
simulate many games per object at compiled speed. Importing this package stays light: it
imports neither torch nor numba. ``Policy`` and ``Recurrent`` (torch) are loaded on first
access, and a native env's module (numba) when its factory is first called.
"""

from pufferlib.environments.binding import lazy_policies

from .environment import env_creator, make, make_env  # noqa: F401

__getattr__ = lazy_policies(__name__)
