"""The quantized model: served INT4/INT8 weights behave like the float model, and the QAT
forward (fake-quant) is exactly the forward of the weights that get shipped."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from needle_router.model import Needle, get_config, init_params
from needle_router.model.quantize import dequantize_params, quantize_params
from needle_router.model.weights import load_weights, save_weights

# Tolerances on the relative L2 error of the logits against the float32 model, random init
# weights (measured: INT4 0.155 tiny / 0.213 26m; INT8 0.009 / 0.011). INT4 carries ~9%
# relative weight noise per matrix (uniform error of +-scale/2 with scale = max|w|/7 over
# groups of 32), which 20 layers compound; QAT is what makes trained models robust to it.
REL_TOL = {4: 0.30, 8: 0.02}


def _inputs():
    r = np.random.default_rng(0)
    return (jnp.asarray(r.integers(16, 8192, size=(4, 48)), jnp.int32),
            jnp.asarray(r.integers(16, 8192, size=(4, 16)), jnp.int32))


@pytest.mark.parametrize("preset", ["needle-tiny", "needle-26m"])
@pytest.mark.parametrize("bits", [4, 8])
def test_quantized_forward_stays_close_to_float(preset, bits):
    cfg = get_config(preset)
    params = init_params(cfg, seed=0)
    enc, dec = _inputs()
    ref, ref_emb = Needle(cfg).apply({"params": params}, enc, dec)
    dq = dequantize_params(quantize_params(jax.tree.map(np.asarray, params), bits=bits))
    out, emb = Needle(cfg).apply({"params": dq}, enc, dec)
    rel = float(jnp.linalg.norm(out - ref) / jnp.linalg.norm(ref))
    assert rel < REL_TOL[bits], rel
    assert float((out.argmax(-1) == ref.argmax(-1)).mean()) > 0.95
    assert float(jnp.min(jnp.sum(emb * ref_emb, -1))) > 0.9  # retrieval embeddings (cosine)


@pytest.mark.parametrize("bits", [4, 8])
def test_fake_quant_forward_equals_the_served_weights(bits):
    """What QAT trains against is bit-for-bit what the INT4 file serves."""
    cfg = get_config("needle-tiny")
    params = init_params(cfg, seed=1)
    enc, dec = _inputs()
    fake, _ = Needle(cfg, quant_bits=bits).apply({"params": params}, enc, dec)
    dq = dequantize_params(quantize_params(jax.tree.map(np.asarray, params), bits=bits))
    served, _ = Needle(cfg).apply({"params": dq}, enc, dec)
    np.testing.assert_array_equal(np.asarray(fake), np.asarray(served))


def test_int4_weight_file_of_needle_26m_is_small_and_loads_to_the_same_model(tmp_path):
    cfg = get_config("needle-26m")
    params = init_params(cfg, seed=0)
    save_weights(tmp_path, params, cfg, quant="int4")
    size_mb = (tmp_path / "model.safetensors").stat().st_size / 1e6
    assert size_mb < 25, size_mb
    loaded, loaded_cfg, _ = load_weights(tmp_path)
    assert loaded_cfg == cfg
    dq = dequantize_params(quantize_params(jax.tree.map(np.asarray, params), bits=4))
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(dq), jax.tree.leaves(loaded)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=jax.tree_util.keystr(path))
