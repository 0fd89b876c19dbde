"""Group-wise symmetric weight quantization (DESIGN.md section 6).

One scheme, two views of it:

* ``fake_quant`` (jax.numpy): quantize-dequantize in the forward pass with a straight-through
  gradient, for quantization-aware training (QAT).
* ``quantize_array`` / ``dequantize_array`` (numpy): packed storage for weight files.

Both round through exactly the same steps, so ``fake_quant(w)`` equals
``dequantize_array(quantize_array(w))`` bit for bit; a model trained with QAT therefore sees in
training precisely the weights it is served with.

The scheme, for a group of ``group_size`` consecutive elements along the quantization axis
(the input dimension of a kernel):

    scale = float16(max|w| * float32(1 / qmax))          qmax = 7 (int4) or 127 (int8)
    q     = clip(round_half_even(w * float32(1 / scale)), qmin, qmax)     qmin = -8 or -128
    w'    = float32(q) * float32(scale)

A group whose float16 scale is zero (all zeros, or values too small for float16) dequantizes to
zeros. Scales are capped at the largest finite float16 so that they never become ``inf``.

Packed layout of a ``QuantizedArray`` (``m`` = ``w`` with ``axis`` moved last, ``L`` = its length):

* int4: ``packed`` uint8 of shape ``m.shape[:-1] + (L // 2,)``; element ``2i`` of a row is the low
  nibble of byte ``i``, element ``2i + 1`` the high nibble; nibbles hold ``q + 8`` (0..15).
* int8: ``packed`` int8 of shape ``m.shape[:-1] + (L,)`` holding ``q``.
* ``scales`` float16 of shape ``m.shape[:-1] + (L // group_size,)``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_GROUP_SIZE = 32
SUPPORTED_BITS = (4, 8)
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def qrange(bits: int) -> tuple[int, int]:
    """(qmin, qmax) of a signed ``bits``-bit integer."""
    if bits not in SUPPORTED_BITS:
        raise ValueError(f"bits must be one of {SUPPORTED_BITS}, got {bits!r}")
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _inv_qmax(bits: int) -> np.float32:
    # Multiplying by float32(1/qmax) instead of dividing by qmax (and by 1/scale instead of
    # dividing by scale) is part of the definition: XLA rewrites division by a broadcast value
    # into multiplication by its reciprocal, so only this form gives bit-identical results in
    # numpy and in jitted jax.
    return np.float32(1.0 / qrange(bits)[1])


def _check_grouping(shape: tuple[int, ...], axis: int, group_size: int, bits: int) -> int:
    """Validate the arguments; return ``axis`` normalised to a non-negative index."""
    qrange(bits)
    ndim = len(shape)
    if ndim == 0:
        raise ValueError("cannot quantize a scalar")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} out of range for shape {shape}")
    axis %= ndim
    if not isinstance(group_size, int) or group_size <= 0:
        raise ValueError(f"group_size must be a positive int, got {group_size!r}")
    if bits == 4 and group_size % 2:
        raise ValueError(f"int4 packing needs an even group_size, got {group_size}")
    if shape[axis] % group_size:
        raise ValueError(
            f"axis {axis} of shape {shape} (length {shape[axis]}) is not divisible by "
            f"group_size {group_size}")
    return axis


# --------------------------------------------------------------------------------------------
# fake quantization (jax)


def _qdq_jnp(w: jax.Array, bits: int, axis: int, group_size: int) -> jax.Array:
    qmin, qmax = qrange(bits)
    axis = _check_grouping(tuple(w.shape), axis, group_size, bits)
    x = jnp.moveaxis(w.astype(jnp.float32), axis, -1)
    moved_shape = x.shape
    g = x.reshape(moved_shape[:-1] + (moved_shape[-1] // group_size, group_size))
    amax = jnp.max(jnp.abs(g), axis=-1)
    scale = jnp.minimum(amax * _inv_qmax(bits), jnp.float32(_FLOAT16_MAX))
    scale = scale.astype(jnp.float16).astype(jnp.float32)
    inv = jnp.where(scale == 0, jnp.float32(0), jnp.float32(1) / jnp.where(scale == 0, 1, scale))
    q = jnp.clip(jnp.round(g * inv[..., None]), qmin, qmax)
    # Through int8 as in the packed path: this also turns -0.0 into +0.0.
    q = q.astype(jnp.int8).astype(jnp.float32)
    dq = (q * scale[..., None]).reshape(moved_shape)
    return jnp.moveaxis(dq, -1, axis).astype(w.dtype)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _fake_quant_ste(w, bits, axis, group_size):
    return _qdq_jnp(w, bits, axis, group_size)


@_fake_quant_ste.defjvp
def _fake_quant_ste_jvp(bits, axis, group_size, primals, tangents):
    (w,), (dw,) = primals, tangents
    # Straight-through estimator: the tangent (and so the gradient) passes unchanged.
    return _fake_quant_ste(w, bits, axis, group_size), dw


def fake_quant(w: jax.Array, bits: int = 4, axis: int = 0,
               group_size: int = DEFAULT_GROUP_SIZE) -> jax.Array:
    """Quantize-dequantize ``w`` with a straight-through gradient (identity).

    The forward value equals ``dequantize_array(quantize_array(w, ...))`` exactly. The STE is
    written as a ``custom_jvp`` rather than ``w + stop_gradient(dq - w)`` so that the forward value
    is ``dq`` itself, with no float rounding from the add/subtract; the gradient is the same.
    Works under ``jit``, ``grad`` and ``vmap``; ``bits``, ``axis`` and ``group_size`` are static.
    """
    w = jnp.asarray(w)
    return _fake_quant_ste(w, int(bits), int(axis), int(group_size))


# --------------------------------------------------------------------------------------------
# packed storage (numpy)


@dataclasses.dataclass(frozen=True)
class QuantizedArray:
    """A packed quantized array; see the module docstring for the layout."""

    packed: np.ndarray  # uint8 (int4, two values per byte) or int8 (int8)
    scales: np.ndarray  # float16, one per group
    shape: tuple[int, ...]  # shape of the original float array
    axis: int  # quantization (input) axis of the original array, non-negative
    bits: int
    group_size: int

    @property
    def nbytes(self) -> int:
        return int(self.packed.nbytes + self.scales.nbytes)

    @property
    def size(self) -> int:
        """Number of elements of the original array."""
        return int(np.prod(self.shape, dtype=np.int64))

    def expected_layout(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        return packed_layout(self.shape, self.axis, self.bits, self.group_size)

    def validate(self) -> None:
        """Raise ValueError if packed/scales do not match shape/axis/bits/group_size."""
        layout = self.expected_layout()
        for name, arr in (("packed", self.packed), ("scales", self.scales)):
            shape, dtype = layout[name]
            if tuple(arr.shape) != shape or arr.dtype != dtype:
                raise ValueError(
                    f"{name} is {arr.dtype}{list(arr.shape)}, expected {np.dtype(dtype)}{list(shape)} "
                    f"for a {self.bits}-bit array of shape {list(self.shape)} "
                    f"(axis {self.axis}, group_size {self.group_size})")


def packed_layout(shape: tuple[int, ...], axis: int, bits: int,
                  group_size: int = DEFAULT_GROUP_SIZE) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shapes and dtypes of ``packed`` and ``scales`` for an array of ``shape``."""
    shape = tuple(int(s) for s in shape)
    axis = _check_grouping(shape, axis, group_size, bits)
    moved = shape[:axis] + shape[axis + 1:] + (shape[axis],)
    length = moved[-1]
    packed = (moved[:-1] + (length // 2,), np.dtype(np.uint8)) if bits == 4 else \
        (moved, np.dtype(np.int8))
    return {"packed": packed, "scales": (moved[:-1] + (length // group_size,), np.dtype(np.float16))}


def _quantize_groups_np(w: np.ndarray, bits: int, axis: int, group_size: int):
    """Return (q int8 in moved layout, scales float16 in grouped layout)."""
    qmin, qmax = qrange(bits)
    x = np.moveaxis(np.asarray(w, dtype=np.float32), axis, -1)
    moved_shape = x.shape
    g = x.reshape(moved_shape[:-1] + (moved_shape[-1] // group_size, group_size))
    amax = np.max(np.abs(g), axis=-1)
    scale = np.minimum(amax * _inv_qmax(bits), np.float32(_FLOAT16_MAX)).astype(np.float32)
    scale16 = scale.astype(np.float16)
    scale32 = scale16.astype(np.float32)
    inv = np.where(scale32 == 0, np.float32(0),
                   np.float32(1) / np.where(scale32 == 0, np.float32(1), scale32)).astype(np.float32)
    q = np.clip(np.round(g * inv[..., None]), qmin, qmax).astype(np.int8)
    return q.reshape(moved_shape), scale16


def quantize_array(w: np.ndarray, bits: int = 4, axis: int = 0,
                   group_size: int = DEFAULT_GROUP_SIZE) -> QuantizedArray:
    """Quantize a float array into a packed ``QuantizedArray``."""
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.floating):
        raise ValueError(f"can only quantize floating arrays, got {w.dtype}")
    axis = _check_grouping(tuple(w.shape), axis, group_size, bits)
    q, scales = _quantize_groups_np(w, bits, axis, group_size)
    packed = pack_int4(q) if bits == 4 else q
    return QuantizedArray(packed=np.ascontiguousarray(packed), scales=np.ascontiguousarray(scales),
                          shape=tuple(int(s) for s in w.shape), axis=axis, bits=bits,
                          group_size=group_size)


def pack_int4(q: np.ndarray) -> np.ndarray:
    """int values in [-8, 7], ``[..., 2n]`` -> uint8 ``[..., n]`` (low nibble first, offset +8)."""
    q = np.asarray(q)
    if q.shape[-1] % 2:
        raise ValueError(f"int4 packing needs an even last axis, got shape {q.shape}")
    if q.size and (q.min() < -8 or q.max() > 7):
        raise ValueError("int4 values must lie in [-8, 7]")
    nib = (q.astype(np.int16) + 8).astype(np.uint8)
    return np.ascontiguousarray(nib[..., 0::2] | (nib[..., 1::2] << 4), dtype=np.uint8)


def unpack_int4(packed: np.ndarray) -> np.ndarray:
    """Inverse of the int4 packing: uint8 ``[..., n]`` -> int8 ``[..., 2n]`` in [-8, 7]."""
    packed = np.asarray(packed, dtype=np.uint8)
    lo = (packed & 0x0F).astype(np.int8) - 8
    hi = (packed >> 4).astype(np.int8) - 8
    out = np.empty(packed.shape[:-1] + (packed.shape[-1] * 2,), dtype=np.int8)
    out[..., 0::2] = lo
    out[..., 1::2] = hi
    return out


def unpack_values(qa: QuantizedArray) -> np.ndarray:
    """Integer values ``q`` (int8) of ``qa`` in the moved layout (quant axis last)."""
    qa.validate()
    return unpack_int4(qa.packed) if qa.bits == 4 else qa.packed.astype(np.int8)


def dequantize_array(qa: QuantizedArray) -> np.ndarray:
    """Float32 values of a ``QuantizedArray``, in the original shape."""
    q = unpack_values(qa)
    moved_shape = q.shape
    g = q.reshape(moved_shape[:-1] + (moved_shape[-1] // qa.group_size, qa.group_size))
    dq = g.astype(np.float32) * qa.scales.astype(np.float32)[..., None]
    return np.ascontiguousarray(np.moveaxis(dq.reshape(moved_shape), -1, qa.axis))


# --------------------------------------------------------------------------------------------
# parameter trees


def _flatten(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in tree.items():
        if not isinstance(key, str):
            raise ValueError(f"parameter keys must be strings, got {key!r} under {'/'.join(prefix)!r}")
        if "/" in key or not key:
            raise ValueError(f"parameter key {key!r} under {'/'.join(prefix)!r} is empty or contains '/'")
        path = prefix + (key,)
        if isinstance(value, Mapping):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _unflatten(flat: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, value in flat.items():
        node = root
        for i, key in enumerate(path[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ValueError(f"path {'/'.join(path)!r} conflicts with leaf {'/'.join(path[:i + 1])!r}")
            node = child
        if path[-1] in node:
            raise ValueError(f"path {'/'.join(path)!r} given twice or conflicts with a subtree")
        node[path[-1]] = value
    return root


def _map_tree(fn: Callable[[tuple[str, ...], Any], Any], tree: Mapping[str, Any],
              prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    return {key: (_map_tree(fn, value, prefix + (key,)) if isinstance(value, Mapping)
                  else fn(prefix + (key,), value))
            for key, value in tree.items()}


def quant_axis_for(path: tuple[str, ...], leaf: Any,
                   group_size: int = DEFAULT_GROUP_SIZE) -> int | None:
    """Quantization axis of a parameter, or None when it stays float32.

    2-D ``kernel`` leaves (Dense, ``[in, out]``) quantize along axis 0; the 2-D ``embedding`` table
    (``[vocab, d_model]``, its output projection is ``x @ E.T``) along axis 1. Only when that axis
    is divisible by ``group_size``. Norm scales, gates, biases and scalars stay float32.
    """
    if not path:
        return None
    shape = tuple(np.shape(leaf)) if not hasattr(leaf, "shape") else tuple(leaf.shape)
    if len(shape) != 2:
        return None
    name = path[-1]
    axis = 0 if name == "kernel" else 1 if name == "embedding" else None
    if axis is None or shape[axis] % group_size:
        return None
    return axis


def fake_quant_params(params: Mapping[str, Any], bits: int = 4,
                      group_size: int = DEFAULT_GROUP_SIZE) -> dict[str, Any]:
    """Apply ``fake_quant`` (STE) to every quantizable leaf of a param tree; others pass through."""

    def leaf_fn(path, leaf):
        axis = quant_axis_for(path, leaf, group_size)
        return leaf if axis is None else fake_quant(leaf, bits, axis, group_size)

    return _map_tree(leaf_fn, params)


def quantize_params(params: Mapping[str, Any], bits: int = 4,
                    group_size: int = DEFAULT_GROUP_SIZE) -> dict[str, QuantizedArray | np.ndarray]:
    """Flat ``{"a/b/c": QuantizedArray | float32 ndarray}`` for a nested param tree."""
    qrange(bits)
    out: dict[str, QuantizedArray | np.ndarray] = {}
    for path, leaf in _flatten(params).items():
        arr = np.asarray(leaf)
        axis = quant_axis_for(path, arr, group_size)
        key = "/".join(path)
        if axis is None:
            out[key] = np.array(arr, dtype=np.float32)
        else:
            out[key] = quantize_array(arr, bits, axis, group_size)
    return out


def dequantize_params(qparams: Mapping[str, QuantizedArray | np.ndarray]) -> dict[str, Any]:
    """Nested float32 param tree from the output of ``quantize_params``."""
    flat = {}
    for key, value in qparams.items():
        arr = dequantize_array(value) if isinstance(value, QuantizedArray) else \
            np.array(value, dtype=np.float32)
        flat[tuple(key.split("/"))] = arr
    return _unflatten(flat)


def quantized_size_report(params_or_qparams: Mapping[str, Any], bits: int = 4,
                          group_size: int = DEFAULT_GROUP_SIZE) -> dict[str, Any]:
    """Bytes of the packed representation versus all-float32.

    Accepts a nested float param tree (quantized here with ``bits``/``group_size``) or the flat
    output of ``quantize_params``. Returns ``float32_bytes``, ``packed_bytes`` (packed values +
    float16 scales + float32 leaves left unquantized), ``ratio`` (float32 / packed),
    ``param_count``, ``quantized_params`` and ``float_params`` (element counts).
    """
    is_flat = any(isinstance(v, QuantizedArray) for v in params_or_qparams.values()) or \
        any("/" in k for k in params_or_qparams)
    if is_flat:
        qparams = params_or_qparams
    else:
        qparams = quantize_params(params_or_qparams, bits, group_size)
    packed = n_q = n_f = 0
    for value in qparams.values():
        if isinstance(value, QuantizedArray):
            n_q += value.size
            packed += value.nbytes
        else:
            n_f += int(np.size(value))
            packed += int(np.size(value)) * 4
    float_bytes = (n_q + n_f) * 4
    return {
        "float32_bytes": float_bytes,
        "packed_bytes": packed,
        "ratio": float_bytes / packed if packed else 1.0,
        "param_count": n_q + n_f,
        "quantized_params": n_q,
        "float_params": n_f,
    }
