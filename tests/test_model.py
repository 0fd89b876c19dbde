"""The model's shape facts: parameter counts, config validation, forward pass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from needle_router.model import ModelConfig, Needle, count_params, get_config, init_params, param_breakdown

# The upstream model with this shape has 26,315,421 parameters (DESIGN.md section 3).
UPSTREAM_26M = 26_315_421


def test_needle_26m_parameter_count_and_breakdown():
    breakdown = param_breakdown("needle-26m")
    total = count_params("needle-26m")
    assert total == sum(breakdown.values())
    assert abs(total - 26_300_000) <= 100_000
    # Within the retrieval head's size of the upstream count.
    assert abs(total - UPSTREAM_26M) <= breakdown["retrieval_head"]
    # Exact, derivable counts per component (no FFN anywhere).
    d, q, kv = 512, 8 * 64, 4 * 64
    attn = d * q + 2 * d * kv + q * d + 2 * 64  # q, k, v, o kernels + QK-norm scales
    assert breakdown["embedding"] == 8192 * 512
    assert breakdown["encoder"] == 12 * (attn + d + 1) + d
    assert breakdown["decoder"] == 8 * (2 * attn + 2 * d + 2) + d
    assert breakdown["retrieval_head"] == (512 * 128 + 128) + (128 * 128 + 128) + 1


def test_tiny_preset_is_small_and_shares_the_vocabulary():
    tiny = get_config("needle-tiny")
    assert tiny.vocab_size == get_config("needle-26m").vocab_size
    assert count_params("needle-tiny") < 1_000_000


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="needle-26m"):
        get_config("needle-1b")


@pytest.mark.parametrize("bad, message", [
    ({"num_heads": 6, "num_kv_heads": 4}, "multiple of num_kv_heads"),
    ({"head_dim": 63}, "even"),
    ({"dtype": "float16"}, "dtype"),
    ({"encoder_layers": 0}, "encoder_layers"),
])
def test_invalid_configs_are_rejected_with_the_field(bad, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**bad)


def test_config_round_trips_through_dict_and_rejects_unknown_fields():
    cfg = get_config("needle-26m")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model config field"):
        ModelConfig.from_dict({**cfg.to_dict(), "ffn_dim": 2048})
    with pytest.raises(ValueError, match="d_model"):
        ModelConfig.from_dict({**cfg.to_dict(), "d_model": "512"})


def test_forward_shapes_and_retrieval_embedding_is_unit_norm():
    cfg = get_config("needle-tiny")
    params = init_params(cfg, seed=0)
    enc = jnp.array([[17, 18, 19, 0, 0], [20, 21, 22, 23, 24]], jnp.int32)
    dec = jnp.array([[2, 30, 31], [2, 32, 33]], jnp.int32)
    logits, emb = Needle(cfg).apply({"params": params}, enc, dec)
    assert logits.shape == (2, 3, cfg.vocab_size) and logits.dtype == jnp.float32
    assert emb.shape == (2, cfg.retrieval_dim)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(emb), axis=-1), 1.0, rtol=1e-5)
    assert np.isfinite(np.asarray(logits)).all()


def test_encoder_ignores_padding():
    """Padding must not change the encoding of real tokens (masking is correct)."""
    cfg = get_config("needle-tiny")
    params = init_params(cfg, seed=0)
    model = Needle(cfg)
    short = jnp.array([[17, 18, 19]], jnp.int32)
    padded = jnp.array([[17, 18, 19, 0, 0, 0]], jnp.int32)
    out_s, _ = model.apply({"params": params}, short, method=Needle.encode)
    out_p, _ = model.apply({"params": params}, padded, method=Needle.encode)
    np.testing.assert_allclose(np.asarray(out_s), np.asarray(out_p)[:, :3], atol=1e-5)


def test_decoder_is_causal():
    cfg = get_config("needle-tiny")
    params = init_params(cfg, seed=0)
    model = Needle(cfg)
    enc = jnp.array([[17, 18, 19, 20]], jnp.int32)
    a = model.apply({"params": params}, enc, jnp.array([[2, 40, 41, 42]]))[0]
    b = model.apply({"params": params}, enc, jnp.array([[2, 40, 99, 98]]))[0]
    np.testing.assert_allclose(np.asarray(a)[:, :2], np.asarray(b)[:, :2], atol=1e-5)
    assert not np.allclose(np.asarray(a)[:, 2:], np.asarray(b)[:, 2:])


def test_bfloat16_compute_stays_close_to_float32():
    cfg = get_config("needle-tiny")
    params = init_params(cfg, seed=0)
    enc = jnp.array([[17, 18, 19, 20]], jnp.int32)
    dec = jnp.array([[2, 40, 41]], jnp.int32)
    f32, _ = Needle(cfg).apply({"params": params}, enc, dec)
    bf16, _ = Needle(cfg.replace(dtype="bfloat16")).apply({"params": params}, enc, dec)
    assert bf16.dtype == jnp.float32  # logits always come back in float32
    rel = float(jnp.linalg.norm(bf16 - f32) / jnp.linalg.norm(f32))
    assert rel < 3e-2, rel


def test_params_are_float32_and_gates_start_at_zero():
    params = init_params("needle-tiny", seed=0)
    leaves = jax.tree_util.tree_leaves_with_path(params)
    assert all(leaf.dtype == jnp.float32 for _, leaf in leaves)
    gates = [leaf for path, leaf in leaves if "gate" in jax.tree_util.keystr(path)]
    assert len(gates) == 2 + 2 * 2  # tiny: 2 encoder layers (1 gate), 2 decoder layers (2 gates)
    assert all(float(g) == 0.0 for g in gates)
