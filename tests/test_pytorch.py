"""pufferlib.pytorch: layer_init, nativize_dtype offsets, nativize_tensor round trips."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Tuple
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import catalogue
from pufferlib import emulation, pytorch
from pufferlib.namespace import namespace

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason="torch.cuda.is_available() is False: no CUDA device")),
]


def emulated_for(space: gymnasium.Space):
    flat, struct = emulation.emulate_observation_space(space)
    return flat, struct, namespace(observation_dtype=flat.dtype, emulated_observation_dtype=struct,
                                   observation_space=space)


# ------------------------------------------------------------------------------------
# layer_init


@pytest.mark.parametrize("std", [1.0, math.sqrt(2), 0.01])
def test_layer_init_square_is_scaled_orthogonal(std):
    layer = pytorch.layer_init(torch.nn.Linear(32, 32), std=std, bias_const=0.5)
    weight = layer.weight.detach().double()
    assert torch.allclose(weight @ weight.T, std**2 * torch.eye(32, dtype=torch.float64), atol=1e-5)
    assert torch.all(layer.bias == 0.5)


def test_layer_init_wide_has_orthonormal_rows_and_returns_layer():
    layer = torch.nn.Linear(64, 8)
    assert pytorch.layer_init(layer, std=3.0) is layer
    weight = layer.weight.detach().double()
    assert torch.allclose(weight @ weight.T, 9.0 * torch.eye(8, dtype=torch.float64), atol=1e-5)
    assert torch.all(layer.bias == 0)


def test_layer_init_default_gain_is_sqrt2_on_convolutions():
    conv = pytorch.layer_init(torch.nn.Conv2d(4, 16, 3))
    weight = conv.weight.detach().reshape(16, -1).double()
    assert torch.allclose(weight @ weight.T, 2.0 * torch.eye(16, dtype=torch.float64), atol=1e-5)


# ------------------------------------------------------------------------------------
# dtype map and nativize_dtype


def test_dtype_map_covers_bool_and_unsigned_types():
    expected = {np.bool_: torch.bool, np.uint8: torch.uint8, np.uint16: torch.uint16,
                np.uint32: torch.uint32, np.uint64: torch.uint64, np.int8: torch.int8,
                np.int64: torch.int64, np.float16: torch.float16, np.float32: torch.float32,
                np.float64: torch.float64}
    for numpy_dtype, torch_dtype in expected.items():
        assert pytorch.numpy_to_torch_dtype_dict[np.dtype(numpy_dtype)] is torch_dtype
        assert pytorch.torch_dtype(numpy_dtype) is torch_dtype


def test_nativize_dtype_byte_offsets_for_uint8_rows():
    struct = np.dtype([("foo", np.int32, (1,)), ("bar", np.int32, (2,))], align=True)
    emulated = namespace(observation_dtype=np.dtype(np.uint8), emulated_observation_dtype=struct)
    assert pytorch.nativize_dtype(emulated) == {
        "foo": (torch.int32, (1,), 0, 4),
        "bar": (torch.int32, (2,), 4, 8),
    }


def test_nativize_dtype_element_offsets_for_wide_rows():
    struct = np.dtype([("foo", np.float32, (1,)),
                       ("bar", [("a", np.float32, (2,)), ("b", np.float32, (1,))])], align=True)
    emulated = namespace(observation_dtype=np.dtype(np.float32), emulated_observation_dtype=struct)
    assert pytorch.nativize_dtype(emulated) == {
        "foo": (torch.float32, (1,), 0, 1),
        "bar": {"a": (torch.float32, (2,), 1, 2), "b": (torch.float32, (1,), 3, 1)},
    }


def test_nativize_dtype_follows_the_aligned_emulation_layout():
    space = Dict({"image": Box(0.0, 1.0, (5, 5), np.float32), "flat": Box(-2, 2, (5,), np.int8)})
    flat, _, emulated = emulated_for(space)
    assert flat.shape == (108,)
    assert pytorch.nativize_dtype(emulated) == {
        "image": (torch.float32, (5, 5), 8, 100),  # padded to a 4-byte boundary
        "flat": (torch.int8, (5,), 0, 5),
    }


def test_nativize_dtype_mirrors_tuples_and_gives_discrete_leaves_scalar_shape():
    _, _, emulated = emulated_for(Tuple((Discrete(3), Discrete(4))))
    assert pytorch.nativize_dtype(emulated) == ((torch.int64, (), 0, 1), (torch.int64, (), 1, 1))


def test_nativize_dtype_without_native_space_uses_struct_field_names():
    space = Tuple((Box(-1.0, 1.0, (2,), np.float32), Discrete(3)))
    _, struct, _ = emulated_for(space)
    emulated = namespace(observation_dtype=np.dtype(np.uint8), emulated_observation_dtype=struct)
    assert pytorch.nativize_dtype(emulated) == {
        "f0": (torch.float32, (2,), 0, 8),
        "f1": (torch.int64, (), 8, 8),
    }


def test_nativize_dtype_of_a_box_is_one_leaf():
    space = Box(0, 255, (4, 3), np.uint8)
    _, _, emulated = emulated_for(space)
    native = pytorch.nativize_dtype(emulated)
    assert native == (torch.uint8, (4, 3), 0, 12)
    batch = torch.arange(24, dtype=torch.uint8).view(2, 12)
    assert torch.equal(pytorch.nativize_tensor(batch, native), batch.view(2, 4, 3))


# ------------------------------------------------------------------------------------
# nativize_tensor


def leaf_strategy() -> st.SearchStrategy[gymnasium.Space]:
    shapes = st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple)
    box_dtypes = st.sampled_from([np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                                  np.uint8, np.uint16, np.bool_])

    def box(dtype, shape):
        if dtype is np.bool_:
            return Box(0, 1, shape, dtype=np.bool_)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return Box(max(info.min, -100), min(info.max, 100), shape, dtype=dtype)
        return Box(-10.0, 10.0, shape, dtype=dtype)

    return st.one_of(
        st.builds(box, box_dtypes, shapes),
        st.builds(lambda n, start: Discrete(n, start=start), st.integers(1, 9), st.integers(-3, 3)),
        st.builds(MultiDiscrete, st.lists(st.integers(1, 6), min_size=1, max_size=4)),
        st.builds(MultiBinary, st.integers(1, 5)),
    )


def nested_strategy() -> st.SearchStrategy[gymnasium.Space]:
    return st.recursive(
        leaf_strategy(),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda subs: Tuple(tuple(subs))),
            st.dictionaries(st.sampled_from(["a", "b", "pos", "zeta", "inv"]), children,
                            min_size=1, max_size=3).map(Dict),
        ),
        max_leaves=6,
    ).filter(lambda space: isinstance(space, (Dict, Tuple)))


def assert_matches(torch_value, native_value, row: int) -> None:
    if isinstance(native_value, dict):
        assert isinstance(torch_value, dict) and list(torch_value) == list(native_value)
        for key in native_value:
            assert_matches(torch_value[key], native_value[key], row)
    elif isinstance(native_value, tuple):
        assert isinstance(torch_value, tuple) and len(torch_value) == len(native_value)
        for sub_torch, sub_native in zip(torch_value, native_value):
            assert_matches(sub_torch, sub_native, row)
    else:
        got = torch_value[row].cpu().numpy()
        expected = np.asarray(native_value)
        assert got.shape == expected.shape
        assert got.dtype == expected.dtype
        assert np.array_equal(got, expected)


def flat_batch(space: gymnasium.Space, batch: int, seed: int):
    flat, struct, emulated = emulated_for(space)
    rng = np.random.default_rng(seed)
    rows = np.stack([emulation.emulate_copy(catalogue.sample_space(space, rng), flat.dtype, struct)
                     for _ in range(batch)])
    return rows, struct, emulated


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=nested_strategy(), batch=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_nativize_tensor_reproduces_emulation_nativize(device, space, batch, seed):
    rows, struct, emulated = flat_batch(space, batch, seed)
    native_dtype = pytorch.nativize_dtype(emulated)
    observations = torch.as_tensor(rows).to(device)
    nativized = pytorch.nativize_tensor(observations, native_dtype)
    for row in range(batch):
        assert_matches(nativized, emulation.nativize(rows[row], space, struct), row)


@pytest.mark.parametrize("name", ["tuple_mixed", "dict", "nested"])
def test_nativize_tensor_returns_views_of_the_batch(name):
    space = catalogue.OBSERVATION_SPACES[name]()
    rows, _, emulated = flat_batch(space, 4, seed=0)
    observations = torch.as_tensor(rows)
    leaves = []

    def collect(value):
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, (list, tuple)):
            for sub in value:
                collect(sub)
        else:
            leaves.append(value)

    collect(pytorch.nativize_tensor(observations, pytorch.nativize_dtype(emulated)))
    assert leaves
    for leaf in leaves:
        assert leaf.untyped_storage().data_ptr() == observations.untyped_storage().data_ptr()
        assert leaf.shape[0] == 4


def test_nativize_tensor_compiles_without_graph_breaks():
    space = catalogue.OBSERVATION_SPACES["nested"]()
    rows, struct, emulated = flat_batch(space, 6, seed=3)
    native_dtype = pytorch.nativize_dtype(emulated)

    def nativize(observations):
        return pytorch.nativize_tensor(observations, native_dtype)

    def features(observations):
        native = nativize(observations)
        leaves = [native["pos"], *native["inventory"], native["deep"]["grid"], native["deep"]["flag"]]
        return torch.cat([leaf.reshape(observations.shape[0], -1).double() for leaf in leaves], dim=1)

    observations = torch.as_tensor(rows)
    assert torch._dynamo.explain(nativize)(observations).graph_break_count == 0

    torch._dynamo.reset()
    result = torch.compile(nativize, fullgraph=True)(observations)
    for row in range(6):
        assert_matches(result, emulation.nativize(rows[row], space, struct), row)

    # Inside a model the leaves are consumed in the graph; the batch size varies.
    torch._dynamo.reset()
    compiled = torch.compile(features, fullgraph=True, dynamic=True)
    for batch in (6, 3, 5):
        assert torch.equal(compiled(observations[:batch]), features(observations[:batch]))


# ------------------------------------------------------------------------------------
# Issue 9: 1.0 passes the flat dtype as a subarray dtype


def test_nativize_dtype_accepts_a_subarray_flat_dtype_as_1_0_passes_it():
    """Spec 5.2's examples, with ``observation_dtype`` given as ``np.dtype((base, (D,)))``."""
    struct = np.dtype([("foo", np.int32, (1,)), ("bar", np.int32, (2,))])
    emulated = namespace(observation_dtype=np.dtype((np.uint8, (12,))), emulated_observation_dtype=struct)
    assert pytorch.nativize_dtype(emulated) == {
        "foo": (torch.int32, (1,), 0, 4), "bar": (torch.int32, (2,), 4, 8)}
    nested = np.dtype([("foo", np.float32, (1,)),
                       ("bar", [("a", np.float32, (2,)), ("b", np.float32, (1,))])])
    emulated = namespace(observation_dtype=np.dtype((np.float32, (4,))), emulated_observation_dtype=nested)
    assert pytorch.nativize_dtype(emulated) == {
        "foo": (torch.float32, (1,), 0, 1),
        "bar": {"a": (torch.float32, (2,), 1, 2), "b": (torch.float32, (1,), 3, 1)}}


def test_subarray_flat_dtype_nativizes_a_real_env_batch_like_a_scalar_one():
    space = Dict(pos=Box(-1, 1, (3,), np.float32), id=Discrete(5), grid=Box(0, 255, (2, 2), np.uint8))
    flat, struct, scalar = emulated_for(space)
    subarray = namespace(observation_dtype=np.dtype((flat.dtype, flat.shape)),
                         emulated_observation_dtype=struct, observation_space=space)
    assert pytorch.nativize_dtype(subarray) == pytorch.nativize_dtype(scalar)
    rows, _, _ = flat_batch(space, 3, seed=1)
    leaves = pytorch.nativize_tensor(torch.as_tensor(rows), pytorch.nativize_dtype(subarray))
    for row in range(3):
        assert_matches(leaves, emulation.nativize(rows[row], space, struct), row)
