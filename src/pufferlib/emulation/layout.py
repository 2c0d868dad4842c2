"""The flat layout of structured observations: numpy struct dtypes, leaf offsets, writers.

A nested observation is stored as an aligned numpy structured dtype (C struct layout,
padding included); the flat observation is that struct's raw memory, viewed as its one
shared leaf dtype or else as ``uint8``. ``struct_fields`` is the one walker over such a
layout: ``leaf_layout`` here, ``pufferlib.pytorch.nativize_dtype`` and
``pufferlib.models.FlattenObservations`` all read offsets through it.
"""

from __future__ import annotations

from dataclasses import dataclass as _dataclass
from typing import Any

import gymnasium
import numpy as np

from pufferlib import spaces
from pufferlib.exceptions import APIUsageError
from pufferlib.namespace import Namespace, namespace

DISCRETE_LEAVES = spaces.Discrete + spaces.MultiDiscrete + spaces.MultiBinary
LEAF_SPACES = spaces.Box + DISCRETE_LEAVES


# --------------------------------------------------------------------------------------
# Structured layout of observations


def _leaf_dtype(space: gymnasium.Space) -> np.dtype:
    """The dtype a leaf is stored as in the observation struct."""
    if isinstance(space, (*spaces.Discrete, *spaces.MultiDiscrete)):
        return np.dtype(np.int64)
    if isinstance(space, spaces.MultiBinary):
        return np.dtype(np.int8)
    if isinstance(space, spaces.Box):
        return np.dtype(space.dtype)
    raise APIUsageError(
        f"Unsupported space {space!r}: pufferlib emulates Box, Discrete, MultiDiscrete, "
        "MultiBinary leaves nested in Dict and Tuple spaces."
    )


def _leaf_shape(space: gymnasium.Space) -> tuple[int, ...]:
    if isinstance(space, spaces.Discrete):
        return ()
    if isinstance(space, spaces.MultiDiscrete):
        return tuple(np.asarray(space.nvec).shape)
    return tuple(space.shape)


def _children(space: gymnasium.Space) -> list[tuple[str | int, str, gymnasium.Space]]:
    """(key in samples, field name in the struct, subspace) for a composite space."""
    if isinstance(space, spaces.Dict):
        return [(key, str(key), sub) for key, sub in space.spaces.items()]
    if isinstance(space, spaces.Tuple):
        return [(i, f"f{i}", sub) for i, sub in enumerate(space.spaces)]
    raise APIUsageError(f"Not a composite space: {space!r}")


def _is_composite(space: gymnasium.Space) -> bool:
    return isinstance(space, spaces.Dict + spaces.Tuple)


def dtype_from_space(space: gymnasium.Space) -> np.dtype:
    """The (aligned, C-layout) numpy dtype that stores one sample of ``space``.

    ``Tuple`` fields are named ``f0, f1, ...``; ``Dict`` fields keep the space's key
    order; leaves are ``(leaf dtype, leaf shape)``.
    """
    if _is_composite(space):
        fields = [(name, dtype_from_space(sub)) for _, name, sub in _children(space)]
        return np.dtype(fields, align=True)
    return np.dtype((_leaf_dtype(space), _leaf_shape(space)))


def flatten_space(space: gymnasium.Space) -> list[gymnasium.Space]:
    """The leaf spaces of ``space``, depth first."""
    if _is_composite(space):
        return [leaf for _, _, sub in _children(space) for leaf in flatten_space(sub)]
    if not isinstance(space, LEAF_SPACES):
        _leaf_dtype(space)  # raises the helpful error
    return [space]


@_dataclass(frozen=True)
class Leaf:
    """Where one leaf of a nested space lives inside a flat row.

    ``path`` indexes a native sample (dict keys and tuple indices); ``offset`` is in
    bytes from the start of the struct; ``dtype`` and ``shape`` describe the stored
    array (``shape == ()`` for a ``Discrete`` leaf).
    """

    path: tuple
    space: gymnasium.Space
    dtype: np.dtype
    shape: tuple
    offset: int

    @property
    def nbytes(self) -> int:
        return int(self.dtype.itemsize * np.prod(self.shape, dtype=np.int64))


StructField = tuple[tuple[str, ...], np.dtype, tuple[int, ...], int]


def struct_fields(dtype: np.dtype) -> list[StructField]:
    """Every leaf of a (nested) numpy struct dtype, depth first in field order.

    Each is ``(field names from the top, element dtype, shape, byte offset)``; a subarray
    field ``(base, shape)`` is one leaf of that shape. A dtype without fields is a single
    leaf with no names. The one walker over the struct layout: emulation, ``pufferlib.pytorch``
    and ``pufferlib.models`` all take their offsets from it.
    """
    fields: list[StructField] = []

    def walk(sub: np.dtype, names: tuple[str, ...], offset: int) -> None:
        if sub.fields is None:
            base, shape = sub.subdtype if sub.subdtype is not None else (sub, ())
            fields.append((names, np.dtype(base), tuple(int(n) for n in shape), offset))
            return
        for name in sub.names:
            child, child_offset = sub.fields[name][:2]
            walk(child, (*names, name), offset + child_offset)

    walk(np.dtype(dtype), (), 0)
    return fields


def _space_leaves(space: gymnasium.Space, path: tuple = ()) -> list[tuple[tuple, gymnasium.Space]]:
    """``(path in samples, leaf space)`` of every leaf, depth first (the struct's field order)."""
    if _is_composite(space):
        return [leaf for key, _, sub in _children(space) for leaf in _space_leaves(sub, (*path, key))]
    return [(path, space)]


def leaf_layout(space: gymnasium.Space, struct_dtype: np.dtype | None = None) -> list[Leaf]:
    """Byte offsets, dtypes and shapes of every leaf of ``space`` in ``struct_dtype``."""
    if struct_dtype is None:
        struct_dtype = dtype_from_space(space)
    paths, fields = _space_leaves(space), struct_fields(struct_dtype)
    if len(paths) != len(fields):
        raise APIUsageError(
            f"Struct dtype {struct_dtype} has {len(fields)} leaves but the space {space} has "
            f"{len(paths)}: pass the dtype built from this space (dtype_from_space)."
        )
    return [Leaf(path, sub, dtype, shape, offset)
            for (path, sub), (_, dtype, shape, offset) in zip(paths, fields)]


def _leaf_bounds(leaf: Leaf) -> tuple[np.ndarray, np.ndarray]:
    space = leaf.space
    if isinstance(space, spaces.Box):
        return space.low, space.high
    if isinstance(space, spaces.MultiBinary):
        return np.zeros(leaf.shape), np.ones(leaf.shape)
    start = np.asarray(getattr(space, "start", 0))
    count = np.asarray(space.n if isinstance(space, spaces.Discrete) else space.nvec)
    return start + 0 * count, start + count - 1


def emulate_observation_space(space: gymnasium.Space) -> tuple[gymnasium.spaces.Box, np.dtype]:
    """``(flat Box space, struct dtype)`` for an observation space.

    A top-level ``Box`` passes through unchanged (the same object). Otherwise, if every
    leaf shares one dtype the flat space is a 1-D ``Box`` of that dtype whose bounds
    are the leaves' bounds; else it is a 1-D ``uint8`` ``Box`` of the struct's bytes.
    """
    if isinstance(space, spaces.Box):
        return space, space.dtype
    struct_dtype = dtype_from_space(space)
    leaves = leaf_layout(space, struct_dtype)
    if not leaves:
        raise APIUsageError(f"Observation space {space} has no leaves: there is nothing to observe.")
    leaf_dtypes = {leaf.dtype for leaf in leaves}
    if len(leaf_dtypes) == 1:
        flat_dtype = leaf_dtypes.pop()
        low = np.zeros(1, dtype=struct_dtype)
        high = np.zeros(1, dtype=struct_dtype)
        for leaf in leaves:
            leaf_low, leaf_high = _leaf_bounds(leaf)
            _leaf_view(low, leaf)[...] = leaf_low
            _leaf_view(high, leaf)[...] = leaf_high
        low, high = low.view(flat_dtype).reshape(-1), high.view(flat_dtype).reshape(-1)
    else:
        flat_dtype = np.dtype(np.uint8)
        low = np.full(struct_dtype.itemsize, 0, dtype=np.uint8)
        high = np.full(struct_dtype.itemsize, 255, dtype=np.uint8)
    size = struct_dtype.itemsize // flat_dtype.itemsize
    flat = gymnasium.spaces.Box(low=low, high=high, shape=(size,), dtype=flat_dtype)
    return flat, struct_dtype


def _leaf_view(row: np.ndarray, leaf: Leaf) -> np.ndarray:
    """A view of one leaf inside a contiguous flat row (any dtype)."""
    raw = row.reshape(-1).view(np.uint8)
    return raw[leaf.offset:leaf.offset + leaf.nbytes].view(leaf.dtype).reshape(leaf.shape)


def _shape_of(value: Any) -> tuple:
    """``np.shape(value)``, cheaply for the common arrays and Python scalars."""
    if type(value) is np.ndarray:
        return value.shape
    if type(value) is int or type(value) is float:
        return ()
    return np.shape(value)


def _shape_error(obs: Any, shape: tuple, space: gymnasium.Space, who: str = "") -> APIUsageError:
    return APIUsageError(
        f"Observation{who} of shape {_shape_of(obs)} is not in the observation space {space}, "
        f"whose shape is {shape} (it is not broadcast). Fix the env so that its observations "
        "have the declared shape."
    )


def emulate(struct: np.ndarray, sample: Any, action_space: gymnasium.Space | None = None) -> None:
    """Write a nested ``sample`` into ``struct``, an array of the space's struct dtype.

    An observation is written as it is. For an action, pass its ``action_space``: the flat action
    space counts every ``Discrete``/``MultiDiscrete`` from 0 (``emulate_action_space``), so their
    ``start`` is removed, and the written row is a valid flat action.
    """
    if isinstance(sample, dict):
        for key, value in sample.items():
            sub = action_space[key] if action_space is not None else None
            emulate(struct[str(key)], value, sub)
    elif isinstance(sample, tuple):
        for i, value in enumerate(sample):
            emulate(struct[f"f{i}"], value, action_space[i] if action_space is not None else None)
    elif isinstance(action_space, (*spaces.Discrete, *spaces.MultiDiscrete)):
        struct[...] = np.asarray(sample) - np.asarray(action_space.start)
    else:
        struct[...] = sample


def _native_leaf(leaf: Leaf, value: np.ndarray) -> Any:
    if isinstance(leaf.space, spaces.Discrete):
        return int(value)
    return np.array(value, dtype=leaf.space.dtype).reshape(leaf.space.shape)


def _build(space: gymnasium.Space, values: dict[tuple, Any], path: tuple = ()) -> Any:
    if isinstance(space, spaces.Dict):
        return {key: _build(sub, values, (*path, key)) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(_build(sub, values, (*path, i)) for i, sub in enumerate(space.spaces))
    return values[path]


def nativize(flat: np.ndarray, space: gymnasium.Space, struct_dtype: np.dtype) -> Any:
    """Read one flat row back into the nested structure of ``space``.

    Dicts and tuples are rebuilt; ``Discrete`` leaves come back as Python ints, other
    leaves as new arrays of the leaf space's dtype and shape. A top-level ``Box``
    space returns ``flat`` itself.
    """
    if isinstance(space, spaces.Box):
        return flat
    row = np.ascontiguousarray(flat).reshape(-1)
    if row.nbytes != np.dtype(struct_dtype).itemsize:
        raise APIUsageError(
            f"nativize: a flat row of {row.nbytes} bytes does not hold one sample of "
            f"{space} ({np.dtype(struct_dtype).itemsize} bytes). Pass one row, not a batch."
        )
    values = {leaf.path: _native_leaf(leaf, _leaf_view(row, leaf))
              for leaf in leaf_layout(space, struct_dtype)}
    return _build(space, values)


def emulate_copy(sample: Any, obs_dtype: np.dtype, emulated_dtype: np.dtype) -> np.ndarray:
    """A new flat array of ``obs_dtype`` holding ``sample`` laid out as ``emulated_dtype``."""
    struct = np.zeros(1, dtype=emulated_dtype)
    emulate(struct, sample)
    return struct.view(obs_dtype).reshape(-1)


def make_buffer(observation_space: gymnasium.spaces.Box, num_agents: int = 1) -> Namespace:
    """Zeroed arrays for the shared-buffer contract, one row per agent.

    ``observations (n, *obs_shape)`` of the observation dtype, ``rewards (n,) float32``,
    ``terminals``, ``truncations``, ``masks (n,) bool``.
    """
    return namespace(
        observations=np.zeros((num_agents, *observation_space.shape), dtype=observation_space.dtype),
        rewards=np.zeros(num_agents, dtype=np.float32),
        terminals=np.zeros(num_agents, dtype=bool),
        truncations=np.zeros(num_agents, dtype=bool),
        masks=np.zeros(num_agents, dtype=bool),
    )


class ObservationWriter:
    """Writes native observations into one flat row through precomputed leaf views."""

    def __init__(self, space: gymnasium.Space, struct_dtype: np.dtype, row: np.ndarray):
        self.space = space
        self.row = row
        leaves = leaf_layout(space, struct_dtype)
        self._views = [(leaf.path, _leaf_view(row, leaf), leaf.shape) for leaf in leaves]

    def write(self, sample: Any) -> None:
        """Write ``sample``; a leaf of the wrong shape is an ``APIUsageError``, never broadcast."""
        try:
            for path, view, shape in self._views:
                value = sample
                for key in path:
                    value = value[key]
                if (value.shape if type(value) is np.ndarray else _shape_of(value)) != shape:
                    raise ValueError(f"leaf {list(path)} has shape {_shape_of(value)}, the space "
                                     f"declares {shape}")
                view[...] = value
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise APIUsageError(
                f"Observation {sample!r} does not fit the observation space {self.space}: {e}"
            ) from e
