"""Group-wise INT4/INT8 quantization: packing, fake-quant equivalence, STE, error bounds."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from needle_router.model.quantize import (
    QuantizedArray,
    dequantize_array,
    dequantize_params,
    fake_quant,
    fake_quant_params,
    pack_int4,
    packed_layout,
    quant_axis_for,
    quantize_array,
    quantize_params,
    quantized_size_report,
    unpack_int4,
    unpack_values,
)

SHAPES_AXES = [((64, 32), 0), ((64, 96), 1), ((32, 128), 0), ((128, 64), 1), ((4, 64, 8), 1)]


def _bits_range(bits):
    return (-8, 7) if bits == 4 else (-128, 127)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_pack_unpack_roundtrip_exact(bits, shape, axis):
    """Random integers in range, times known float16 scales, survive pack -> unpack exactly."""
    rng = np.random.default_rng(0)
    qmin, qmax = _bits_range(bits)
    layout = packed_layout(shape, axis, bits)
    scales_shape = layout["scales"][0]
    moved = np.moveaxis(np.empty(shape), axis, -1).shape
    # Symmetric scheme: quantize_array only produces [-qmax, qmax].
    q = rng.integers(-qmax, qmax + 1, size=moved).astype(np.int8)
    # Pin each group's max |q| to qmax so the scale is recovered exactly from the data.
    q[..., ::32] = qmax
    scales = rng.uniform(0.01, 2.0, size=scales_shape).astype(np.float16)
    w_moved = (q.reshape(scales_shape + (32,)).astype(np.float32)
               * scales.astype(np.float32)[..., None]).reshape(moved)
    w = np.moveaxis(w_moved, -1, axis)

    qa = quantize_array(w, bits, axis)
    assert qa.packed.dtype == (np.uint8 if bits == 4 else np.int8)
    assert qa.scales.dtype == np.float16
    assert qa.packed.shape == layout["packed"][0]
    np.testing.assert_array_equal(unpack_values(qa), q)
    np.testing.assert_array_equal(qa.scales, scales)
    np.testing.assert_array_equal(dequantize_array(qa), w)
    # Packing what was unpacked gives the same bytes.
    qa2 = quantize_array(dequantize_array(qa), bits, axis)
    np.testing.assert_array_equal(qa2.packed, qa.packed)
    np.testing.assert_array_equal(qa2.scales, qa.scales)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_packed_storage_roundtrip_full_range(bits, shape, axis):
    """Any integers in the full range (qmin included), packed by hand, unpack exactly."""
    rng = np.random.default_rng(6)
    qmin, qmax = _bits_range(bits)
    layout = packed_layout(shape, axis, bits)
    moved = np.moveaxis(np.empty(shape), axis, -1).shape
    q = rng.integers(qmin, qmax + 1, size=moved).astype(np.int8)
    packed = pack_int4(q) if bits == 4 else q.copy()
    scales = rng.uniform(0.01, 2.0, size=layout["scales"][0]).astype(np.float16)
    qa = QuantizedArray(packed=packed, scales=scales, shape=shape, axis=axis, bits=bits,
                        group_size=32)
    qa.validate()
    np.testing.assert_array_equal(unpack_values(qa), q)
    if bits == 4:
        np.testing.assert_array_equal(unpack_int4(packed), q)
        np.testing.assert_array_equal(pack_int4(unpack_int4(packed)), packed)
    expect = q.reshape(scales.shape + (32,)).astype(np.float32) * scales.astype(np.float32)[..., None]
    np.testing.assert_array_equal(dequantize_array(qa), np.moveaxis(expect.reshape(moved), -1, axis))


def test_int4_nibble_order():
    w = np.zeros((1, 32), np.float32)
    w[0, :4] = [7.0, -7.0, 1.0, 0.0]  # scale 1
    qa = quantize_array(w, 4, axis=1)
    assert qa.packed.shape == (1, 16)
    # low nibble = first value + 8, high nibble = second value + 8
    assert qa.packed[0, 0] == (7 + 8) | ((-7 + 8) << 4)
    assert qa.packed[0, 1] == (1 + 8) | ((0 + 8) << 4)
    assert qa.scales[0, 0] == np.float16(1.0)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_fake_quant_equals_packed_bit_exact(bits, shape, axis):
    rng = np.random.default_rng(1)
    fq = jax.jit(fake_quant, static_argnums=(1, 2, 3))
    for magnitude in (1e-4, 0.02, 1.0, 300.0):
        w = (rng.standard_normal(shape) * magnitude).astype(np.float32)
        ref = dequantize_array(quantize_array(w, bits, axis))
        for got in (np.asarray(fake_quant(w, bits, axis)), np.asarray(fq(w, bits, axis, 32))):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))


@pytest.mark.parametrize("bits", [4, 8])
def test_ste_gradient_is_identity(bits):
    rng = np.random.default_rng(2)
    w = jnp.asarray(rng.standard_normal((64, 32)), jnp.float32)
    c = jnp.asarray(rng.standard_normal((64, 32)), jnp.float32)
    grad = jax.jit(jax.grad(lambda w: jnp.sum(fake_quant(w, bits, 0) * c)))(w)
    np.testing.assert_array_equal(np.asarray(grad), np.asarray(c))
    # Through a tree as well (QAT path), with a non-quantized leaf alongside.
    params = {"dense": {"kernel": w, "bias": jnp.ones((32,))}}
    g = jax.grad(lambda p: jnp.sum(fake_quant_params(p, bits)["dense"]["kernel"] * c)
                 + jnp.sum(fake_quant_params(p, bits)["dense"]["bias"]))(params)
    np.testing.assert_array_equal(np.asarray(g["dense"]["kernel"]), np.asarray(c))
    np.testing.assert_array_equal(np.asarray(g["dense"]["bias"]), np.ones(32))


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_error_bounded_by_half_scale(bits, shape, axis):
    rng = np.random.default_rng(3)
    w = (rng.standard_normal(shape) * 0.05).astype(np.float32)
    qa = quantize_array(w, bits, axis)
    scale = np.moveaxis(np.repeat(qa.scales.astype(np.float32), 32, axis=-1), -1, axis)
    err = np.abs(dequantize_array(qa) - w)
    assert np.all(err <= scale / 2)
    qmin, qmax = _bits_range(bits)
    q = unpack_values(qa)
    assert q.min() >= qmin and q.max() <= qmax


@pytest.mark.parametrize("bits", [4, 8])
def test_zero_groups(bits):
    w = np.zeros((64, 64), np.float32)
    w[32:, :] = np.random.default_rng(4).standard_normal((32, 64))
    qa = quantize_array(w, bits, axis=0)
    assert np.all(qa.scales[:, 0] == 0)
    dq = dequantize_array(qa)
    assert np.all(np.isfinite(dq))
    np.testing.assert_array_equal(dq[:32], 0.0)
    fq = np.asarray(fake_quant(w, bits, 0))
    np.testing.assert_array_equal(fq, dq)
    g = jax.grad(lambda x: jnp.sum(fake_quant(x, bits, 0)))(jnp.asarray(w))
    assert np.all(np.isfinite(np.asarray(g)))
    # Values too small for a float16 scale also give zeros, not NaN.
    tiny = np.full((32, 32), 1e-9, np.float32)
    np.testing.assert_array_equal(dequantize_array(quantize_array(tiny, bits)), 0.0)
    np.testing.assert_array_equal(np.asarray(fake_quant(tiny, bits)), 0.0)


def test_quant_axis_for():
    assert quant_axis_for(("enc", "q_proj", "kernel"), np.zeros((64, 32))) == 0
    assert quant_axis_for(("embed", "embedding"), np.zeros((100, 64))) == 1
    # group size does not divide the input axis -> left float
    assert quant_axis_for(("enc", "q_proj", "kernel"), np.zeros((48, 64))) is None
    assert quant_axis_for(("embed", "embedding"), np.zeros((64, 48))) is None
    # norms, gates, biases, scalars, non-2-D kernels
    assert quant_axis_for(("enc", "q_norm", "scale"), np.zeros((64,))) is None
    assert quant_axis_for(("enc", "gate"), np.zeros(())) is None
    assert quant_axis_for(("enc", "q_proj", "bias"), np.zeros((64,))) is None
    assert quant_axis_for(("enc", "conv", "kernel"), np.zeros((3, 64, 64))) is None
    assert quant_axis_for(("head", "kernel"), jax.ShapeDtypeStruct((64, 8), jnp.float32)) == 0


def test_argument_validation():
    with pytest.raises(ValueError, match="divisible"):
        quantize_array(np.zeros((48, 64), np.float32), 4, 0)
    with pytest.raises(ValueError, match="bits"):
        quantize_array(np.zeros((64, 64), np.float32), 3, 0)
    with pytest.raises(ValueError, match="divisible"):
        fake_quant(jnp.zeros((48, 64)), 4, 0)


def _tree():
    rng = np.random.default_rng(5)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return {
        "embed": {"embedding": f(100, 64)},
        "encoder": {"layer_0": {"attn": {"q_proj": {"kernel": f(64, 64)},
                                         "q_norm": {"scale": f(16)}},
                                "gate": np.float32(0.3)}},
        "head": {"kernel": f(48, 32), "bias": f(32)},
    }


@pytest.mark.parametrize("bits", [4, 8])
def test_tree_level(bits):
    params = _tree()
    q = quantize_params(params, bits)
    assert isinstance(q["embed/embedding"], QuantizedArray) and q["embed/embedding"].axis == 1
    assert isinstance(q["encoder/layer_0/attn/q_proj/kernel"], QuantizedArray)
    assert isinstance(q["head/kernel"], np.ndarray)  # 48 not divisible by 32
    assert isinstance(q["encoder/layer_0/gate"], np.ndarray)
    deq = dequantize_params(q)
    fq = jax.jit(lambda p: fake_quant_params(p, bits))(params)
    for path in (("embed", "embedding"), ("encoder", "layer_0", "attn", "q_proj", "kernel"),
                 ("head", "kernel"), ("encoder", "layer_0", "gate"), ("head", "bias")):
        a, b, orig = deq, fq, params
        for k in path:
            a, b, orig = a[k], b[k], orig[k]
        assert a.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(b), a)
        if path[-1] not in ("kernel", "embedding") or path[0] == "head":
            np.testing.assert_array_equal(a, orig)

    report = quantized_size_report(q)
    assert report == quantized_size_report(params, bits)
    n = 100 * 64 + 64 * 64 + 16 + 1 + 48 * 32 + 32
    assert report["param_count"] == n and report["float32_bytes"] == 4 * n
    assert report["packed_bytes"] < report["float32_bytes"]
    assert report["quantized_params"] == 100 * 64 + 64 * 64
