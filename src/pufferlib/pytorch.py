"""PyTorch helpers: layer initialisation and on-device nativization of observations.

A structured observation reaches the model as a ``(B, D)`` batch of flat rows (see
``pufferlib.emulation``: the raw bytes of an aligned C struct, viewed as the one
shared leaf dtype or else as ``uint8``). ``nativize_dtype`` turns that layout into
per-leaf ``(torch_dtype, shape, offset, delta)`` slices once, and ``nativize_tensor``
applies them to a batch on any device: every leaf is a ``narrow`` + ``view`` of the
batch (no copy), and the code is a straight line of tensor ops that
``torch.compile(fullgraph=True)`` traces without graph breaks.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar, Union

import numpy as np
import torch
from torch import nn

from pufferlib import spaces
from pufferlib.emulation import leaf_layout, struct_fields
from pufferlib.exceptions import APIUsageError

numpy_to_torch_dtype_dict: dict[np.dtype, torch.dtype] = {
    np.dtype(np.bool_): torch.bool,
    np.dtype(np.uint8): torch.uint8,
    np.dtype(np.uint16): torch.uint16,
    np.dtype(np.uint32): torch.uint32,
    np.dtype(np.uint64): torch.uint64,
    np.dtype(np.int8): torch.int8,
    np.dtype(np.int16): torch.int16,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.float16): torch.float16,
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
    np.dtype(np.complex64): torch.complex64,
    np.dtype(np.complex128): torch.complex128,
}
"""numpy dtype -> torch dtype, bool and unsigned types included."""

# A leaf: (torch dtype, per-row shape, offset, delta) in units of the flat dtype.
NativeLeaf = tuple[torch.dtype, tuple[int, ...], int, int]
NativeDType = Union[NativeLeaf, dict[Any, "NativeDType"], tuple["NativeDType", ...]]  # noqa: UP007


def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype for a numpy dtype (or anything ``np.dtype`` accepts)."""
    try:
        return numpy_to_torch_dtype_dict[np.dtype(dtype)]
    except KeyError:
        raise APIUsageError(f"No torch dtype for numpy dtype {np.dtype(dtype)}.") from None


_Layer = TypeVar("_Layer", bound=nn.Module)


def layer_init(layer: _Layer, std: float = math.sqrt(2), bias_const: float = 0.0) -> _Layer:
    """Orthogonal weights scaled by ``std``, constant bias; returns ``layer``."""
    weight = layer.weight
    assert isinstance(weight, torch.Tensor), f"{layer} has no weight tensor"
    nn.init.orthogonal_(weight, std)
    bias = getattr(layer, "bias", None)
    if bias is not None:
        nn.init.constant_(bias, bias_const)
    return layer


def nativize_dtype(emulated: Any) -> NativeDType:
    """Per-leaf ``(torch_dtype, shape, offset, delta)`` slices of flat observation rows.

    ``emulated`` is an env's (or vecenv's) ``emulated`` namespace (its
    ``observation_dtype`` may be a scalar or a subarray dtype such as
    ``np.dtype((np.uint8, (12,)))``, as 1.0 code passes it). Offsets and deltas
    are in bytes when the flat dtype is 1 byte wide, in elements of the flat dtype
    otherwise, and follow the aligned struct layout (padding included). The result
    mirrors the observation space: a dict for ``Dict``, a tuple for ``Tuple`` (or, when
    ``emulated`` carries no ``observation_space``, dicts keyed by struct field name);
    a ``Discrete`` leaf has shape ``()``. A plain ``Box`` observation is one leaf.
    """
    # 1.0 code passes the flat dtype as a subarray dtype such as ``np.dtype((np.uint8, (12,)))``:
    # offsets and deltas count elements of its base type.
    flat_dtype = np.dtype(emulated.observation_dtype).base
    struct_dtype = np.dtype(emulated.emulated_observation_dtype)
    unit = flat_dtype.itemsize

    def leaf(dtype: np.dtype, shape: tuple, byte_offset: int) -> NativeLeaf:
        nbytes = dtype.itemsize * math.prod(shape)
        if unit != 1 and dtype.itemsize != unit:
            raise APIUsageError(
                f"Leaf dtype {dtype} does not match the flat observation dtype {flat_dtype}: "
                "a flat dtype wider than one byte must be the one shared leaf dtype."
            )
        return torch_dtype(dtype), tuple(int(s) for s in shape), byte_offset // unit, nbytes // unit

    space = getattr(emulated, "observation_space", None)
    if struct_dtype.fields is None:
        base, shape = struct_dtype.subdtype or (struct_dtype, ())
        if space is not None and isinstance(space, spaces.Box):
            shape = tuple(space.shape)
        return leaf(np.dtype(base), tuple(shape), 0)

    if space is not None and not isinstance(space, spaces.Box):
        leaves = {lf.path: leaf(lf.dtype, lf.shape, lf.offset) for lf in leaf_layout(space, struct_dtype)}
        return _mirror(space, leaves, ())

    by_name: dict = {}
    for names, dtype, shape, offset in struct_fields(struct_dtype):
        node = by_name
        for name in names[:-1]:
            node = node.setdefault(name, {})
        node[names[-1]] = leaf(dtype, shape, offset)
    return by_name


def _mirror(space: Any, leaves: dict[tuple, NativeLeaf], path: tuple) -> NativeDType:
    if isinstance(space, spaces.Dict):
        return {key: _mirror(sub, leaves, (*path, key)) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(_mirror(sub, leaves, (*path, i)) for i, sub in enumerate(space.spaces))
    return leaves[path]


def nativize_tensor(observation: torch.Tensor, native_dtype: NativeDType) -> Any:
    """Rebuild nested observations from a ``(B, D)`` batch of flat rows.

    Each leaf comes back as a ``(B, *shape)`` view of ``observation`` (no copy) with
    the leaf's dtype; dicts and tuples follow ``native_dtype``. Rows whose bytes are
    not aligned for a leaf's dtype (a ``uint8`` batch sliced at an odd offset) cannot be
    viewed; pass a contiguous batch. Under ``torch.compile`` with a dynamic batch size,
    consume the leaves inside the compiled region (as a model does): PyTorch cannot
    return dtype-changing views of an input as graph outputs when shapes are symbolic.
    """
    if isinstance(native_dtype, dict):
        return {key: nativize_tensor(observation, sub) for key, sub in native_dtype.items()}
    if isinstance(native_dtype, tuple) and not (native_dtype and isinstance(native_dtype[0], torch.dtype)):
        return tuple(nativize_tensor(observation, sub) for sub in native_dtype)
    dtype, shape, offset, delta = native_dtype
    return _leaf_view(observation, dtype, shape, offset, delta)


def _leaf_view(observation: torch.Tensor, dtype: torch.dtype, shape: tuple[int, ...],
               offset: int, delta: int) -> torch.Tensor:
    batch = observation.shape[0]
    leaf = observation.narrow(1, offset, delta)
    if leaf.dtype == dtype:
        return leaf.view(batch, *shape)
    # Reshape the bytes first and reinterpret the dtype last: torch.compile with a
    # dynamic batch size cannot replay a dtype view followed by a reshape.
    if not shape:
        return leaf.view(dtype).squeeze(1)
    width = dtype.itemsize // leaf.dtype.itemsize
    return leaf.view(batch, *shape[:-1], shape[-1] * width).view(dtype)
