"""Space classes usable in ``isinstance`` checks, and joint spaces over many agents.

Each name is a tuple of classes so that ``isinstance(space, pufferlib.spaces.Box)``
accepts Gymnasium spaces and, only when the legacy ``gym`` package happens to be
installed, its spaces too.
"""

from __future__ import annotations

import sys
from typing import TypeVar

import gymnasium
import numpy as np

from pufferlib.exceptions import APIUsageError

_S = TypeVar("_S", bound=gymnasium.Space)


def _classes(cls: type[_S]) -> tuple[type[_S], ...]:
    """``cls`` and, if loaded, legacy gym's class of the same name (typed as ``cls``: same attributes)."""
    name = cls.__name__
    classes = [cls]
    gym = sys.modules.get("gym")  # only if the user already imported it: never import it ourselves
    if gym is not None and hasattr(getattr(gym, "spaces", None), name):
        classes.append(getattr(gym.spaces, name))
    return tuple(classes)


Box = _classes(gymnasium.spaces.Box)
Dict = _classes(gymnasium.spaces.Dict)
Discrete = _classes(gymnasium.spaces.Discrete)
MultiBinary = _classes(gymnasium.spaces.MultiBinary)
MultiDiscrete = _classes(gymnasium.spaces.MultiDiscrete)
Tuple = _classes(gymnasium.spaces.Tuple)


def space_shape(space: gymnasium.Space) -> tuple[int, ...]:
    """The shape of a space that has one: every leaf space (``Dict`` and ``Tuple`` have none)."""
    shape = space.shape
    assert shape is not None, f"{space} has no shape"
    return shape


def joint_space(space: gymnasium.Space, n: int) -> gymnasium.Space:
    """The space of ``n`` stacked samples of ``space`` (one per agent in a batch).

    ``Discrete(k)`` -> ``MultiDiscrete([k] * n)``; ``MultiDiscrete(nvec)`` ->
    ``Box(start, start + nvec - 1, (n, len(nvec)), int)``; ``Box`` -> ``Box((n, *shape))``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise APIUsageError(f"joint_space needs a positive integer number of agents, got {n!r}.")
    if isinstance(space, Discrete):
        start = int(getattr(space, "start", 0))
        return gymnasium.spaces.MultiDiscrete([int(space.n)] * n, start=[start] * n)
    if isinstance(space, MultiDiscrete):
        nvec = np.asarray(space.nvec).reshape(-1)
        start = np.asarray(getattr(space, "start", 0)).reshape(-1) + 0 * nvec
        low = np.broadcast_to(start, (n, len(nvec)))
        high = np.broadcast_to(start + nvec - 1, (n, len(nvec)))
        return gymnasium.spaces.Box(low=low, high=high, shape=(n, len(nvec)), dtype=space.dtype)
    if isinstance(space, Box):
        low = np.broadcast_to(space.low, (n, *space.shape))
        high = np.broadcast_to(space.high, (n, *space.shape))
        return gymnasium.spaces.Box(low=low, high=high, shape=(n, *space.shape), dtype=space.dtype)
    raise APIUsageError(
        f"joint_space supports Discrete, MultiDiscrete and Box, not {space}. "
        "Wrap the env in pufferlib.emulation so that its spaces are flattened first."
    )
