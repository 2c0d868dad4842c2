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

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass as _dataclass
from typing import Any

import gymnasium
import numpy as np

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
    leaf_dtypes = {leaf.dtype for leaf in leaves}
    if len(leaf_dtypes) == 1:
        flat_dtype = leaf_dtypes.pop()
        low = np.zeros(1, dtype=struct_dtype)
        high = np.zeros(1, dtype=struct_dtype)
        for leaf in leaves:
            leaf_low, leaf_high = _leaf_bounds(leaf)
            _leaf_view(low, leaf)[...] = leaf_low
            _leaf_view(high, leaf)[...] = leaf_high
        low, high = low.view(flat_dtype), high.view(flat_dtype)
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


def _get(sample: Any, path: tuple) -> Any:
    for key in path:
        sample = sample[key]
    return sample


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


class ActionEmulator:
    """Converts flat actions into the inner env's native actions.

    ``flat_space`` is what agents act in: ``Discrete``, ``MultiDiscrete`` or ``Box``.
    """

    def __init__(self, space: gymnasium.Space):
        self.space = space
        self.is_emulated = True
        self._offset = None
        if isinstance(space, spaces.Box):
            self.flat_space, self.is_emulated = space, False
        elif isinstance(space, spaces.Discrete):
            start = int(space.start)
            self.flat_space = gymnasium.spaces.Discrete(int(space.n))
            self.is_emulated = start != 0
            self._offset = start
        elif isinstance(space, spaces.MultiDiscrete) and np.asarray(space.nvec).ndim == 1:
            start = np.asarray(space.start)
            self.flat_space = gymnasium.spaces.MultiDiscrete(space.nvec)
            self.is_emulated = bool(np.any(start != 0))
            self._offset = start
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
        # (path, leaf space, start index in the flat action, number of entries)
        self._slots: list[tuple[tuple, gymnasium.Space, int, int]] = []
        index = 0
        for leaf in leaf_layout(space, dtype_from_space(space)):
            count = 1 if isinstance(leaf.space, spaces.Discrete) else int(np.prod(leaf.space.shape))
            self._slots.append((leaf.path, leaf.space, index, count))
            index += count
        if boxes:
            low = np.concatenate([np.asarray(b.low, np.float32).reshape(-1) for b in boxes])
            high = np.concatenate([np.asarray(b.high, np.float32).reshape(-1) for b in boxes])
            self.flat_space = gymnasium.spaces.Box(low=low, high=high, dtype=np.float32)
        else:
            nvec = []
            for leaf in discrete:
                if isinstance(leaf, spaces.Discrete):
                    nvec.append(int(leaf.n))
                elif isinstance(leaf, spaces.MultiDiscrete):
                    nvec.extend(np.asarray(leaf.nvec).reshape(-1).tolist())
                else:
                    nvec.extend([2] * int(np.prod(leaf.shape)))
            self.flat_space = gymnasium.spaces.MultiDiscrete(nvec)

    def _struct_dtype(self, space: gymnasium.Space) -> np.dtype:
        """The struct of the flat action: one int64 (or float32) per flat entry."""
        if not _is_composite(space):
            return np.dtype(self.flat_space.dtype)
        element = np.dtype(np.float32 if isinstance(self.flat_space, spaces.Box) else np.int64)

        def build(sub: gymnasium.Space) -> np.dtype:
            if _is_composite(sub):
                return np.dtype([(name, build(child)) for _, name, child in _children(sub)])
            shape = () if isinstance(sub, spaces.Discrete) else (int(np.prod(sub.shape)),)
            return np.dtype((element, shape))

        return build(space)

    def check(self, action: Any) -> None:
        """Raise ``APIUsageError`` if ``action`` is not in the flat action space."""
        array = np.asarray(action)
        space = self.flat_space
        ok = True
        if isinstance(space, spaces.Discrete):
            ok = (array.size == 1 and np.issubdtype(array.dtype, np.integer)
                  and 0 <= int(array.reshape(-1)[0]) < space.n)
        elif isinstance(space, spaces.MultiDiscrete):
            ok = (array.shape == space.shape and np.issubdtype(array.dtype, np.integer)
                  and bool(np.all((array >= 0) & (array < space.nvec))))
        elif isinstance(space, spaces.Box):
            ok = array.shape == space.shape and np.issubdtype(array.dtype, np.number)
        if not ok:
            raise APIUsageError(
                f"Action {action!r} (dtype {array.dtype}, shape {array.shape}) is not in the "
                f"action space {space}."
            )

    def nativize(self, action: Any) -> Any:
        """The native action for a flat ``action`` (any integer dtype, any layout)."""
        if not self.is_emulated:
            return action
        if self._offset is not None:
            if isinstance(self.flat_space, spaces.Discrete):
                return int(np.asarray(action).reshape(-1)[0]) + self._offset
            return np.asarray(action, dtype=np.int64) + self._offset
        flat = np.asarray(action).reshape(-1)
        values = {}
        for path, leaf, start, count in self._slots:
            if isinstance(leaf, spaces.Discrete):
                values[path] = int(flat[start]) + int(leaf.start)
            elif isinstance(leaf, spaces.MultiDiscrete):
                chunk = flat[start:start + count].reshape(leaf.shape)
                values[path] = (chunk + leaf.start).astype(leaf.dtype)
            else:
                values[path] = flat[start:start + count].reshape(leaf.shape).astype(leaf.dtype)
        return _build(self.space, values)


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
        if inspect.isclass(env) or inspect.isfunction(env):
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


def _reset_inner(env: Any, seed: int | None, accepts_seed: bool) -> Any:
    if seed is None:
        return env.reset()
    if not accepts_seed:
        warnings.warn(
            f"{type(env).__name__}.reset() takes no seed; seed={seed} was ignored.",
            stacklevel=3,
        )
        return env.reset()
    return env.reset(seed=seed)


class GymnasiumPufferEnv(gymnasium.Env):
    """A Gymnasium env with one flat observation and one flat action.

    Pass exactly one of ``env`` (an instance) or ``env_creator`` (called as
    ``env_creator(*env_args, **env_kwargs)``). Observations returned by ``reset`` and
    ``step`` may alias internal buffers that the next call overwrites: copy what you
    keep. With ``check=True`` every observation and action is validated; otherwise
    only the first of each.
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
        self._buffers: Namespace | None = None
        self._writer: ObservationWriter | None = None
        self._accepts_seed = _accepts_seed(self.env.reset)
        self._next_seed: int | None = None
        self._steps_checked = 0
        self._resets_checked = 0

    @property
    def render_mode(self) -> str | None:
        return getattr(self.env, "render_mode", None)

    def seed(self, seed: int | None) -> None:
        """Seed the inner env at the next ``reset`` that is not given a seed itself."""
        self._next_seed = seed

    def _bind_buffers(self) -> None:
        if self._buffers is self.buf and self._buffers is not None:
            return
        self._buffers = self.buf if self.buf is not None else make_buffer(self.single_observation_space)
        if self.is_obs_emulated:
            self._writer = ObservationWriter(self.emulated.observation_space, self.obs_dtype,
                                             self._buffers.observations[0])

    def _emit_observation(self, native_obs: Any, checked: bool) -> Any:
        if self._writer is not None:
            self._writer.write(native_obs)
            return self._buffers.observations[0]
        if self.buf is not None:
            self._buffers.observations[0] = native_obs
        if self.check or not checked:
            self._check_box_observation(native_obs)
        return native_obs

    def _check_box_observation(self, obs: Any) -> None:
        space = self.single_observation_space
        array = np.asarray(obs)
        if array.shape != space.shape or not space.contains(array.astype(space.dtype, copy=False)):
            raise APIUsageError(
                f"Observation {obs!r} (shape {array.shape}) is not in the observation space {space}."
            )

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        self._bind_buffers()
        if seed is None:
            seed, self._next_seed = self._next_seed, None
        native_obs, info = _reset_inner(self.env, seed, self._accepts_seed)
        obs = self._emit_observation(native_obs, self._resets_checked > 0)
        self._resets_checked += 1
        buffers = self._buffers
        buffers.rewards[0] = 0.0
        buffers.terminals[0] = False
        buffers.truncations[0] = False
        buffers.masks[0] = True
        self.done = False
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        if self._buffers is None:
            raise APIUsageError("step() called before reset()")
        if self.done:
            raise APIUsageError("step() called after environment is done")
        if self.check or self._steps_checked == 0:
            self._actions.check(action)
        self._steps_checked += 1
        native_obs, reward, terminal, truncated, info = self.env.step(self._actions.nativize(action))
        obs = self._emit_observation(native_obs, self._steps_checked > 1)
        buffers = self._buffers
        buffers.rewards[0] = reward
        buffers.terminals[0] = terminal
        buffers.truncations[0] = truncated
        self.done = bool(terminal or truncated)
        return obs, reward, terminal, truncated, info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


class PettingZooPufferEnv:
    """A PettingZoo parallel env whose agents all see flat observations and act flat.

    Outputs always hold one entry per possible agent: an agent absent from the inner
    env's output has an all-zero observation, reward 0, terminal True and mask False.
    ``actions`` is a dict by agent or an array in ``possible_agents`` order; actions
    for agents that are not alive are dropped. Returned observations alias internal
    buffers that the next call overwrites.
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
        self.num_agents = len(self._possible_agents)
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
        self.buf: Namespace | None = None
        self._buffers: Namespace | None = None
        self._writers: list[ObservationWriter] | None = None
        self._accepts_seed = _accepts_seed(env.reset)
        self._done = False
        self._reset_called = False
        self._checked = False

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
    def agents(self) -> list:
        return list(self.env.agents)

    @property
    def possible_agents(self) -> list:
        return self._possible_agents

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
        if self._buffers is self.buf and self._buffers is not None:
            return
        self._buffers = self.buf if self.buf is not None else make_buffer(
            self.single_observation_space, self.num_agents)
        observations = self._buffers.observations
        if self.is_obs_emulated:
            self._writers = [ObservationWriter(self.emulated.observation_space, self.obs_dtype, row)
                             for row in observations]

    def _write_observations(self, native_obs: dict) -> None:
        index = self._agent_index
        observations = self._buffers.observations
        for agent, obs in native_obs.items():
            if agent not in index:
                raise InvalidAgentError(agent, self._possible_agents)
            if self._writers is not None:
                self._writers[index[agent]].write(obs)
            else:
                observations[index[agent]] = obs

    def _outputs(self) -> dict:
        observations = self._buffers.observations
        return {agent: observations[i] for i, agent in enumerate(self._possible_agents)}

    def reset(self, seed: int | None = None) -> tuple[dict, dict]:
        self._bind_buffers()
        native_obs, native_infos = _reset_inner(self.env, seed, self._accepts_seed)
        buffers = self._buffers
        buffers.observations[:] = 0
        buffers.rewards[:] = 0
        buffers.terminals[:] = True
        buffers.truncations[:] = False
        buffers.masks[:] = False
        self._write_observations(native_obs)
        present = [self._agent_index[agent] for agent in native_obs]
        buffers.terminals[present] = False
        buffers.masks[present] = True
        self._done = len(native_obs) == 0
        self._reset_called = True
        infos = {agent: native_infos.get(agent, {}) for agent in self._possible_agents}
        return self._outputs(), infos

    def _native_actions(self, actions: Any) -> dict:
        alive = self.env.agents
        if isinstance(actions, dict):
            for agent in actions:
                if agent not in self._agent_index:
                    raise InvalidAgentError(agent, self._possible_agents)
            rows = {agent: actions[agent] for agent in alive if agent in actions}
        else:
            array = np.asarray(actions)
            if len(array) != self.num_agents:
                raise APIUsageError(
                    f"Got actions for {len(array)} agents, expected {self.num_agents} "
                    f"(one row per possible agent, in possible_agents order)."
                )
            rows = {agent: array[self._agent_index[agent]] for agent in alive}
        if self.check or not self._checked:
            for row in rows.values():
                self._actions.check(row)
            self._checked = True
        nativize = self._actions.nativize
        return {agent: nativize(row) for agent, row in rows.items()}

    def step(self, actions: Any) -> tuple[dict, dict, dict, dict, dict]:
        if not self._reset_called:
            raise APIUsageError("step() called before reset()")
        if self._done:
            raise APIUsageError("step() called after environment is done")
        native_obs, rewards, terminals, truncations, native_infos = self.env.step(
            self._native_actions(actions))
        buffers = self._buffers
        index = self._agent_index
        buffers.observations[:] = 0
        buffers.rewards[:] = 0
        buffers.terminals[:] = True
        buffers.truncations[:] = False
        buffers.masks[:] = False
        self._write_observations(native_obs)
        all_done = True
        for agent in native_obs:
            i = index[agent]
            terminal, truncated = bool(terminals.get(agent, False)), bool(truncations.get(agent, False))
            buffers.rewards[i] = rewards.get(agent, 0.0)
            buffers.terminals[i] = terminal
            buffers.truncations[i] = truncated
            buffers.masks[i] = True
            all_done = all_done and (terminal or truncated)
        self._done = all_done or not self.env.agents
        agents = self._possible_agents
        return (
            self._outputs(),
            dict(zip(agents, buffers.rewards.tolist())),
            dict(zip(agents, buffers.terminals.tolist())),
            dict(zip(agents, buffers.truncations.tolist())),
            {agent: native_infos.get(agent, {}) for agent in agents},
        )

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _is_aec(env: Any) -> bool:
    try:
        from pettingzoo.utils.env import AECEnv
    except ImportError:
        return False
    return isinstance(env, AECEnv)
