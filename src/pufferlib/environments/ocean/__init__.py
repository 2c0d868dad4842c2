"""Ocean: first-party environments.

Sanity envs (``squared``, ``bandit``, ``memory``, ...) isolate one skill each; the native
games (``native_names()``; see ``ocean.native``) simulate many games per object at compiled
speed. Importing this package stays light: it
imports neither torch nor numba. ``Policy`` and ``Recurrent`` (torch) are loaded on first
access, and a native game's module (numba) when its factory is first asked for.
"""

from pufferlib.environments.binding import lazy_policies

from .environment import env_creator, make, make_env, native_names  # noqa: F401

__getattr__ = lazy_policies(__name__)
