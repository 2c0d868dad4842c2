"""``GymnasiumPufferEnv``: one flat observation and one flat action for a Gymnasium env."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np

from pufferlib import spaces
from pufferlib.emulation.actions import ActionEmulator
from pufferlib.emulation.inner import (
    _accepts_seed,
    _check_native_observation,
    _check_step_result,
    _make_env,
    _reset_inner,
)
from pufferlib.emulation.layout import (
    ObservationWriter,
    _shape_error,
    _shape_of,
    emulate_observation_space,
    make_buffer,
)
from pufferlib.exceptions import APIUsageError
from pufferlib.namespace import Namespace, namespace


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
        self._obs_shape = tuple(self.single_observation_space.shape)
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

    # Read-only views of the inner env's attributes, as gymnasium.Wrapper.render_mode is: mypy
    # refuses a property over gymnasium.Env's plain class attribute.
    @property
    def render_mode(self) -> str | None:  # type: ignore[override]
        return getattr(self.env, "render_mode", None)

    @property
    def metadata(self) -> dict:  # type: ignore[override]
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
        writer = self._writer
        if writer is not None:
            writer.write(native_obs)
            return writer.row if self.buf is not None else writer.row.copy()
        if self._box_row is not None:
            self._write_box(self._box_row, native_obs)
        elif _shape_of(native_obs) != self._obs_shape:
            raise _shape_error(native_obs, self._obs_shape, self.emulated.observation_space)
        return native_obs

    def _write_box(self, row: np.ndarray, native_obs: Any) -> None:
        if _shape_of(native_obs) != row.shape:
            raise _shape_error(native_obs, row.shape, self.emulated.observation_space)
        try:
            row[...] = native_obs
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
            # Shapes must match exactly: numpy would broadcast e.g. (1,) or (1, n) into (n,).
            try:
                if native_obs.shape != self._obs_shape:
                    raise ValueError
                row[...] = native_obs
            except (AttributeError, TypeError, ValueError):
                self._write_box(row, native_obs)  # writes a list of the right shape, or raises
            obs = native_obs
        elif (writer := self._writer) is not None:
            writer.write(native_obs)
            obs = writer.row if self.buf is not None else writer.row.copy()
        else:
            obs = native_obs
            try:
                wrong_shape = obs.shape != self._obs_shape
            except AttributeError:  # a list or a Python scalar: the exact, slower check
                wrong_shape = _shape_of(obs) != self._obs_shape
            if wrong_shape:
                raise _shape_error(obs, self._obs_shape, self.emulated.observation_space)
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
