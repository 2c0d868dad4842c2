"""Emulation: make any Gymnasium or PettingZoo env look "Atari-like".

Every agent sees one flat ``Box`` observation and takes one flat action
(``Discrete``, ``MultiDiscrete`` or ``Box``), whatever the nesting of the inner
env's spaces. Structured observations are laid out as a numpy structured dtype
(``align=True``: C struct layout, padding included); the flat observation is the raw
memory of that struct, viewed as its one shared leaf dtype or else as ``uint8``.
This layout is public: ``pufferlib.pytorch.nativize_dtype`` rebuilds it on the
model's device from the same offsets.

Per-step work is a loop over precomputed leaf views of preallocated buffers: no
dict building, no ``np.concatenate``.
"""

from __future__ import annotations

import functools
import inspect
import operator
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass as _dataclass
from typing import Any

import gymnasium
import numpy as np
from pettingzoo.utils.env import AECEnv, ParallelEnv

from pufferlib import spaces
from pufferlib.exceptions import APIUsageError, InvalidAgentError
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


def leaf_layout(space: gymnasium.Space, struct_dtype: np.dtype | None = None) -> list[Leaf]:
    """Byte offsets, dtypes and shapes of every leaf of ``space`` in ``struct_dtype``."""
    if struct_dtype is None:
        struct_dtype = dtype_from_space(space)
    leaves: list[Leaf] = []

    def walk(sub: gymnasium.Space, dtype: np.dtype, path: tuple, offset: int) -> None:
        if _is_composite(sub):
            for key, name, child in _children(sub):
                child_dtype, child_offset = dtype.fields[name][:2]
                walk(child, child_dtype, (*path, key), offset + child_offset)
            return
        base, shape = (dtype.subdtype if dtype.subdtype is not None else (dtype, ()))
        leaves.append(Leaf(path, sub, np.dtype(base), tuple(shape), offset))

    walk(space, np.dtype(struct_dtype), (), 0)
    return leaves


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


def emulate(struct: np.ndarray, sample: Any) -> None:
    """Write a nested ``sample`` into ``struct``, an array of the space's struct dtype."""
    if isinstance(sample, dict):
        for key, value in sample.items():
            emulate(struct[str(key)], value)
    elif isinstance(sample, tuple):
        for i, value in enumerate(sample):
            emulate(struct[f"f{i}"], value)
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
        self._views = [(leaf.path, _leaf_view(row, leaf)) for leaf in leaves]

    def write(self, sample: Any) -> None:
        try:
            for path, view in self._views:
                value = sample
                for key in path:
                    value = value[key]
                view[...] = value
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise APIUsageError(
                f"Observation {sample!r} does not fit the observation space {self.space}: {e}"
            ) from e


# --------------------------------------------------------------------------------------
# Actions


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
    return int(np.prod(space.shape, dtype=np.int64))


def _compile_nativizer(space: gymnasium.Space, start: int) -> tuple[Callable, int]:
    """A function ``(ints, array) -> native action`` for the flat entries from ``start``.

    ``array`` is the 1-D flat action and ``ints`` the same values as Python ints (for
    discrete flat spaces). Building the nested action is one closure call per node:
    no per-step dispatch on leaf types.
    """
    if _is_composite(space):
        children = _children(space)
        keys = [key for key, _, _ in children]
        if all(isinstance(child, spaces.Discrete) for _, _, child in children):
            # The common case (a Dict/Tuple of Discrete choices): one slice of the ints.
            end = start + len(children)
            offsets = [int(child.start) for _, _, child in children]
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
    shape, dtype = tuple(space.shape), space.dtype
    if isinstance(space, spaces.MultiDiscrete):
        offset = np.asarray(space.start, dtype=dtype)
        return (lambda ints, array: array[start:end].reshape(shape).astype(dtype) + offset), end
    return (lambda ints, array: array[start:end].reshape(shape).astype(dtype)), end


class ActionEmulator:
    """Converts flat actions into the inner env's native actions, and back.

    ``flat_space`` is what agents act in: ``Discrete``, ``MultiDiscrete`` or ``Box``.
    ``struct_dtype`` describes the flat action as a struct with the native nesting
    (one int64 or float32 element per flat entry).
    """

    def __init__(self, space: gymnasium.Space):
        self.space = space
        self.is_emulated = True
        self._kind = "composite"
        if isinstance(space, spaces.Box):
            self.flat_space, self.is_emulated, self._kind = space, False, "box"
        elif isinstance(space, spaces.Discrete):
            self.flat_space = gymnasium.spaces.Discrete(int(space.n))
            self._offset = int(space.start)
            self.is_emulated = self._offset != 0
            self._kind = "discrete"
        elif isinstance(space, spaces.MultiDiscrete) and np.asarray(space.nvec).ndim == 1:
            self.flat_space = gymnasium.spaces.MultiDiscrete(space.nvec)
            self._offset = np.asarray(space.start, dtype=space.dtype)
            self.is_emulated = bool(np.any(self._offset != 0))
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

        ``Box`` actions are checked for shape and a numeric dtype, not bounds:
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
            ok = (array.size == int(np.prod(space.shape)) and array.dtype != bool
                  and np.issubdtype(array.dtype, np.number))
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
            if isinstance(leaf, (*spaces.Discrete, *spaces.MultiDiscrete)):
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

    ``Discrete``/``MultiDiscrete`` (start 0) and ``Box`` pass through unchanged.
    Composites of discrete leaves become ``MultiDiscrete`` of the leaf sizes in leaf
    order (``MultiBinary(k)`` contributes ``k`` entries of size 2); composites of
    ``Box`` leaves become one flat float32 ``Box``; mixes raise ``APIUsageError``.
    """
    emulator = ActionEmulator(space)
    return emulator.flat_space, emulator.struct_dtype


# --------------------------------------------------------------------------------------
# Wrappers


def _make_env(env: Any, env_creator: Any, env_args: Sequence, env_kwargs: dict) -> Any:
    if (env is None) == (env_creator is None):
        raise ValueError("Pass exactly one of env (an instance) or env_creator (a callable).")
    if env is not None:
        if inspect.isclass(env) or inspect.isroutine(env) or isinstance(env, functools.partial):
            raise TypeError(
                f"env must be an environment instance, not {env!r}. "
                "Pass a class or function as env_creator instead."
            )
        return env
    if not callable(env_creator):
        raise TypeError(f"env_creator must be callable, got {env_creator!r}.")
    return env_creator(*env_args, **env_kwargs)


def _accepts_seed(reset: Callable) -> bool:
    try:
        parameters = inspect.signature(reset).parameters
    except (TypeError, ValueError):
        return True
    return "seed" in parameters or any(
        p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _reset_inner(env: Any, seed: int | None, options: dict | None, accepts_seed: bool) -> Any:
    kwargs: dict[str, Any] = {} if options is None else {"options": options}
    if seed is not None:
        if accepts_seed:
            kwargs["seed"] = seed
        else:
            warnings.warn(
                f"{type(env).__name__}.reset() takes no seed; seed={seed} was ignored.",
                stacklevel=3,
            )
    result = env.reset(**kwargs)
    if not isinstance(result, tuple) or len(result) != 2:
        raise APIUsageError(
            f"{type(env).__name__}.reset() returned {_describe(result)}, not (observation, info): "
            "pufferlib needs the Gymnasium / PettingZoo >= 1.24 API."
        )
    return result


def _describe(result: Any) -> str:
    if isinstance(result, tuple):
        return f"a tuple of {len(result)}"
    return f"a {type(result).__name__}"


def _check_step_result(env: Any, result: Any) -> None:
    if not isinstance(result, tuple) or len(result) != 5:
        raise APIUsageError(
            f"{type(env).__name__}.step() returned {_describe(result)}, not (observation, reward, "
            "terminated, truncated, info): pufferlib needs the Gymnasium / "
            "PettingZoo >= 1.24 API (the old 4-tuple `done` API is not supported)."
        )


def _check_native_observation(space: gymnasium.Space, obs: Any, who: str = "") -> None:
    try:
        ok = space.contains(obs)
    except Exception:  # noqa: BLE001 - a malformed value can make contains() raise anything
        ok = False
    if not ok:
        raise APIUsageError(
            f"Observation{who} {obs!r} is not in the observation space {space}. "
            "Fix the env so that its observations match its declared observation_space."
        )


class GymnasiumPufferEnv(gymnasium.Env):
    """A Gymnasium env with one flat observation and one flat action.

    Pass exactly one of ``env`` (an instance) or ``env_creator`` (called as
    ``env_creator(*env_args, **env_kwargs)``). Once a vector backend has injected
    ``buf``, observations returned by ``reset`` and ``step`` alias those buffers, which
    the next call overwrites: copy what you keep. Standalone, each call returns a
    fresh array. With ``check=True`` every observation and action is validated;
    otherwise only the first of each.
    """

    def __init__(self, env: Any = None, env_creator: Callable | None = None,
                 env_args: Sequence = (), env_kwargs: dict | None = None, *, check: bool = False):
        self.env = _make_env(env, env_creator, env_args, env_kwargs or {})
        self.check = check
        native_obs_space = self.env.observation_space
        self.single_observation_space, self.obs_dtype = emulate_observation_space(native_obs_space)
        self.observation_space = self.single_observation_space
        self._actions = ActionEmulator(self.env.action_space)
        self.single_action_space = self.action_space = self._actions.flat_space
        self.atn_dtype = self._actions.struct_dtype
        self.is_obs_emulated = not isinstance(native_obs_space, spaces.Box)
        self.is_atn_emulated = self._actions.is_emulated
        self.emulated = namespace(
            observation_dtype=self.single_observation_space.dtype,
            emulated_observation_dtype=self.obs_dtype,
            observation_space=native_obs_space,
            action_space=self.env.action_space,
        )
        self.num_agents = 1
        self.buf: Namespace | None = None
        self.done = False
        self._accepts_seed = _accepts_seed(self.env.reset)
        self._next_seed: int | None = None
        self._nativize = None if self._actions._kind == "box" else self._actions.nativize
        # A Python int is already the native action of an offset-free Discrete space: the
        # vector backends pass exactly that, so their step skips the conversion call.
        self._int_actions_native = self._actions._kind == "discrete" and self._actions._offset == 0
        self._reset_checked = False
        self._step_checked = False
        # True while step() must take the careful path: before reset, after done, on the
        # first step (its action and observation are validated) and always with check=True.
        self._slow_step = True
        self._unbind()

    @property
    def render_mode(self) -> str | None:
        return getattr(self.env, "render_mode", None)

    @property
    def metadata(self) -> dict:
        return getattr(self.env, "metadata", {"render_modes": []})

    def __getstate__(self) -> dict:
        # Memoryviews do not pickle; __setstate__ rebuilds them with the rest of the binding.
        state = self.__dict__.copy()
        state["_scalar_slots"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        # Pickling copies the buffers, so the writer's views no longer alias them: rebind.
        self.__dict__.update(state)
        if self._bound is not None:
            self._unbind()
            self._bind_buffers()

    def seed(self, seed: int | None) -> None:
        """Seed the inner env at the next ``reset`` that is not given a seed itself."""
        self._next_seed = seed

    def _unbind(self) -> None:
        self._bound: Namespace | None = None  # the arrays results go into: buf or private ones
        self._bound_buf: Namespace | None = None  # the buf they belong to (None: private)
        self._obs_row: np.ndarray | None = None
        self._box_row: np.ndarray | None = None  # Box observations copied into buf: their row
        self._writer: ObservationWriter | None = None
        self._scalar_slots: tuple | None = None

    def _bind_buffers(self) -> None:
        """Adopt ``self.buf`` (or private buffers) as the arrays results are written into."""
        buf = self.buf
        if self._bound is not None and self._bound_buf is buf:
            return
        self._unbind()
        self._bound = buf if buf is not None else make_buffer(self.single_observation_space)
        self._bound_buf = buf
        self._obs_row = self._bound.observations[0]
        if self.is_obs_emulated:
            self._writer = ObservationWriter(self.emulated.observation_space, self.obs_dtype,
                                             self._obs_row)
        elif buf is not None:
            self._box_row = self._obs_row
        if buf is not None:
            # Writing a Python scalar through a memoryview costs a third of a numpy item
            # assignment, and the reward and both flags are written on every step.
            try:
                self._scalar_slots = (memoryview(buf.rewards), memoryview(buf.terminals),
                                      memoryview(buf.truncations), memoryview(buf.masks))
            except (TypeError, ValueError, BufferError):
                self._scalar_slots = None

    def _write_results(self, reward: Any, terminal: Any, truncated: Any, mask: bool = True) -> None:
        """The scalar results of one step (or reset) into ``buf``, if one is bound."""
        slots = self._scalar_slots
        if slots is not None:
            try:
                slots[0][0] = reward
                slots[1][0] = terminal
                slots[2][0] = truncated
                slots[3][0] = mask
                return
            except (TypeError, ValueError, OverflowError):
                pass  # numpy casts what the memoryview's struct format refuses
        buf = self.buf
        if buf is not None:
            buf.rewards[0] = reward
            buf.terminals[0] = terminal
            buf.truncations[0] = truncated
            buf.masks[0] = mask

    def _emit_observation(self, native_obs: Any, check: bool) -> Any:
        """Validate if asked, write the observation, and return what the caller sees."""
        if check:
            _check_native_observation(self.emulated.observation_space, native_obs)
        if self._writer is not None:
            self._writer.write(native_obs)
            return self._obs_row if self.buf is not None else self._obs_row.copy()
        if self._box_row is not None:
            self._write_box(native_obs)
        return native_obs

    def _write_box(self, native_obs: Any) -> None:
        try:
            self._box_row[...] = native_obs
        except (TypeError, ValueError) as e:
            _check_native_observation(self.emulated.observation_space, native_obs)
            raise APIUsageError(f"Observation {native_obs!r} could not be written: {e}") from e

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        self._bind_buffers()
        if seed is None:
            seed, self._next_seed = self._next_seed, None
        if seed is not None:
            super().reset(seed=seed)  # Gymnasium convention: the wrapper's np_random is seeded too
        native_obs, info = _reset_inner(self.env, seed, options, self._accepts_seed)
        obs = self._emit_observation(native_obs, self.check or not self._reset_checked)
        self._reset_checked = True
        self._write_results(0.0, False, False)
        self.done = False
        self._slow_step = self.check or not self._step_checked
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        # The fast path: after the first checked step, without check=True, with the
        # buffers bound at reset. Everything else goes through _careful_step.
        if self._slow_step or self.buf is not self._bound_buf:
            return self._careful_step(action)
        if type(action) is not int or not self._int_actions_native:
            nativize = self._nativize
            if nativize is not None:
                action = nativize(action)
        native_obs, reward, terminal, truncated, info = self.env.step(action)
        row = self._box_row
        if row is not None:
            try:
                row[...] = native_obs
            except (TypeError, ValueError):
                self._write_box(native_obs)  # raises the helpful error
            obs = native_obs
        elif self._writer is not None:
            self._writer.write(native_obs)
            obs = self._obs_row if self.buf is not None else self._obs_row.copy()
        else:
            obs = native_obs
        slots = self._scalar_slots
        if slots is not None:
            try:
                slots[0][0] = reward
                slots[1][0] = terminal
                slots[2][0] = truncated
            except (TypeError, ValueError, OverflowError):
                self._write_results(reward, terminal, truncated)
        if terminal or truncated:
            self.done = True
            self._slow_step = True
        return obs, reward, terminal, truncated, info

    def _careful_step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        """``step`` with the call-order checks, and the action, result and observation
        validated on the first step (every step with ``check=True``)."""
        if self._bound is None:
            raise APIUsageError("step() called before reset()")
        if self.done:
            raise APIUsageError("step() called after environment is done")
        self._bind_buffers()  # a buf injected since reset
        check = self.check or not self._step_checked
        if check:
            self._actions.check(action)
        nativize = self._nativize
        result = self.env.step(action if nativize is None else nativize(action))
        if check:
            _check_step_result(self.env, result)
        native_obs, reward, terminal, truncated, info = result
        obs = self._emit_observation(native_obs, check)
        self._step_checked = True
        if self.buf is not None:
            self._write_results(reward, terminal, truncated)
        if terminal or truncated:
            self.done = True
        self._slow_step = self.check or self.done
        return obs, reward, terminal, truncated, info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


class PettingZooPufferEnv(ParallelEnv):
    """A PettingZoo parallel env whose agents all see flat observations and act flat.

    Outputs always hold one entry per possible agent: an agent absent from the inner
    env's output has an all-zero observation, reward 0, terminal True, truncation
    False and mask False. ``actions`` is a dict by agent or an array in
    ``possible_agents`` order; actions for agents that are not alive are dropped.
    Once a vector backend has injected ``buf``, returned observations alias those
    buffers, which the next call overwrites; standalone, each call returns fresh arrays.
    """

    def __init__(self, env: Any = None, env_creator: Callable | None = None,
                 env_args: Sequence = (), env_kwargs: dict | None = None,
                 to_puffer: bool = False, *, check: bool = False):
        env = _make_env(env, env_creator, env_args, env_kwargs or {})
        if not hasattr(env, "possible_agents"):
            raise APIUsageError(f"{type(env).__name__} is not a PettingZoo env (no possible_agents).")
        if _is_aec(env):
            from pettingzoo.utils.conversions import aec_to_parallel

            env = aec_to_parallel(env)
        self.env = env
        self.to_puffer = to_puffer
        self.check = check
        self._possible_agents = list(env.possible_agents)
        if not self._possible_agents:
            raise APIUsageError(f"{type(env).__name__} has no possible_agents.")
        self._num_agents = len(self._possible_agents)
        self._agent_index = {agent: i for i, agent in enumerate(self._possible_agents)}
        native_obs_space = self._shared_space(env.observation_space, "observation")
        native_atn_space = self._shared_space(env.action_space, "action")
        self.single_observation_space, self.obs_dtype = emulate_observation_space(native_obs_space)
        self._actions = ActionEmulator(native_atn_space)
        self.single_action_space = self._actions.flat_space
        self.atn_dtype = self._actions.struct_dtype
        self.is_obs_emulated = not isinstance(native_obs_space, spaces.Box)
        self.is_atn_emulated = self._actions.is_emulated
        self.emulated = namespace(
            observation_dtype=self.single_observation_space.dtype,
            emulated_observation_dtype=self.obs_dtype,
            observation_space=native_obs_space,
            action_space=native_atn_space,
        )
        self.observation_spaces = dict.fromkeys(self._possible_agents, self.single_observation_space)
        self.action_spaces = dict.fromkeys(self._possible_agents, self.single_action_space)
        self.buf: Namespace | None = None
        self._bound: Namespace | None = None
        self._writers: list[ObservationWriter] | None = None
        self._accepts_seed = _accepts_seed(env.reset)
        self._done = False
        self._reset_called = False
        self._observations_checked = False
        self._actions_checked = False
        self._steps_checked = False

    def _shared_space(self, space_fn: Callable, kind: str) -> gymnasium.Space:
        spaces_by_agent = {agent: space_fn(agent) for agent in self._possible_agents}
        first = spaces_by_agent[self._possible_agents[0]]
        different = [agent for agent, space in spaces_by_agent.items() if space != first]
        if different:
            raise APIUsageError(
                f"Agents {different} have a different {kind} space from "
                f"{self._possible_agents[0]!r} ({first}). PettingZooPufferEnv needs one shared "
                f"{kind} space: pad the spaces to a common one (e.g. supersuit's pad_{kind}s)."
            )
        return first

    @property
    def render_mode(self) -> str | None:
        return getattr(self.env, "render_mode", None)

    @property
    def metadata(self) -> dict:
        return getattr(self.env, "metadata", {"render_modes": []})

    def __setstate__(self, state: dict) -> None:
        # Pickling copies the buffers, so the writers' views no longer alias them: rebind.
        self.__dict__.update(state)
        if self._bound is not None:
            self._bound = None
            self._bind_buffers()

    @property
    def agents(self) -> list:
        return list(self.env.agents)

    @property
    def possible_agents(self) -> list:
        return self._possible_agents

    @property
    def num_agents(self) -> int:
        return self._num_agents

    @property
    def done(self) -> bool:
        return self._done

    def observation_space(self, agent: Any) -> gymnasium.spaces.Box:
        if agent not in self._agent_index:
            raise InvalidAgentError(agent, self._possible_agents)
        return self.single_observation_space

    def action_space(self, agent: Any) -> gymnasium.Space:
        if agent not in self._agent_index:
            raise InvalidAgentError(agent, self._possible_agents)
        return self.single_action_space

    def _bind_buffers(self) -> None:
        if self._bound is not None and self._bound is self.buf:
            return
        self._bound = self.buf if self.buf is not None else make_buffer(
            self.single_observation_space, self._num_agents)
        self._obs_rows = list(self._bound.observations)
        if self.is_obs_emulated:
            self._writers = [ObservationWriter(self.emulated.observation_space, self.obs_dtype, row)
                             for row in self._obs_rows]

    def _write(self, native_obs: dict, rewards: dict, terminals: dict, truncations: dict) -> None:
        """Write one row per possible agent: real data if present, else zeros and mask False."""
        index, agents = self._agent_index, self._possible_agents
        if self.check or not self._observations_checked:
            for agent, obs in native_obs.items():
                if agent not in index:
                    raise InvalidAgentError(agent, agents)
                _check_native_observation(self.emulated.observation_space, obs, f" of agent {agent!r}")
            self._observations_checked = True
        writers, rows = self._writers, self._obs_rows
        try:
            for agent, obs in native_obs.items():
                if writers is not None:
                    writers[index[agent]].write(obs)
                else:
                    rows[index[agent]][...] = obs
        except KeyError:
            raise InvalidAgentError(next(a for a in native_obs if a not in index), agents) from None
        except (TypeError, ValueError) as e:
            raise APIUsageError(
                f"Observations {native_obs!r} do not fit the observation space "
                f"{self.emulated.observation_space}: {e}") from e
        # Per-agent values go in as one list per array: one numpy call instead of one per agent.
        bound = self._bound
        if len(native_obs) == self._num_agents:
            bound.masks[...] = True
            bound.rewards[...] = [rewards.get(agent, 0.0) for agent in agents]
            bound.terminals[...] = [terminals.get(agent, False) for agent in agents]
            bound.truncations[...] = [truncations.get(agent, False) for agent in agents]
            return
        present = [agent in native_obs for agent in agents]
        for row, alive in zip(rows, present):
            if not alive:
                row[...] = 0
        bound.masks[...] = present
        pairs = list(zip(agents, present))
        bound.rewards[...] = [rewards.get(agent, 0.0) if alive else 0.0 for agent, alive in pairs]
        bound.terminals[...] = [terminals.get(agent, False) if alive else True for agent, alive in pairs]
        bound.truncations[...] = [truncations.get(agent, False) and alive for agent, alive in pairs]

    def _outputs(self) -> dict:
        rows = self._obs_rows if self.buf is not None else self._bound.observations.copy()
        return dict(zip(self._possible_agents, rows))

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self._bind_buffers()
        native_obs, native_infos = _reset_inner(self.env, seed, options, self._accepts_seed)
        self._write(native_obs, {}, {}, {})
        self._done = len(native_obs) == 0
        self._reset_called = True
        infos = {agent: native_infos.get(agent, {}) for agent in self._possible_agents}
        return self._outputs(), infos

    def _native_actions(self, actions: Any) -> dict:
        alive = self.env.agents
        index = self._agent_index
        check = self.check or not self._actions_checked
        if isinstance(actions, dict):
            for agent in actions:
                if agent not in index:
                    raise InvalidAgentError(agent, self._possible_agents)
            rows = {agent: actions[agent] for agent in alive if agent in actions}
            if check:
                for row in rows.values():
                    self._actions.check(row)
                self._actions_checked = True
            nativize = self._actions.nativize
            return {agent: nativize(row) for agent, row in rows.items()}
        array = np.asarray(actions)
        if array.ndim == 0 or len(array) != self._num_agents:
            raise APIUsageError(
                f"Got an action array of shape {array.shape}, expected {self._num_agents} rows "
                "(one per possible agent, in possible_agents order) or a dict by agent."
            )
        if check:
            for agent in alive:
                self._actions.check(array[index[agent]])
            self._actions_checked = True
        native = self._actions.nativize_rows(array)
        return {agent: native[index[agent]] for agent in alive}

    def step(self, actions: Any) -> tuple[dict, dict, dict, dict, dict]:
        if not self._reset_called:
            raise APIUsageError("step() called before reset()")
        if self._done:
            raise APIUsageError("step() called after environment is done")
        result = self.env.step(self._native_actions(actions))
        if self.check or not self._steps_checked:
            _check_step_result(self.env, result)
            self._steps_checked = True
        native_obs, rewards, terminals, truncations, native_infos = result
        self._write(native_obs, rewards, terminals, truncations)
        self._done = not self.env.agents or all(
            terminals.get(agent) or truncations.get(agent) for agent in native_obs)
        bound, agents = self._bound, self._possible_agents
        return (
            self._outputs(),
            dict(zip(agents, bound.rewards.tolist())),
            dict(zip(agents, bound.terminals.tolist())),
            dict(zip(agents, bound.truncations.tolist())),
            {agent: native_infos.get(agent, {}) for agent in agents},
        )

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def state(self) -> np.ndarray:
        return self.env.state()


def _is_aec(env: Any) -> bool:
    return isinstance(env, AECEnv)
