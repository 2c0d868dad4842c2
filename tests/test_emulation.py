"""Tests of ``pufferlib.emulation`` (spec section 2): layout, round trips, wrappers, errors."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Tuple
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pettingzoo import ParallelEnv

import catalogue
from pufferlib.emulation import (
    ActionEmulator,
    GymnasiumPufferEnv,
    ObservationWriter,
    PettingZooPufferEnv,
    dtype_from_space,
    emulate,
    emulate_action_space,
    emulate_copy,
    emulate_observation_space,
    flatten_space,
    leaf_layout,
    make_buffer,
    nativize,
)
from pufferlib.exceptions import APIUsageError, InvalidAgentError

# ------------------------------------------------------------------------------------
# Independent references (written from the spec, not from the implementation)


def assert_same(actual: Any, expected: Any) -> None:
    """Deep equality of nested dicts/tuples of arrays and scalars, structure included."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected)
        for key in expected:
            assert_same(actual[key], expected[key])
    elif isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e)
    else:
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected), strict=False)
        assert np.shape(actual) == np.shape(expected)


def reference_leaves(space: gymnasium.Space) -> list[gymnasium.Space]:
    if isinstance(space, Dict):
        return [leaf for sub in space.spaces.values() for leaf in reference_leaves(sub)]
    if isinstance(space, Tuple):
        return [leaf for sub in space.spaces for leaf in reference_leaves(sub)]
    return [space]


def reference_leaf_storage(space: gymnasium.Space) -> tuple[np.dtype, tuple]:
    if isinstance(space, Discrete):
        return np.dtype(np.int64), ()
    if isinstance(space, MultiDiscrete):
        return np.dtype(np.int64), tuple(space.nvec.shape)
    if isinstance(space, MultiBinary):
        return np.dtype(np.int8), tuple(space.shape)
    return np.dtype(space.dtype), tuple(space.shape)


Layout = list[tuple[int, np.dtype, tuple]]


def c_struct_layout(space: gymnasium.Space, base: int = 0) -> tuple[int, int, Layout]:
    """(size, alignment, [(offset, dtype, shape) per leaf]) by the C struct rules.

    Each field starts at the next multiple of its alignment; a struct is aligned to its
    most aligned field and its size is rounded up to that alignment.
    """
    if isinstance(space, (Dict, Tuple)):
        subs = list(space.spaces.values()) if isinstance(space, Dict) else list(space.spaces)
        offset, align, leaves = 0, 1, []
        for sub in subs:
            size, sub_align, _ = c_struct_layout(sub)
            offset = -(-offset // sub_align) * sub_align
            leaves += c_struct_layout(sub, base + offset)[2]
            offset += size
            align = max(align, sub_align)
        return -(-offset // align) * align, align, leaves
    dtype, shape = reference_leaf_storage(space)
    return dtype.itemsize * int(np.prod(shape, dtype=np.int64)), dtype.alignment, [(base, dtype, shape)]


def reference_flat_action(space: gymnasium.Space, native: Any) -> np.ndarray:
    """Spec 2.2: leaves in order; Discrete one entry (start removed); the others per component."""
    if isinstance(space, Dict):
        parts = [reference_flat_action(sub, native[key]) for key, sub in space.spaces.items()]
        return np.concatenate(parts)
    if isinstance(space, Tuple):
        return np.concatenate([reference_flat_action(sub, native[i]) for i, sub in enumerate(space.spaces)])
    if isinstance(space, Discrete):
        return np.array([int(native) - int(space.start)])
    if isinstance(space, MultiDiscrete):
        return (np.asarray(native) - space.start).reshape(-1)
    return np.asarray(native).reshape(-1)


def to_flat_action(space: gymnasium.Space, native: Any) -> Any:
    """What an agent sends for ``native``: passthrough spaces keep their shape."""
    if isinstance(space, Box):
        return np.asarray(native)
    if isinstance(space, Discrete):
        return int(native) - int(space.start)
    if isinstance(space, MultiDiscrete) and space.nvec.ndim == 1:
        return np.asarray(native) - space.start
    flat = reference_flat_action(space, native)
    return flat.astype(np.float32) if np.issubdtype(flat.dtype, np.floating) else flat.astype(np.int64)


# ------------------------------------------------------------------------------------
# 2.1 Observation layout: the examples of the spec, exactly


def fields(dtype: np.dtype) -> dict:
    return {name: dtype.fields[name][1] for name in dtype.names}


def test_top_level_box_passes_through_as_the_same_object():
    space = Box(-1, 1, (3, 4), np.float32)
    flat, dtype = emulate_observation_space(space)
    assert flat is space
    assert dtype == np.float32


def test_dict_of_two_float_boxes_is_a_float32_box_of_four():
    space = Dict({"a": Box(-1.0, 1.0, (2,), np.float32), "b": Box(0.0, 3.0, (2,), np.float32)})
    flat, dtype = emulate_observation_space(space)
    assert flat.dtype == np.float32 and flat.shape == (4,)
    assert fields(dtype) == {"a": 0, "b": 8} and dtype.itemsize == 16
    np.testing.assert_array_equal(flat.low, [-1, -1, 0, 0])
    np.testing.assert_array_equal(flat.high, [1, 1, 3, 3])


def test_tuple_of_discretes_is_an_int64_box_of_two():
    flat, dtype = emulate_observation_space(Tuple((Discrete(3), Discrete(4))))
    assert flat.dtype == np.int64 and flat.shape == (2,)
    assert dtype.names == ("f0", "f1") and fields(dtype) == {"f0": 0, "f1": 8}
    np.testing.assert_array_equal(flat.low, [0, 0])
    np.testing.assert_array_equal(flat.high, [2, 3])


def test_discrete_is_an_int64_box_of_one():
    flat, dtype = emulate_observation_space(Discrete(5, start=2))
    assert flat.dtype == np.int64 and flat.shape == (1,)
    assert dtype.itemsize == 8
    assert (flat.low.tolist(), flat.high.tolist()) == ([2], [6])


def test_mixed_tuple_is_24_raw_bytes():
    space = Tuple((
        Box(0.0, 1.0, (2,), np.float32),
        Discrete(3),
        Dict({"baz": Box(0.0, 1.0, (1,), np.float32), "qux": Box(0.0, 1.0, (1,), np.float32)}),
    ))
    flat, dtype = emulate_observation_space(space)
    assert flat.dtype == np.uint8 and flat.shape == (24,)
    assert fields(dtype) == {"f0": 0, "f1": 8, "f2": 16}
    assert dtype["f0"] == np.dtype((np.float32, (2,))) and dtype["f1"] == np.int64
    assert fields(dtype["f2"]) == {"baz": 0, "qux": 4}


def test_ocean_spaces_dict_puts_flat_at_byte_0_and_image_at_byte_8():
    space = Dict({"image": Box(0.0, 1.0, (5, 5), np.float32), "flat": Box(-1, 1, (5,), np.int8)})
    flat, dtype = emulate_observation_space(space)
    assert flat.dtype == np.uint8 and flat.shape == (108,)
    assert dtype.names == ("flat", "image")
    assert fields(dtype) == {"flat": 0, "image": 8}
    assert dtype["image"] == np.dtype((np.float32, (5, 5))) and dtype["flat"] == np.dtype((np.int8, (5,)))


def test_minigrid_dict_is_160_bytes():
    space = Dict({"direction": Discrete(4), "image": Box(0, 255, (7, 7, 3), np.uint8)})
    flat, dtype = emulate_observation_space(space)
    assert flat.dtype == np.uint8 and flat.shape == (160,)
    assert fields(dtype) == {"direction": 0, "image": 8}


def test_leaf_dtypes_multibinary_int8_multidiscrete_int64():
    space = Dict({"b": MultiBinary(3), "m": MultiDiscrete([2, 3])})
    dtype = dtype_from_space(space)
    assert dtype["b"] == np.dtype((np.int8, (3,))) and dtype["m"] == np.dtype((np.int64, (2,)))
    assert fields(dtype) == {"b": 0, "m": 8}


def test_dict_fields_follow_the_space_key_order_not_sorted():
    space = Dict([("zeta", Discrete(2)), ("alpha", Box(0, 1, (1,), np.float32))])
    assert dtype_from_space(space).names == ("zeta", "alpha")


def test_float64_leaves_stay_float64_with_their_bounds():
    space = Dict({"x": Box(-1e300, 1e300, (2,), np.float64), "y": Box(0.0, 1e-300, (1,), np.float64)})
    flat, _ = emulate_observation_space(space)
    assert flat.dtype == np.float64 and flat.shape == (3,)
    assert flat.low.tolist() == [-1e300, -1e300, 0.0]
    assert flat.high.tolist() == [1e300, 1e300, 1e-300]


def test_shared_integer_dtype_keeps_bounds_of_every_leaf_kind():
    space = Tuple((MultiDiscrete([3, 4], start=[1, -1]), Box(-7, 9, (2,), np.int64), Discrete(2)))
    flat, _ = emulate_observation_space(space)
    assert flat.dtype == np.int64
    assert flat.low.tolist() == [1, -1, -7, -7, 0]
    assert flat.high.tolist() == [3, 2, 9, 9, 1]


def test_top_level_multibinary_and_multidiscrete_are_one_dimensional():
    cases = ((MultiBinary(6), np.int8), (MultiDiscrete([3, 5]), np.int64), (MultiBinary((2, 3)), np.int8))
    for space, dtype in cases:
        flat, _ = emulate_observation_space(space)
        assert flat.dtype == dtype and flat.shape == (int(np.prod(space.shape)),)
        assert flat.low.shape == flat.shape


def test_empty_composite_is_rejected():
    with pytest.raises(APIUsageError, match="no leaves"):
        emulate_observation_space(Dict({}))


def test_unsupported_leaf_is_rejected_with_the_supported_list():
    with pytest.raises(APIUsageError, match="Box, Discrete, MultiDiscrete"):
        emulate_observation_space(Dict({"t": gymnasium.spaces.Text(5)}))


def test_flatten_space_is_depth_first():
    a, b, c = Discrete(2), Box(0, 1, (1,)), MultiBinary(2)
    assert flatten_space(Dict({"x": Tuple((a, b)), "y": c})) == [a, b, c]


def test_nativize_gives_python_ints_for_discrete_and_leaf_dtype_arrays_otherwise():
    space = Dict({"d": Discrete(4, start=1), "b": MultiBinary(2), "m": MultiDiscrete([3, 3], dtype=np.int32)})
    flat_space, dtype = emulate_observation_space(space)
    sample = {"d": 3, "b": np.array([1, 0], np.int8), "m": np.array([2, 1], np.int32)}
    native = nativize(emulate_copy(sample, flat_space.dtype, dtype), space, dtype)
    assert type(native["d"]) is int and native["d"] == 3
    assert native["b"].dtype == np.int8 and native["m"].dtype == np.int32
    assert_same(native, {"b": [1, 0], "d": 3, "m": [2, 1]})


def test_nativize_rejects_a_batch():
    space = Tuple((Discrete(3), Discrete(4)))
    flat_space, dtype = emulate_observation_space(space)
    with pytest.raises(APIUsageError, match="one row"):
        nativize(np.zeros((2, 2), np.int64), space, dtype)


def test_emulate_writes_into_a_struct_view():
    space = Dict({"a": Discrete(3), "b": Tuple((Box(0, 1, (2,), np.float32), MultiBinary(1)))})
    dtype = dtype_from_space(space)
    struct = np.zeros(1, dtype)
    emulate(struct, {"a": 2, "b": (np.array([0.5, 0.25], np.float32), np.array([1], np.int8))})
    assert struct["a"][0] == 2 and struct["b"]["f0"][0].tolist() == [0.5, 0.25] and struct["b"]["f1"][0] == 1


def test_emulating_an_action_sample_removes_discrete_starts():
    leaves = Tuple((Discrete(2, start=-1), MultiDiscrete([4, 2], start=[1, 1])))
    space = Dict({"a": Discrete(3, start=5), "b": leaves})
    flat_space, dtype = emulate_action_space(space)
    struct = np.zeros(1, dtype)
    emulate(struct, {"a": 7, "b": (0, np.array([4, 2]))}, space)
    flat = struct.view(flat_space.dtype)
    assert flat.tolist() == [2, 1, 3, 1] and flat_space.contains(flat)


def test_make_buffer_shapes_and_dtypes():
    buf = make_buffer(Box(0, 1, (3, 2), np.uint8), 5)
    assert buf.observations.shape == (5, 3, 2) and buf.observations.dtype == np.uint8
    assert buf.rewards.dtype == np.float32 and buf.rewards.shape == (5,)
    for name in ("terminals", "truncations", "masks"):
        assert buf[name].dtype == bool and buf[name].shape == (5,)


# ------------------------------------------------------------------------------------
# Property-based round trips over random nested spaces


@st.composite
def box_spaces(draw, dtypes=(np.float32, np.float64, np.uint8, np.int8, np.int32, np.int64), width=64) -> Box:
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    if dtype.kind == "f":
        low = draw(st.floats(-10, 10, width=width))
        high = low + draw(st.floats(0, 10, width=width))
    else:
        low = draw(st.integers(0 if dtype.kind == "u" else -5, 5))
        high = low + draw(st.integers(0, 5))
    return Box(low, high, shape, dtype)


discrete_spaces = st.builds(Discrete, st.integers(1, 6), start=st.integers(-3, 3))
multidiscrete_spaces = st.one_of(
    st.lists(st.integers(1, 5), min_size=1, max_size=4).map(MultiDiscrete),
    st.lists(st.integers(1, 5), min_size=2, max_size=2).map(lambda nvec: MultiDiscrete(nvec, start=[-1, 2])),
    st.just(MultiDiscrete([[2, 3], [4, 2]])),
)
multibinary_spaces = st.one_of(st.integers(1, 5).map(MultiBinary), st.just(MultiBinary((2, 2))))
key_names = st.text("abcdefgh", min_size=1, max_size=3)


def nested(leaves: st.SearchStrategy) -> st.SearchStrategy:
    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda subs: Tuple(tuple(subs))),
            st.dictionaries(key_names, children, min_size=1, max_size=3).map(Dict),
        )

    return st.recursive(leaves, extend, max_leaves=8)


observation_leaves = st.one_of(box_spaces(), discrete_spaces, multidiscrete_spaces, multibinary_spaces)
observation_spaces = nested(observation_leaves)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(space=observation_spaces, seed=st.integers(0, 2**31 - 1))
def test_observation_round_trip(space, seed):
    if isinstance(space, Box):
        assert emulate_observation_space(space)[0] is space
        return
    flat_space, struct_dtype = emulate_observation_space(space)
    space.seed(seed)
    for _ in range(3):
        sample = space.sample()
        row = emulate_copy(sample, flat_space.dtype, struct_dtype)
        assert row.shape == flat_space.shape and row.dtype == flat_space.dtype
        assert flat_space.contains(row)
        native = nativize(row, space, struct_dtype)
        assert_same(native, sample)
        assert space.contains(native)

        written = np.zeros(flat_space.shape, flat_space.dtype)
        ObservationWriter(space, struct_dtype, written).write(sample)
        assert written.tobytes() == row.tobytes()


@PROPERTY
@given(space=observation_spaces)
def test_observation_layout_is_the_c_struct_layout(space):
    if isinstance(space, Box):
        return
    flat_space, struct_dtype = emulate_observation_space(space)
    size, _, expected = c_struct_layout(space)
    assert struct_dtype.itemsize == size
    leaves = leaf_layout(space, struct_dtype)
    assert [(leaf.offset, leaf.dtype, leaf.shape) for leaf in leaves] == expected
    leaf_dtypes = {dtype for _, dtype, _ in expected}
    if len(leaf_dtypes) == 1:
        (leaf_dtype,) = leaf_dtypes
        assert flat_space.dtype == leaf_dtype and flat_space.shape == (size // leaf_dtype.itemsize,)
        # Bounds are the leaves' own bounds, leaf by leaf.
        for leaf, leaf_space in zip(leaves, reference_leaves(space)):
            start = leaf.offset // leaf_dtype.itemsize
            stop = start + int(np.prod(leaf.shape, dtype=np.int64))
            low = flat_space.low[start:stop].reshape(leaf.shape)
            if isinstance(leaf_space, Box):
                np.testing.assert_array_equal(low, np.broadcast_to(leaf_space.low, leaf.shape))
            elif isinstance(leaf_space, Discrete):
                assert low == leaf_space.start
                assert flat_space.high[start] == leaf_space.start + leaf_space.n - 1
    else:
        assert flat_space.dtype == np.uint8 and flat_space.shape == (size,)


discrete_action_leaves = st.one_of(discrete_spaces, multidiscrete_spaces, multibinary_spaces)
# float32-representable bounds: a float64 interval holding no float32 cannot be acted in exactly.
box_action_leaves = box_spaces(dtypes=(np.float32, np.float64), width=32)
action_spaces = st.one_of(nested(discrete_action_leaves), nested(box_action_leaves))


@PROPERTY
@given(space=action_spaces, seed=st.integers(0, 2**31 - 1))
def test_action_round_trip(space, seed):
    emulator = ActionEmulator(space)
    flat_space, struct_dtype = emulate_action_space(space)
    assert isinstance(flat_space, (Discrete, MultiDiscrete, Box))
    assert flat_space == emulator.flat_space
    if not isinstance(space, (Dict, Tuple)) and not isinstance(space, (MultiBinary, MultiDiscrete)):
        assert type(flat_space) is type(space)
    flat_space.seed(seed)
    for _ in range(3):
        flat = flat_space.sample()
        native = emulator.nativize(flat)
        assert space.contains(native), (native, space)
        reflattened = emulator.flatten(native)
        np.testing.assert_array_equal(reflattened, flat)
        if not isinstance(space, Box):
            np.testing.assert_array_equal(np.reshape(to_flat_action(space, native), -1), np.reshape(flat, -1))
        # Any integer dtype and any memory layout give the same native action.
        if isinstance(flat_space, (Discrete, MultiDiscrete)):
            strided = np.repeat(np.asarray(flat, dtype=np.int32).reshape(-1), 2)[::2]
            assert_same(emulator.nativize(strided), native)
            assert_same(emulator.nativize(np.asarray(flat, dtype=np.uint8)), native)


def test_action_flattening_example_of_the_spec():
    space = Dict({
        "bar": Dict({"baz": Discrete(2), "qux": Discrete(4)}),
        "foo": Tuple((Discrete(2), Discrete(3))),
    })
    flat_space, _ = emulate_action_space(space)
    assert flat_space == MultiDiscrete([2, 4, 2, 3])
    native = ActionEmulator(space).nativize(np.array([0, 2, 1, 0]))
    assert native == {"bar": {"baz": 0, "qux": 2}, "foo": (1, 0)}
    assert all(type(v) is int for v in (*native["bar"].values(), *native["foo"]))


def test_discrete_and_multidiscrete_action_spaces_pass_through():
    for space in (Discrete(5), MultiDiscrete([3, 4]), Box(-1, 1, (2,), np.float32)):
        flat_space, _ = emulate_action_space(space)
        assert flat_space == space
        assert not ActionEmulator(space).is_emulated


def test_multibinary_and_multidiscrete_leaves_contribute_one_entry_per_component():
    space = Tuple((MultiBinary(3), MultiDiscrete([4, 5]), Discrete(6, start=10)))
    flat_space, _ = emulate_action_space(space)
    assert flat_space == MultiDiscrete([2, 2, 2, 4, 5, 6])
    native = ActionEmulator(space).nativize([1, 0, 1, 3, 4, 5])
    assert_same(native, (np.array([1, 0, 1]), np.array([3, 4]), 15))


def test_box_composite_becomes_one_float32_box_with_bounds_inside_the_leaves():
    space = Dict({"a": Box(0.1, 0.3, (2,), np.float64), "b": Box(-1.0, 1.0, (1,), np.float32)})
    flat_space, _ = emulate_action_space(space)
    assert flat_space.dtype == np.float32 and flat_space.shape == (3,)
    native = ActionEmulator(space).nativize(flat_space.high)
    assert space.contains(native), native
    assert native["a"].dtype == np.float64


def test_mixed_discrete_and_continuous_actions_are_rejected_naming_the_leaves():
    space = Dict({"move": Discrete(4), "aim": Box(-1.0, 1.0, (2,), np.float32)})
    with pytest.raises(APIUsageError) as error:
        GymnasiumPufferEnv(catalogue.CatalogueEnv(Discrete(2), space))
    assert "Discrete(4)" in error.value.message and "Box(" in error.value.message


# ------------------------------------------------------------------------------------
# GymnasiumPufferEnv: lockstep with the raw env


def check_observation(wrapped_env: Any, obs: np.ndarray, raw_obs: Any, native_space: gymnasium.Space) -> None:
    assert obs.shape == wrapped_env.single_observation_space.shape
    assert obs.dtype == wrapped_env.single_observation_space.dtype
    assert wrapped_env.single_observation_space.contains(obs)
    assert_same(nativize(obs, native_space, wrapped_env.obs_dtype), raw_obs)


@pytest.mark.parametrize("use_buf", [False, True], ids=["standalone", "shared-buffer"])
@pytest.mark.parametrize("name", sorted(catalogue.SINGLE_AGENT))
def test_single_agent_lockstep_with_the_raw_env(name, use_buf):
    creator = catalogue.SINGLE_AGENT[name]
    raw, env = creator(), GymnasiumPufferEnv(env_creator=creator)
    native_obs_space, native_atn_space = raw.observation_space, raw.action_space
    if use_buf:
        env.buf = make_buffer(env.single_observation_space)
    rng = np.random.default_rng(7)
    episodes = terminations = truncations = 0
    for episode in range(12):
        seed = 100 + episode if episode % 3 else None
        raw_obs, raw_info = raw.reset(seed=seed)
        obs, info = env.reset(seed=seed)
        check_observation(env, obs, raw_obs, native_obs_space)
        assert info == raw_info
        if use_buf:
            assert env.buf.observations[0].tobytes() == np.asarray(obs).tobytes()
            assert env.buf.masks[0] and not env.buf.terminals[0] and not env.buf.truncations[0]
        while True:
            native_action = catalogue.sample_space(native_atn_space, rng)
            step = env.step(to_flat_action(native_atn_space, native_action))
            expected = raw.step(native_action)
            obs, reward, terminal, truncated, info = step
            check_observation(env, obs, expected[0], native_obs_space)
            assert (reward, terminal, truncated, info) == expected[1:]
            if use_buf:
                assert env.buf.observations[0].tobytes() == np.asarray(obs).tobytes()
                assert env.buf.rewards[0] == np.float32(reward)
                assert (env.buf.terminals[0], env.buf.truncations[0]) == (terminal, truncated)
            assert env.done == (terminal or truncated)
            if env.done:
                episodes += 1
                terminations += terminal
                truncations += truncated
                break
    assert episodes == 12 and terminations and truncations


@pytest.mark.parametrize("name", sorted(catalogue.SINGLE_AGENT))
def test_gymnasium_env_checker_passes(name):
    from gymnasium.utils.env_checker import check_env

    env = GymnasiumPufferEnv(catalogue.SINGLE_AGENT[name]())
    with warnings.catch_warnings():
        # The spec keeps the 1.0 `seed()` method, which the checker warns about.
        warnings.filterwarnings("ignore", message=".*seed` function is dropped")
        check_env(env, skip_render_check=True)


def test_standalone_observations_are_fresh_arrays_and_buffer_observations_alias():
    creator = catalogue.SINGLE_AGENT["dict-dict"]
    env = GymnasiumPufferEnv(creator())
    first, _ = env.reset(seed=1)
    kept = first.copy()
    env.step(env.action_space.sample())
    assert first.tobytes() == kept.tobytes()

    env = GymnasiumPufferEnv(creator())
    env.buf = make_buffer(env.single_observation_space)
    obs, _ = env.reset(seed=1)
    assert np.shares_memory(obs, env.buf.observations)


def test_wrapper_attributes():
    raw = catalogue.SINGLE_AGENT["nested-nested"]()
    env = GymnasiumPufferEnv(raw)
    assert env.env is raw
    assert env.observation_space is env.single_observation_space
    assert env.action_space is env.single_action_space
    assert env.num_agents == 1 and env.buf is None and env.done is False
    assert env.is_obs_emulated and env.is_atn_emulated
    assert env.emulated.observation_dtype == env.single_observation_space.dtype
    assert env.emulated.emulated_observation_dtype == env.obs_dtype == dtype_from_space(raw.observation_space)
    assert env.atn_dtype.names == ("bar", "foo")
    assert env.render_mode is None
    box_env = GymnasiumPufferEnv(catalogue.SINGLE_AGENT["box-discrete"]())
    assert not box_env.is_obs_emulated and not box_env.is_atn_emulated
    assert box_env.single_observation_space is box_env.env.observation_space


def test_wrapped_env_pickles_and_creators_are_picklable():
    for creator in (*catalogue.SINGLE_AGENT.values(), *catalogue.MULTI_AGENT.values()):
        assert pickle.loads(pickle.dumps(creator))().observation_space is not None
    for env in (GymnasiumPufferEnv(catalogue.SINGLE_AGENT["nested-nested"]()),
                PettingZooPufferEnv(catalogue.MULTI_AGENT["nested-nested"]())):
        env.reset(seed=3)
        clone = pickle.loads(pickle.dumps(env))
        env.buf = make_buffer(env.single_observation_space, env.num_agents)
        clone.buf = make_buffer(env.single_observation_space, env.num_agents)
        for e in (env, clone):
            e.reset(seed=4)
        actions = np.stack([env.single_action_space.sample() for _ in range(env.num_agents)])
        for e in (env, clone):
            e.step(actions if e.num_agents > 1 else actions[0])
        assert clone.buf.observations.tobytes() == env.buf.observations.tobytes()
        assert clone.buf.observations.any()


# ------------------------------------------------------------------------------------
# GymnasiumPufferEnv: episodes, seeding, errors


class RecordingEnv(gymnasium.Env):
    """Records the seeds its reset receives; lasts ``length`` steps; ends by ``ending``."""

    def __init__(self, length: int = 3, ending: str = "truncated", bad_step: int | None = None):
        self.observation_space = Box(0, 10, (2,), np.float32)
        self.action_space = Discrete(3)
        self.length, self.ending, self.bad_step = length, ending, bad_step
        self.seeds: list = []
        self.actions: list = []
        self.tick = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.seeds.append(seed)
        self.options = options
        self.tick = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.actions.append(action)
        self.tick += 1
        end = self.tick >= self.length
        obs = np.full(2, self.tick, np.float32)
        if self.tick == self.bad_step:
            obs = np.full(2, 99.0, np.float32)
        return obs, 1.0, end and self.ending == "terminal", end and self.ending == "truncated", {}


def test_truncation_ends_the_episode():
    env = GymnasiumPufferEnv(RecordingEnv(length=3, ending="truncated"))
    env.reset()
    results = [env.step(0) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True] and not any(r[2] for r in results)
    assert env.done
    with pytest.raises(APIUsageError, match="step\\(\\) called after environment is done"):
        env.step(0)
    env.reset()
    assert not env.done
    env.step(0)


def test_termination_ends_the_episode():
    env = GymnasiumPufferEnv(RecordingEnv(length=2, ending="terminal"))
    env.reset()
    env.step(1)
    assert env.step(1)[2] and env.done


def test_step_before_reset():
    env = GymnasiumPufferEnv(RecordingEnv())
    with pytest.raises(APIUsageError, match="step\\(\\) called before reset\\(\\)"):
        env.step(0)


def test_reset_seed_reaches_the_inner_env_and_unseeded_reset_does_not_seed():
    inner = RecordingEnv()
    env = GymnasiumPufferEnv(inner)
    env.reset(seed=5)
    env.reset()
    env.seed(9)
    env.reset()
    env.reset(options={"level": 2})
    assert inner.seeds == [5, None, 9, None]
    assert inner.options == {"level": 2}


def test_seeded_resets_reproduce_trajectories():
    def rollout(seed):
        env = GymnasiumPufferEnv(catalogue.SINGLE_AGENT["nested-nested"]())
        env.action_space.seed(0)
        obs, _ = env.reset(seed=seed)
        out = [obs.copy()]
        while not env.done:
            out.append(env.step(env.action_space.sample())[0].copy())
        return out

    a, b, c = rollout(1), rollout(1), rollout(2)
    assert len(a) == len(b) and all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
    assert len(a) != len(c) or any(x.tobytes() != y.tobytes() for x, y in zip(a, c))


class NoSeedEnv(gymnasium.Env):
    observation_space = Box(0, 1, (1,), np.float32)
    action_space = Discrete(2)

    def reset(self):
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 0.0, True, False, {}


def test_env_without_seed_parameter_warns_and_still_resets():
    env = GymnasiumPufferEnv(NoSeedEnv())
    with pytest.warns(UserWarning, match="takes no seed"):
        env.reset(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset()


class BrokenResetEnv(NoSeedEnv):
    def reset(self, seed=None, options=None):
        raise RuntimeError("inner failure")


def test_inner_reset_errors_are_not_swallowed():
    with pytest.raises(RuntimeError, match="inner failure"):
        GymnasiumPufferEnv(BrokenResetEnv()).reset(seed=1)


def test_exactly_one_of_env_and_creator():
    with pytest.raises(ValueError, match="exactly one"):
        GymnasiumPufferEnv()
    with pytest.raises(ValueError, match="exactly one"):
        GymnasiumPufferEnv(env=RecordingEnv(), env_creator=RecordingEnv)
    with pytest.raises(ValueError, match="exactly one"):
        PettingZooPufferEnv()


def test_class_or_function_passed_as_env():
    with pytest.raises(TypeError, match="env_creator"):
        GymnasiumPufferEnv(env=RecordingEnv)
    with pytest.raises(TypeError, match="env_creator"):
        GymnasiumPufferEnv(env=catalogue.make_single)
    with pytest.raises(TypeError, match="env_creator"):
        PettingZooPufferEnv(env=catalogue.MULTI_AGENT["box-discrete"])


def test_non_callable_creator():
    with pytest.raises(TypeError, match="callable"):
        GymnasiumPufferEnv(env_creator="CartPole-v1")
    with pytest.raises(TypeError, match="callable"):
        PettingZooPufferEnv(env_creator=3)


def test_creator_gets_args_and_kwargs():
    env = GymnasiumPufferEnv(env_creator=catalogue.make_single, env_args=["dict", "nested"],
                             env_kwargs={"min_length": 1, "max_length": 1})
    env.reset()
    assert env.step(env.action_space.sample())[3] or env.done


def test_old_gym_api_envs_get_a_clear_error():
    class OldReset(NoSeedEnv):
        def reset(self, seed=None, options=None):
            return np.zeros(1, np.float32)

    class OldStep(NoSeedEnv):
        def step(self, action):
            return np.zeros(1, np.float32), 0.0, False, {}

    with pytest.raises(APIUsageError, match="reset\\(\\) returned a ndarray, not \\(observation, info\\)"):
        GymnasiumPufferEnv(OldReset()).reset()
    env = GymnasiumPufferEnv(OldStep())
    env.reset()
    with pytest.raises(APIUsageError, match="returned a tuple of 4.*old Gym API.*GymToGymnasium"):
        env.step(0)

    class OldParallel(OneDeathPerStep):
        def step(self, actions):
            obs, rewards, terminals, _, infos = super().step(actions)
            return obs, rewards, terminals, infos

    env = PettingZooPufferEnv(OldParallel())
    env.reset()
    with pytest.raises(APIUsageError, match="tuple of 4"):
        env.step({})


def test_bad_observation_shows_the_value_and_the_space():
    class BadObs(NoSeedEnv):
        observation_space = Dict({"a": Discrete(3)})

        def reset(self, seed=None, options=None):
            return {"a": 7}, {}

    with pytest.raises(APIUsageError) as error:
        GymnasiumPufferEnv(BadObs()).reset()
    assert "7" in error.value.message and "Discrete(3)" in error.value.message


def test_bad_box_observation_shape_is_reported_even_with_a_shared_buffer():
    class WrongShape(NoSeedEnv):
        def reset(self, seed=None, options=None):
            return np.zeros(4, np.float32), {}

    env = GymnasiumPufferEnv(WrongShape())
    env.buf = make_buffer(env.single_observation_space)
    with pytest.raises(APIUsageError, match="not in the observation space"):
        env.reset()


def test_a_later_malformed_observation_is_still_an_api_usage_error():
    class ShapeShifter(RecordingEnv):
        def step(self, action):
            obs, *rest = super().step(action)
            return (obs if self.tick < 3 else np.zeros(5, np.float32)), *rest

    env = GymnasiumPufferEnv(ShapeShifter(length=10))
    env.buf = make_buffer(env.single_observation_space)
    env.reset()
    env.step(0)
    env.step(0)
    with pytest.raises(APIUsageError, match="not in the observation space"):
        env.step(0)

    class BadDict(NoSeedEnv):
        observation_space = Dict({"a": Box(0, 1, (2,), np.float32)})

        def reset(self, seed=None, options=None):
            return {"a": np.zeros(2, np.float32)}, {}

        def step(self, action):
            return {"a": np.zeros(3, np.float32)}, 0.0, False, False, {}

    env = GymnasiumPufferEnv(BadDict())
    env.reset()
    with pytest.raises(APIUsageError, match="observation space"):
        env.step(0)


def test_check_flag_validates_every_observation():
    unchecked = GymnasiumPufferEnv(RecordingEnv(length=10, bad_step=3))
    unchecked.reset()
    for _ in range(4):
        unchecked.step(0)
    checked = GymnasiumPufferEnv(RecordingEnv(length=10, bad_step=3), check=True)
    checked.reset()
    checked.step(0)
    checked.step(0)
    with pytest.raises(APIUsageError, match="99"):
        checked.step(0)


@pytest.mark.parametrize("use_buf", [False, True], ids=["standalone", "shared-buffer"])
@pytest.mark.parametrize("check", [False, True])
def test_actions_are_validated_on_the_very_first_step_only_unless_check(check, use_buf, monkeypatch):
    env = GymnasiumPufferEnv(RecordingEnv(length=2), check=check)
    if use_buf:
        env.buf = make_buffer(env.single_observation_space)
    validated = []
    original = env._actions.check
    monkeypatch.setattr(env._actions, "check", lambda action: (validated.append(action), original(action)))
    for _ in range(3):  # short episodes: checks must not come back after every reset
        env.reset()
        while not env.done:
            env.step(1)
    assert len(validated) == (6 if check else 1)


class OddResults(RecordingEnv):
    """Rewards and flags of types a fast scalar write might refuse; numpy casts them."""

    def __init__(self, results: list):
        super().__init__(length=len(results))
        self.results = results

    def step(self, action):
        obs, *_ = super().step(action)
        reward, terminal, truncated = self.results[self.tick - 1]
        return obs, reward, terminal, truncated, {}


def test_buffer_gets_rewards_and_flags_of_any_numeric_type():
    results = [(1e300, np.bool_(False), 0), ("2.5", np.array(False), None), (np.float16(1.25), 0, False),
               (np.int64(7), False, np.False_), (-0.5, np.True_, np.array(False))]
    env = GymnasiumPufferEnv(OddResults(results))
    env.buf = make_buffer(env.single_observation_space)
    env.reset()
    for reward, terminal, truncated in results:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 1e300 overflows float32, as in numpy
            env.step(0)
            assert env.buf.rewards[0] == np.float32(float(reward))
        assert env.buf.terminals[0] == bool(terminal) and env.buf.truncations[0] == bool(truncated)
    assert env.done


def test_a_buffer_injected_mid_episode_receives_the_next_step():
    env = GymnasiumPufferEnv(RecordingEnv(length=10))
    first = env.buf = make_buffer(env.single_observation_space)
    env.reset()
    env.step(0)
    env.step(0)
    second = env.buf = make_buffer(env.single_observation_space)
    obs, *_ = env.step(0)
    assert second.observations[0].tolist() == [3.0, 3.0] and second.rewards[0] == 1.0
    assert first.observations[0].tolist() == [2.0, 2.0] and obs.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("action", [3, -1, 1.0, "a", [0, 1], None])
def test_bad_discrete_action_shows_the_value_and_the_space(action):
    env = GymnasiumPufferEnv(RecordingEnv())
    env.reset()
    with pytest.raises(APIUsageError) as error:
        env.step(action)
    assert repr(action) in error.value.message and "Discrete(3)" in error.value.message


def test_bad_composite_action_and_check_flag():
    space = Dict({"move": Discrete(4), "fire": Discrete(2)})
    env = GymnasiumPufferEnv(catalogue.CatalogueEnv(Discrete(2), space, 50, 50), check=True)
    env.reset(seed=0)
    env.step(np.array([1, 3]))
    with pytest.raises(APIUsageError, match=r"MultiDiscrete\(\[2 4\]\)"):
        env.step(np.array([2, 0]))
    with pytest.raises(APIUsageError, match="shape"):
        env.step(np.array([1, 1, 1]))


def test_actions_of_any_integer_dtype_and_layout_are_accepted():
    inner = RecordingEnv(length=100)
    env = GymnasiumPufferEnv(inner)
    env.reset()
    for action in (np.int8(2), np.array(1, np.uint16), np.array([2], np.int32), np.int64(0), True + 0):
        env.step(action)
    assert inner.actions == [2, 1, 2, 0, 1]
    assert all(type(a) is int for a in inner.actions)


def test_box_actions_pass_through_and_continuous_control_works():
    inner = RecordingEnv(length=10)
    inner.action_space = Box(-1.0, 1.0, (2,), np.float32)
    env = GymnasiumPufferEnv(inner)
    assert env.single_action_space is inner.action_space and not env.is_atn_emulated
    env.reset()
    action = np.array([0.5, -0.25], np.float32)
    env.step(action)
    assert inner.actions[-1] is action
    fresh = GymnasiumPufferEnv(inner)
    fresh.reset()
    with pytest.raises(APIUsageError, match="not in the action space"):
        fresh.step(np.zeros(3, np.float32))


# ------------------------------------------------------------------------------------
# PettingZooPufferEnv


def wrap_multi(name: str, **kwargs: Any) -> tuple[ParallelEnv, PettingZooPufferEnv]:
    creator = catalogue.MULTI_AGENT[name]
    return creator(), PettingZooPufferEnv(env_creator=creator, **kwargs)


@pytest.mark.parametrize("name", sorted(catalogue.MULTI_AGENT))
def test_multi_agent_lockstep_with_the_raw_env(name):
    raw, env = wrap_multi(name)
    env.buf = buf = make_buffer(env.single_observation_space, env.num_agents)
    agents = env.possible_agents
    native_obs_space, native_atn_space = raw.observation_space(agents[0]), raw.action_space(agents[0])
    rng = np.random.default_rng(3)
    deaths = 0
    for episode in range(6):
        raw_obs, raw_infos = raw.reset(seed=episode)
        obs, infos = env.reset(seed=episode)
        assert list(obs) == agents and list(infos) == agents
        for i, agent in enumerate(agents):
            check_observation(env, obs[agent], raw_obs[agent], native_obs_space)
            assert infos[agent] == raw_infos[agent]
            assert buf.masks[i] and not buf.terminals[i]
        previously_alive = set(raw.agents)
        while not env.done:
            native = {agent: catalogue.sample_space(native_atn_space, rng) for agent in raw.agents}
            flat = {agent: to_flat_action(native_atn_space, a) for agent, a in native.items()}
            if episode % 2:  # the array form, with junk rows for dead agents (they are dropped)
                rows = [flat.get(agent, to_flat_action(native_atn_space, native_atn_space.sample()))
                        for agent in agents]
                flat = np.stack([np.asarray(row) for row in rows])
            obs, rewards, terminals, truncations, infos = env.step(flat)
            raw_out = raw.step(native)
            for outputs in (obs, rewards, terminals, truncations, infos):
                assert list(outputs) == agents
            for i, agent in enumerate(agents):
                assert buf.observations[i].tobytes() == obs[agent].tobytes()
                if agent in raw_out[0]:
                    check_observation(env, obs[agent], raw_out[0][agent], native_obs_space)
                    assert rewards[agent] == np.float32(raw_out[1][agent]) == buf.rewards[i]
                    assert terminals[agent] == raw_out[2][agent] == buf.terminals[i]
                    assert truncations[agent] == raw_out[3][agent] == buf.truncations[i]
                    assert infos[agent] == raw_out[4][agent]
                    assert buf.masks[i]
                else:
                    assert agent not in previously_alive
                    assert not obs[agent].any() and rewards[agent] == 0
                    assert terminals[agent] and not truncations[agent] and not buf.masks[i]
                    assert infos[agent] == {}
            deaths += len(previously_alive - set(raw.agents))
            previously_alive = set(raw.agents)
            assert env.agents == raw.agents
            assert env.done == (not raw.agents)
    assert deaths > 0


@pytest.mark.parametrize("name", sorted(catalogue.MULTI_AGENT))
def test_pettingzoo_parallel_api_test_passes(name):
    from pettingzoo.test import parallel_api_test

    _, env = wrap_multi(name)
    with warnings.catch_warnings():
        # Padding (spec 2.4) deliberately reports every possible agent, which the test notes.
        warnings.filterwarnings("ignore", message="Agent was given")
        parallel_api_test(env, num_cycles=200)


class OneDeathPerStep(ParallelEnv):
    """Agent ``i`` dies (terminates) on step ``i + 1``; observations encode agent and step."""

    metadata = {"render_modes": [], "name": "one_death_per_step"}

    def __init__(self, num_agents: int = 3, absent_at_reset: tuple = ()):
        self.possible_agents = [f"a{i}" for i in range(num_agents)]
        self.absent_at_reset = absent_at_reset
        self.space = Box(0, 100, (2,), np.float32)

    def observation_space(self, agent):
        return self.space

    def action_space(self, agent):
        return Discrete(2)

    def reset(self, seed=None, options=None):
        self.tick = 0
        self.agents = [a for a in self.possible_agents if a not in self.absent_at_reset]
        return {a: self.obs(a) for a in self.agents}, {a: {"reset": True} for a in self.agents}

    def obs(self, agent):
        return np.array([self.possible_agents.index(agent) + 1, self.tick], np.float32)

    def step(self, actions):
        assert set(actions) <= set(self.agents), (actions, self.agents)
        self.tick += 1
        if self.tick == 1:
            self.agents = list(self.possible_agents)
        alive = self.agents
        obs = {a: self.obs(a) for a in alive}
        rewards = {a: float(actions.get(a, 0)) + 0.5 for a in alive}
        terminals = {a: self.possible_agents.index(a) + 1 == self.tick for a in alive}
        truncations = dict.fromkeys(alive, False)
        self.agents = [a for a in alive if not terminals[a]]
        return obs, rewards, terminals, truncations, {a: {"t": self.tick} for a in alive}


def test_padding_and_masks_when_one_agent_dies_per_step():
    env = PettingZooPufferEnv(OneDeathPerStep())
    env.buf = buf = make_buffer(env.single_observation_space, 3)
    obs, infos = env.reset()
    assert [obs[a].tolist() for a in env.possible_agents] == [[1, 0], [2, 0], [3, 0]]
    assert buf.masks.tolist() == [True] * 3 and buf.terminals.tolist() == [False] * 3

    expected = [
        # (observations, rewards, terminals, masks) after each step
        ([[1, 1], [2, 1], [3, 1]], [1.5, 1.5, 1.5], [True, False, False], [True, True, True]),
        ([[0, 0], [2, 2], [3, 2]], [0.0, 1.5, 1.5], [True, True, False], [False, True, True]),
        ([[0, 0], [0, 0], [3, 3]], [0.0, 0.0, 1.5], [True, True, True], [False, False, True]),
    ]
    for step, (observations, rewards, terminals, masks) in enumerate(expected):
        assert not env.done
        obs, rew, term, trunc, infos = env.step(np.ones(3, np.int64))
        agents = env.possible_agents
        assert [obs[a].tolist() for a in agents] == observations
        assert [rew[a] for a in agents] == rewards == buf.rewards.tolist()
        assert [term[a] for a in agents] == terminals == buf.terminals.tolist()
        assert [trunc[a] for a in agents] == [False] * 3 == buf.truncations.tolist()
        assert buf.masks.tolist() == masks
        assert [infos[a] for a in agents] == [{"t": step + 1} if m else {} for m in masks]
    assert env.done and env.agents == []
    with pytest.raises(APIUsageError, match="after environment is done"):
        env.step({})


def test_agents_absent_at_reset_get_zero_rows_and_no_mask():
    env = PettingZooPufferEnv(OneDeathPerStep(num_agents=4, absent_at_reset=("a1", "a3")))
    env.buf = buf = make_buffer(env.single_observation_space, 4)
    obs, infos = env.reset()
    assert [obs[a].tolist() for a in env.possible_agents] == [[1, 0], [0, 0], [3, 0], [0, 0]]
    assert buf.masks.tolist() == [True, False, True, False]
    assert buf.terminals.tolist() == [False, True, False, True]
    assert infos == {"a0": {"reset": True}, "a1": {}, "a2": {"reset": True}, "a3": {}}
    # Absent agents' actions are dropped; they join on the next step with real data.
    obs, *_ = env.step({"a0": 1, "a1": 1, "a2": 0, "a3": 1})
    assert buf.masks.tolist() == [True] * 4
    assert obs["a3"].tolist() == [4, 1]


def test_late_joiner_catalogue_env_runs():
    env = PettingZooPufferEnv(catalogue.LATE_JOINER())
    env.buf = buf = make_buffer(env.single_observation_space, env.num_agents)
    env.reset(seed=0)
    assert buf.masks.tolist() == [True, True, False, False]
    env.step(np.zeros(4, np.int64))
    assert buf.masks.tolist() == [True, True, True, True] or env.done


def test_pettingzoo_attributes_and_unknown_agents():
    raw, env = wrap_multi("nested-nested")
    assert env.num_agents == 5 == len(env.possible_agents)
    assert env.possible_agents == raw.possible_agents
    for agent in env.possible_agents:
        assert env.observation_space(agent) is env.single_observation_space
        assert env.action_space(agent) is env.single_action_space
    assert env.single_action_space == MultiDiscrete([2, 4, 2, 3, 2, 2, 2])
    assert env.is_obs_emulated and env.is_atn_emulated
    with pytest.raises(InvalidAgentError, match="nope"):
        env.observation_space("nope")
    with pytest.raises(InvalidAgentError) as error:
        env.action_space("nope")
    assert "agent_0" in str(error.value)
    env.reset(seed=0)
    with pytest.raises(InvalidAgentError, match="nope"):
        env.step({"nope": np.zeros(7, np.int64)})


def test_pettingzoo_step_before_reset_and_wrong_length_array():
    _, env = wrap_multi("box-discrete")
    with pytest.raises(APIUsageError, match="before reset"):
        env.step({})
    env.reset(seed=0)
    with pytest.raises(APIUsageError, match="expected 4 rows"):
        env.step(np.zeros(3, np.int64))
    with pytest.raises(APIUsageError, match="expected 4 rows"):
        env.step(np.int64(0))


def test_pettingzoo_bad_action_and_bad_observation():
    _, env = wrap_multi("box-discrete")
    env.reset(seed=0)
    with pytest.raises(APIUsageError, match="Discrete\\(4\\)"):
        env.step(np.full(4, 9))

    class BadObs(OneDeathPerStep):
        def obs(self, agent):
            return np.array([500, 0], np.float32)

    with pytest.raises(APIUsageError, match="500"):
        PettingZooPufferEnv(BadObs()).reset()


def test_heterogeneous_spaces_are_rejected():
    class Heterogeneous(OneDeathPerStep):
        def observation_space(self, agent):
            return Box(0, 1, (2 if agent == "a0" else 3,), np.float32)

    with pytest.raises(APIUsageError, match="different observation space"):
        PettingZooPufferEnv(Heterogeneous())

    class HeterogeneousActions(OneDeathPerStep):
        def action_space(self, agent):
            return Discrete(2 if agent == "a0" else 3)

    with pytest.raises(APIUsageError, match="different action space"):
        PettingZooPufferEnv(HeterogeneousActions())


def test_pettingzoo_seeding():
    class Seeds(OneDeathPerStep):
        seeds: list = []

        def reset(self, seed=None, options=None):
            self.seeds.append(seed)
            return super().reset(seed, options)

    inner = Seeds()
    inner.seeds = []
    env = PettingZooPufferEnv(inner)
    env.reset(seed=4)
    env.reset()
    assert inner.seeds == [4, None]


def test_pettingzoo_done_when_every_agent_truncated_even_if_agents_remain_listed():
    class Sticky(OneDeathPerStep):
        def step(self, actions):
            obs, rewards, _, _, infos = super().step(actions)
            self.agents = list(self.possible_agents)  # a sloppy env that never removes agents
            return obs, rewards, dict.fromkeys(obs, False), dict.fromkeys(obs, True), infos

    env = PettingZooPufferEnv(Sticky())
    env.reset()
    env.step(np.zeros(3, np.int64))
    assert env.done


def test_pettingzoo_aec_env_is_converted():
    from pettingzoo.utils.conversions import parallel_to_aec

    env = PettingZooPufferEnv(parallel_to_aec(OneDeathPerStep()))
    obs, _ = env.reset()
    assert obs["a2"].tolist() == [3, 0]


# ------------------------------------------------------------------------------------
# Issue 9: 1.0 behaviour and bad input


def test_discrete_and_multidiscrete_action_spaces_are_the_very_same_object():
    for space in (Discrete(5), MultiDiscrete([3, 4]), MultiDiscrete(np.array([2, 2]), dtype=np.int32)):
        flat_space, _ = emulate_action_space(space)
        assert flat_space is space
    shifted = Discrete(5, start=2)  # the start is removed: a new space, offset added back
    assert emulate_action_space(shifted)[0] == Discrete(5)
    assert ActionEmulator(shifted).nativize(0) == 2


class PreciseRewards(OneDeathPerStep):
    """Rewards that float32 cannot hold exactly (0.2 -> 0.20000000298...)."""

    def step(self, actions):
        obs, rewards, terminals, truncations, infos = super().step(actions)
        return obs, {a: 0.2 * (i + 1) for i, a in enumerate(rewards)}, terminals, truncations, infos


@pytest.mark.parametrize("use_buf", [False, True])
def test_pettingzoo_step_returns_the_inner_reward_values_unchanged(use_buf):
    env = PettingZooPufferEnv(PreciseRewards())
    if use_buf:
        env.buf = make_buffer(env.single_observation_space, 3)
    env.reset()
    _, rewards, _, _, _ = env.step({a: 0 for a in env.agents})
    assert rewards == {"a0": 0.2, "a1": 0.4, "a2": 0.2 * 3}
    assert all(type(r) is float for r in rewards.values())
    _, rewards, _, _, _ = env.step({a: 0 for a in env.agents})
    assert rewards == {"a0": 0.0, "a1": 0.2, "a2": 0.4}  # a0 died on step 1: padded 0.0


class LaterBadObs(OneDeathPerStep):
    """Observations leave the space from step ``bad_from`` on."""

    bad_from = 1

    def obs(self, agent):
        if self.tick >= self.bad_from:
            return np.array([500, 0], np.float32)
        return super().obs(agent)


def test_pettingzoo_checks_the_first_step_observations():
    env = PettingZooPufferEnv(LaterBadObs())
    env.reset()  # in the space
    with pytest.raises(APIUsageError, match=r"Observation of agent 'a0' .*500"):
        env.step({a: 0 for a in env.agents})


def test_pettingzoo_check_flag_validates_every_step_observation():
    class BadFromTwo(LaterBadObs):
        bad_from = 2

    unchecked = PettingZooPufferEnv(BadFromTwo())
    unchecked.reset()
    unchecked.step({a: 0 for a in unchecked.agents})
    unchecked.step({a: 0 for a in unchecked.agents})  # in-shape, out of bounds: not rechecked
    checked = PettingZooPufferEnv(BadFromTwo(), check=True)
    checked.reset()
    checked.step({a: 0 for a in checked.agents})
    with pytest.raises(APIUsageError, match="500"):
        checked.step({a: 0 for a in checked.agents})


@pytest.mark.parametrize("check", [False, True])
def test_nan_in_a_checked_box_action_is_an_api_usage_error(check):
    class Continuous(RecordingEnv):
        def __init__(self):
            super().__init__(length=10)
            self.action_space = Box(-1, 1, (2,), np.float32)

    env = GymnasiumPufferEnv(Continuous(), check=check)
    env.reset()
    with pytest.raises(APIUsageError, match="NaN"):
        env.step(np.array([0.5, np.nan], np.float32))
    env.step(np.array([0.5, 2.0], np.float32))  # out of bounds is fine: envs clip
    if check:
        with pytest.raises(APIUsageError, match="NaN"):
            env.step(np.array([np.nan, 0.0], np.float32))
    with pytest.raises(APIUsageError, match="NaN"):
        ActionEmulator(Dict(a=Box(-1, 1, (1,)), b=Box(-1, 1, (2,)))).check(np.array([0, np.nan, 0]))


class ShapeDrift(RecordingEnv):
    """From step 2 on, observations of shape ``shape`` (numpy would broadcast them into (2,))."""

    def __init__(self, shape):
        super().__init__(length=100)
        self.bad_shape = shape

    def step(self, action):
        obs, *rest = super().step(action)
        return (np.ones(self.bad_shape, np.float32) if self.tick >= 2 else obs), *rest


@pytest.mark.parametrize("shape", [(1,), (1, 2), ()])
@pytest.mark.parametrize("use_buf", [False, True])
def test_a_wrong_observation_shape_is_an_error_on_every_step_never_broadcast(shape, use_buf):
    env = GymnasiumPufferEnv(ShapeDrift(shape))
    if use_buf:
        env.buf = buf = make_buffer(env.single_observation_space)
    env.reset()
    env.step(0)  # the checked first step is fine
    for _ in range(3):  # every later step, not just a checked one
        with pytest.raises(APIUsageError, match=rf"shape {re_escape(shape)} is not in the observation"):
            env.step(0)
    if use_buf:
        assert buf.observations[0].tolist() == [1.0, 1.0]  # the last good row, not a broadcast


def re_escape(shape: tuple) -> str:
    import re

    return re.escape(str(shape))


def test_a_wrong_leaf_shape_in_a_structured_observation_is_an_error_on_every_step():
    class Structured(RecordingEnv):
        def __init__(self):
            super().__init__(length=100)
            self.observation_space = Dict(pos=Box(0, 10, (3,), np.float32), id=Discrete(4))

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            return {"pos": np.zeros(3, np.float32), "id": 1}, {}

        def step(self, action):
            _, *rest = super().step(action)
            pos = np.zeros(3 if self.tick < 2 else 1, np.float32)
            return {"pos": pos, "id": 1}, *rest

    env = GymnasiumPufferEnv(Structured())
    env.reset()
    env.step(0)
    for _ in range(2):
        with pytest.raises(APIUsageError, match=r"leaf \['pos'\] has shape \(1,\)"):
            env.step(0)


class ImmortalDrift(ParallelEnv):
    """Two agents that never die; from step 2 on their observations have shape (1,), not (2,)."""

    metadata = {"render_modes": [], "name": "immortal_drift"}
    possible_agents = ["a0", "a1"]

    def observation_space(self, agent):
        return Box(0, 100, (2,), np.float32)

    def action_space(self, agent):
        return Discrete(2)

    def obs(self):
        shape = (1,) if self.tick >= 2 else (2,)
        return {a: np.ones(shape, np.float32) for a in self.agents}

    def reset(self, seed=None, options=None):
        self.tick, self.agents = 0, list(self.possible_agents)
        return self.obs(), {}

    def step(self, actions):
        self.tick += 1
        flags = dict.fromkeys(self.agents, False)
        return self.obs(), dict.fromkeys(self.agents, 1.0), flags, dict(flags), {}


@pytest.mark.parametrize("use_buf", [False, True])
def test_pettingzoo_wrong_observation_shape_is_an_error_on_every_step(use_buf):
    env = PettingZooPufferEnv(ImmortalDrift())
    if use_buf:
        env.buf = make_buffer(env.single_observation_space, 2)
    env.reset()
    env.step({"a0": 0, "a1": 0})
    for _ in range(3):
        with pytest.raises(APIUsageError, match=r"agent 'a0' of shape \(1,\)"):
            env.step({"a0": 0, "a1": 0})
