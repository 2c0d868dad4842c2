"""Action flattening (spec 2.2): native nested actions <-> one flat action."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

from pufferlib import spaces
from pufferlib.emulation.layout import DISCRETE_LEAVES, _children, _is_composite, flatten_space
from pufferlib.exceptions import APIUsageError


def _float32_bounds(space: gymnasium.spaces.Box) -> tuple[np.ndarray, np.ndarray]:
    """``space``'s bounds as float32, rounded inward so float32 values stay inside ``space``."""
    low64 = np.asarray(space.low, np.float64).reshape(-1)
    high64 = np.asarray(space.high, np.float64).reshape(-1)
    low, high = low64.astype(np.float32), high64.astype(np.float32)
    inner_low = np.where(low < low64, np.nextafter(low, np.float32(np.inf)), low)
    inner_high = np.where(high > high64, np.nextafter(high, np.float32(-np.inf)), high)
    # An interval too narrow to hold any float32 keeps the nearest float32 instead.
    empty = inner_low > inner_high
    return np.where(empty, low, inner_low), np.where(empty, low, inner_high)


def _action_leaf_size(space: gymnasium.Space) -> int:
    """How many entries of the flat action one leaf takes."""
    if isinstance(space, spaces.Discrete):
        return 1
    return int(np.prod(spaces.space_shape(space), dtype=np.int64))


def _compile_nativizer(space: gymnasium.Space, start: int) -> tuple[Callable, int]:
    """A function ``(ints, array) -> native action`` for the flat entries from ``start``.

    ``array`` is the 1-D flat action and ``ints`` the same values as Python ints (for
    discrete flat spaces). Building the nested action is one closure call per node:
    no per-step dispatch on leaf types.
    """
    if _is_composite(space):
        children = _children(space)
        keys = [key for key, _, _ in children]
        discretes = [child for _, _, child in children if isinstance(child, spaces.Discrete)]
        if len(discretes) == len(children):
            # The common case (a Dict/Tuple of Discrete choices): one slice of the ints.
            end = start + len(children)
            offsets = [int(child.start) for child in discretes]
            if any(offsets):
                values = lambda ints: [v + o for v, o in zip(ints[start:end], offsets)]
            else:
                values = lambda ints: ints[start:end]
            if isinstance(space, spaces.Dict):
                return (lambda ints, array: dict(zip(keys, values(ints)))), end
            return (lambda ints, array: tuple(values(ints))), end
        builders = []
        for _, _, child in children:
            build, start = _compile_nativizer(child, start)
            builders.append(build)
        if isinstance(space, spaces.Dict):
            pairs = list(zip(keys, builders))
            return (lambda ints, array: {key: build(ints, array) for key, build in pairs}), start
        return (lambda ints, array: tuple([build(ints, array) for build in builders])), start

    end = start + _action_leaf_size(space)
    if isinstance(space, spaces.Discrete):
        offset = int(space.start)
        return (lambda ints, array: ints[start] + offset), end
    shape, dtype = spaces.space_shape(space), space.dtype
    if isinstance(space, spaces.MultiDiscrete):
        starts = np.asarray(space.start, dtype=dtype)
        return (lambda ints, array: array[start:end].reshape(shape).astype(dtype) + starts), end
    return (lambda ints, array: array[start:end].reshape(shape).astype(dtype)), end


class ActionEmulator:
    """Converts flat actions into the inner env's native actions, and back.

    ``flat_space`` is what agents act in: ``Discrete``, ``MultiDiscrete`` or ``Box``.
    ``struct_dtype`` describes the flat action as a struct with the native nesting
    (one int64 or float32 element per flat entry).
    """

    flat_space: gymnasium.Space
    _offset: int | np.ndarray

    def __init__(self, space: gymnasium.Space):
        self.space = space
        self.is_emulated = True
        self._kind = "composite"
        if isinstance(space, spaces.Box):
            self.flat_space, self.is_emulated, self._kind = space, False, "box"
        elif isinstance(space, spaces.Discrete):
            self._offset = int(space.start)
            self.is_emulated = self._offset != 0
            # Passed through as the very same object (spec 2.2) unless a start must be removed.
            passthrough = not self.is_emulated and isinstance(space, gymnasium.spaces.Discrete)
            self.flat_space = space if passthrough else gymnasium.spaces.Discrete(int(space.n))
            self._kind = "discrete"
        elif isinstance(space, spaces.MultiDiscrete) and np.asarray(space.nvec).ndim == 1:
            self._offset = np.asarray(space.start, dtype=space.dtype)
            self.is_emulated = bool(np.any(self._offset != 0))
            passthrough = not self.is_emulated and isinstance(space, gymnasium.spaces.MultiDiscrete)
            self.flat_space = space if passthrough else gymnasium.spaces.MultiDiscrete(space.nvec)
            self._kind = "multidiscrete"
        else:
            self._init_composite(space)
        self.struct_dtype = self._struct_dtype(space)

    def _init_composite(self, space: gymnasium.Space) -> None:
        leaves = flatten_space(space)
        discrete = [leaf for leaf in leaves if isinstance(leaf, DISCRETE_LEAVES)]
        boxes = [leaf for leaf in leaves if isinstance(leaf, spaces.Box)]
        if discrete and boxes:
            raise APIUsageError(
                f"Action space {space} mixes discrete leaves {discrete} with continuous leaves "
                f"{boxes}. pufferlib supports all-discrete or all-Box action spaces; split the "
                "hybrid action into separate discrete and continuous policies."
            )
        if boxes:
            bounds = [_float32_bounds(box) for box in boxes]
            low = np.concatenate([low for low, _ in bounds])
            high = np.concatenate([high for _, high in bounds])
            self.flat_space = gymnasium.spaces.Box(low=low, high=high, dtype=np.float32)
        else:
            nvec: list[int] = []
            for leaf in discrete:
                if isinstance(leaf, spaces.Discrete):
                    nvec.append(int(leaf.n))
                elif isinstance(leaf, spaces.MultiDiscrete):
                    nvec.extend(np.asarray(leaf.nvec).reshape(-1).tolist())
                else:
                    nvec.extend([2] * _action_leaf_size(leaf))
            self.flat_space = gymnasium.spaces.MultiDiscrete(nvec)
        self._build, _ = _compile_nativizer(space, 0)
        self._discrete_flat = not boxes

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_build"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._kind == "composite":
            self._build, _ = _compile_nativizer(self.space, 0)

    def _struct_dtype(self, space: gymnasium.Space) -> np.dtype:
        if not _is_composite(space):
            return np.dtype(self.flat_space.dtype)
        element = np.dtype(np.float32 if isinstance(self.flat_space, spaces.Box) else np.int64)

        def build(sub: gymnasium.Space) -> np.dtype:
            if _is_composite(sub):
                return np.dtype([(name, build(child)) for _, name, child in _children(sub)])
            shape = () if isinstance(sub, spaces.Discrete) else (_action_leaf_size(sub),)
            return np.dtype((element, shape))

        return build(space)

    def check(self, action: Any) -> None:
        """Raise ``APIUsageError`` unless ``action`` is in the flat action space.

        ``Box`` actions are checked for shape, a numeric dtype and NaN, not bounds:
        continuous policies sample outside them and envs clip.
        """
        try:
            array = np.asarray(action)
        except (TypeError, ValueError):
            array = np.asarray(None)
        space = self.flat_space
        integer = np.issubdtype(array.dtype, np.integer)
        if isinstance(space, spaces.Discrete):
            ok = array.size == 1 and integer and 0 <= int(array.reshape(-1)[0]) < space.n
        elif isinstance(space, spaces.MultiDiscrete):
            ok = (array.size == space.nvec.size and integer
                  and bool(np.all((array.reshape(space.nvec.shape) >= 0)
                                  & (array.reshape(space.nvec.shape) < space.nvec))))
        else:
            ok = (array.size == int(np.prod(spaces.space_shape(space))) and array.dtype != bool
                  and np.issubdtype(array.dtype, np.number))
            if ok and np.isnan(array).any():
                raise APIUsageError(
                    f"Action {action!r} contains NaN, which no env can act on: the policy produced "
                    "NaN (diverged training, e.g. a learning rate too high, or NaN observations)."
                )
        if not ok:
            raise APIUsageError(
                f"Action {action!r} (dtype {array.dtype}, shape {array.shape}) is not in the "
                f"action space {space}."
            )

    def nativize(self, action: Any) -> Any:
        """The native action for a flat ``action`` (any integer dtype, any layout)."""
        kind = self._kind
        if kind == "discrete":
            try:
                return operator.index(action) + self._offset
            except TypeError:
                return int(np.asarray(action).reshape(-1)[0]) + self._offset
        if kind == "box":
            return action
        if type(action) is not np.ndarray or action.ndim != 1:
            action = np.asarray(action).reshape(-1)
        if kind == "multidiscrete":
            if self.is_emulated or action.dtype.kind not in "iu":
                return action.astype(self.space.dtype) + self._offset
            return action
        return self._build(action.tolist() if self._discrete_flat else None, action)

    def nativize_rows(self, actions: np.ndarray) -> list:
        """Native actions for a batch of flat actions, one per row of ``actions``."""
        kind = self._kind
        if kind == "box":
            return list(actions)
        rows = np.asarray(actions).reshape(len(actions), -1)
        if kind == "discrete":
            offset = self._offset
            return [value + offset for value in rows[:, 0].tolist()]
        if kind == "multidiscrete":
            if self.is_emulated or rows.dtype.kind not in "iu":
                rows = rows.astype(self.space.dtype) + self._offset
            return list(rows)
        build = self._build
        if not self._discrete_flat:
            return [build(None, row) for row in rows]
        return [build(ints, row) for ints, row in zip(rows.tolist(), rows)]

    def flatten(self, native: Any) -> np.ndarray | int:
        """The flat action for a ``native`` action: the inverse of ``nativize``."""
        kind = self._kind
        if kind == "discrete":
            return int(native) - self._offset
        if kind == "box":
            return native
        if kind == "multidiscrete":
            return np.asarray(native, dtype=np.int64) - self._offset
        parts = []
        for leaf, value in zip(flatten_space(self.space), _flatten_sample(self.space, native)):
            value = np.asarray(value).reshape(-1)
            if isinstance(leaf, (spaces.Discrete, spaces.MultiDiscrete)):
                value = value - np.asarray(leaf.start).reshape(-1)
            parts.append(value)
        return np.concatenate(parts).astype(self.flat_space.dtype)


def _flatten_sample(space: gymnasium.Space, sample: Any) -> list[Any]:
    """The leaf values of ``sample``, depth first in the space's order."""
    if _is_composite(space):
        return [value for key, _, sub in _children(space) for value in _flatten_sample(sub, sample[key])]
    return [sample]


def emulate_action_space(space: gymnasium.Space) -> tuple[gymnasium.Space, np.dtype]:
    """``(flat action space, struct dtype)`` for an action space.

    ``Discrete``/``MultiDiscrete`` (start 0) and ``Box`` pass through unchanged: the very
    same object is returned. A nonzero ``start`` is removed (the flat space starts at 0)
    and added back on the way to the inner env.
    Composites of discrete leaves become ``MultiDiscrete`` of the leaf sizes in leaf
    order (``MultiBinary(k)`` contributes ``k`` entries of size 2); composites of
    ``Box`` leaves become one flat float32 ``Box``; mixes raise ``APIUsageError``.
    """
    emulator = ActionEmulator(space)
    return emulator.flat_space, emulator.struct_dtype
