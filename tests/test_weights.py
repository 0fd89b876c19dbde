"""Weight files: round trips, validation of damaged/mismatched files, atomic writes."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

import needle_router.model.weights as weights_mod
from needle_router.model.config import ModelConfig
from needle_router.model.quantize import dequantize_params, quantize_params
from needle_router.model.weights import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    WeightsError,
    flatten_params,
    load_weights,
    save_weights,
    unflatten_params,
)

CONFIG = ModelConfig(name="test-64", vocab_size=96, d_model=64, num_heads=4, num_kv_heads=2,
                     head_dim=16, encoder_layers=1, decoder_layers=1, retrieval_dim=32)


def shapes_for(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Shapes a (tiny, synthetic) model with this config would have."""
    d, kv = cfg.d_model, cfg.num_kv_heads * cfg.head_dim
    return {
        "embed/embedding": (cfg.vocab_size, d),
        "encoder/layer_0/attn/q_proj/kernel": (d, cfg.num_heads * cfg.head_dim),
        "encoder/layer_0/attn/k_proj/kernel": (d, kv),
        "encoder/layer_0/attn/q_norm/scale": (cfg.head_dim,),
        "encoder/layer_0/gate": (),
        "encoder/final_norm/scale": (d,),
        "retrieval/dense_0/kernel": (d, cfg.retrieval_dim),
        "retrieval/dense_0/bias": (cfg.retrieval_dim,),
        "retrieval/temperature": (),
    }


def make_params(cfg: ModelConfig = CONFIG, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    flat = {k: (rng.standard_normal(s) * 0.1).astype(np.float32) for k, s in shapes_for(cfg).items()}
    return unflatten_params(flat)


def assert_trees_equal(a, b):
    fa, fb = flatten_params(a), flatten_params(b)
    assert sorted(fa) == sorted(fb)
    for k in fa:
        assert np.asarray(fa[k]).dtype == np.float32, k
        np.testing.assert_array_equal(np.asarray(fa[k]), np.asarray(fb[k]), err_msg=k)


def temp_files(directory):
    return [n for n in os.listdir(directory) if n not in (WEIGHTS_FILE, CONFIG_FILE)]


@pytest.fixture
def saved(tmp_path):
    d = tmp_path / "w"
    save_weights(d, make_params(), CONFIG, quant="int4", extra_metadata={"step": 7})
    return d


def test_flatten_unflatten():
    params = make_params()
    flat = flatten_params(params)
    assert "encoder/layer_0/attn/q_proj/kernel" in flat
    assert_trees_equal(unflatten_params(flat), params)
    with pytest.raises(ValueError):
        flatten_params({"a/b": np.zeros(1)})
    with pytest.raises(ValueError):
        unflatten_params({"a": np.zeros(1), "a/b": np.zeros(1)})


def test_roundtrip_float32_exact(tmp_path):
    params = make_params()
    save_weights(tmp_path / "f", params, CONFIG, quant="float32")
    loaded, cfg, info = load_weights(tmp_path / "f", expected=shapes_for(CONFIG))
    assert cfg == CONFIG
    assert info["quant"] == "float32" and info["extra"] == {}
    assert_trees_equal(loaded, params)


@pytest.mark.parametrize("quant,bits", [("int4", 4), ("int8", 8)])
def test_roundtrip_quantized(tmp_path, quant, bits):
    params = make_params()
    save_weights(tmp_path / quant, params, CONFIG, quant=quant, extra_metadata={"step": 3, "loss": 1.5})
    loaded, cfg, info = load_weights(tmp_path / quant, expected=shapes_for)
    assert cfg == CONFIG
    assert info["extra"] == {"step": 3, "loss": 1.5}
    assert info["param_count"] == sum(int(np.prod(s)) for s in shapes_for(CONFIG).values())
    assert_trees_equal(loaded, dequantize_params(quantize_params(params, bits)))
    names = json.loads((tmp_path / quant / CONFIG_FILE).read_text())
    assert names["format"] == "needle-weights" and names["format_version"] == 1
    # Non-quantized leaves are exact.
    flat, orig = flatten_params(loaded), flatten_params(params)
    np.testing.assert_array_equal(flat["retrieval/dense_0/bias"], orig["retrieval/dense_0/bias"])
    if quant == "int4":
        size = (tmp_path / quant / WEIGHTS_FILE).stat().st_size
        float_size = 4 * info["param_count"]
        assert size < float_size / 3


def test_tensor_names(saved):
    import safetensors.numpy

    tensors = safetensors.numpy.load_file(str(saved / WEIGHTS_FILE))
    assert "encoder/layer_0/attn/q_proj/kernel.qweight" in tensors
    assert tensors["encoder/layer_0/attn/q_proj/kernel.qweight"].dtype == np.uint8
    assert tensors["encoder/layer_0/attn/q_proj/kernel.scales"].dtype == np.float16
    assert "embed/embedding.qweight" in tensors
    assert tensors["encoder/layer_0/gate"].dtype == np.float32
    assert "encoder/layer_0/gate.qweight" not in tensors


def test_no_temp_files_and_overwrite(saved):
    assert temp_files(saved) == []
    params2 = make_params(seed=1)
    save_weights(saved, params2, CONFIG, quant="float32")
    assert temp_files(saved) == []
    loaded, _, _ = load_weights(saved)
    assert_trees_equal(loaded, params2)


# ---------------------------------------------------------------------------------------------
# damaged or mismatched files


def expect_error(directory, file_name, *words, **kwargs):
    with pytest.raises(WeightsError) as info:
        load_weights(directory, **kwargs)
    msg = str(info.value)
    assert file_name in msg, msg
    assert any(w in msg.lower() for w in words), msg
    assert "\n" not in msg
    return msg


def test_missing_directory_and_files(tmp_path, saved):
    expect_error(tmp_path / "nope", "nope", "does not exist", "missing")
    (saved / CONFIG_FILE).unlink()
    expect_error(saved, CONFIG_FILE, "missing")


def test_missing_weights_file(saved):
    (saved / WEIGHTS_FILE).unlink()
    expect_error(saved, WEIGHTS_FILE, "missing")


@pytest.mark.parametrize("keep", [4, 100, -10])
def test_truncated_file(saved, keep):
    p = saved / WEIGHTS_FILE
    data = p.read_bytes()
    p.write_bytes(data[:keep] if keep > 0 else data[:keep])
    expect_error(saved, WEIGHTS_FILE, "truncated")


def test_corrupt_header(saved):
    p = saved / WEIGHTS_FILE
    data = bytearray(p.read_bytes())
    data[9:14] = b"@@@@@"  # inside the JSON header
    p.write_bytes(bytes(data))
    expect_error(saved, WEIGHTS_FILE, "corrupt header")
    # An absurd header length is reported as corrupt, not as a memory error.
    data[:8] = struct.pack("<Q", 1 << 60)
    p.write_bytes(bytes(data))
    expect_error(saved, WEIGHTS_FILE, "corrupt header")


def test_flipped_byte_checksum(saved):
    p = saved / WEIGHTS_FILE
    data = bytearray(p.read_bytes())
    data[-5] ^= 0x10  # tensor data
    p.write_bytes(bytes(data))
    msg = expect_error(saved, WEIGHTS_FILE, "checksum mismatch")
    assert "corrupt" in msg


def test_trailing_garbage(saved):
    p = saved / WEIGHTS_FILE
    p.write_bytes(p.read_bytes() + b"xx")
    expect_error(saved, WEIGHTS_FILE, "size mismatch", "trailing")


def test_missing_tensor(tmp_path):
    params = flatten_params(make_params())
    del params["encoder/layer_0/attn/k_proj/kernel"]
    save_weights(tmp_path, unflatten_params(params), CONFIG)
    msg = expect_error(tmp_path, WEIGHTS_FILE, "missing", expected=shapes_for)
    assert "k_proj" in msg


def test_unexpected_tensor(tmp_path):
    params = flatten_params(make_params())
    params["encoder/layer_0/extra/kernel"] = np.zeros((64, 64), np.float32)
    save_weights(tmp_path, unflatten_params(params), CONFIG)
    expect_error(tmp_path, WEIGHTS_FILE, "unexpected", expected=shapes_for(CONFIG))


def test_tensor_removed_from_file_without_expected(saved):
    """Even without expected shapes, a tensor removed from the file (checksum fixed up) is caught."""
    import hashlib

    import safetensors
    import safetensors.numpy

    p = saved / WEIGHTS_FILE
    with safetensors.safe_open(str(p), framework="numpy") as f:
        meta = f.metadata()
    tensors = safetensors.numpy.load_file(str(p))
    del tensors["retrieval/dense_0/bias"]
    blob = safetensors.numpy.save(tensors, metadata=meta)
    p.write_bytes(blob)
    cfg = json.loads((saved / CONFIG_FILE).read_text())
    cfg["sha256"], cfg["file_size"] = hashlib.sha256(blob).hexdigest(), len(blob)
    (saved / CONFIG_FILE).write_text(json.dumps(cfg))
    expect_error(saved, WEIGHTS_FILE, "missing", "param count")
    # ... and a scales tensor removed from a quantized leaf names it.
    tensors = safetensors.numpy.load_file(str(p))
    del tensors["embed/embedding.scales"]
    blob = safetensors.numpy.save(tensors, metadata=meta)
    p.write_bytes(blob)
    cfg["sha256"], cfg["file_size"] = hashlib.sha256(blob).hexdigest(), len(blob)
    (saved / CONFIG_FILE).write_text(json.dumps(cfg))
    msg = expect_error(saved, WEIGHTS_FILE, "missing")
    assert "embed/embedding.scales" in msg


def test_wrong_shape(saved):
    shapes = shapes_for(CONFIG)
    shapes["encoder/layer_0/attn/k_proj/kernel"] = (64, 64)
    msg = expect_error(saved, WEIGHTS_FILE, "shape", expected=shapes)
    assert "k_proj" in msg


def test_expected_as_nested_shape_tree(saved):
    import jax
    import jax.numpy as jnp

    tree = unflatten_params({k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in shapes_for(CONFIG).items()})
    load_weights(saved, expected=tree)
    load_weights(saved, expected=lambda cfg: tree)


def edit_config(directory, fn):
    p = directory / CONFIG_FILE
    cfg = json.loads(p.read_text())
    fn(cfg)
    p.write_text(json.dumps(cfg))


def test_mismatched_model_config(saved, monkeypatch):
    # config.json edited to another d_model: caught against the config recorded in the weights,
    edit_config(saved, lambda c: c["model"].update(d_model=128))
    expect_error(saved, CONFIG_FILE, "config mismatch")
    expect_error(saved, CONFIG_FILE, "config mismatch", expected=shapes_for(CONFIG))
    # and, without that check, by the shapes expected from the loaded config.
    monkeypatch.setattr(weights_mod, "_CONFIG_FIELDS_FREE_TO_EDIT", ("name", "dtype", "d_model"))
    msg = expect_error(saved, WEIGHTS_FILE, "wrong shape", expected=shapes_for)
    assert "d_model=128" in msg


def test_free_fields_may_be_edited(saved):
    edit_config(saved, lambda c: c["model"].update(dtype="bfloat16", name="renamed"))
    _, cfg, _ = load_weights(saved, expected=shapes_for)
    assert cfg.dtype == "bfloat16" and cfg.name == "renamed"


@pytest.mark.parametrize("content,word", [
    ("{not json", "malformed"),
    ("[1, 2]", "malformed"),
    ('{"format": "needle-weights"}', "missing field"),
])
def test_malformed_config_json(saved, content, word):
    (saved / CONFIG_FILE).write_text(content)
    expect_error(saved, CONFIG_FILE, word)


@pytest.mark.parametrize("edit,word", [
    (lambda c: c.update(format_version=99), "version"),
    (lambda c: c.update(format="other"), "format"),
    (lambda c: c.update(quant="int3"), "quant"),
    (lambda c: c["model"].update(num_heads=3), "invalid model config"),
    (lambda c: c["model"].update(bogus=1), "invalid model config"),
    (lambda c: c.update(sha256=12), "malformed"),
    (lambda c: c.update(quant="int8"), "config mismatch"),
])
def test_invalid_config_fields(saved, edit, word):
    edit_config(saved, edit)
    expect_error(saved, CONFIG_FILE if word != "config mismatch" else WEIGHTS_FILE, word)


def test_not_utf8_config(saved):
    (saved / CONFIG_FILE).write_bytes(b"\xff\xfe\x00garbage")
    expect_error(saved, CONFIG_FILE, "malformed")


# ---------------------------------------------------------------------------------------------
# atomic writes


def test_failed_serialization_keeps_old_files(saved, monkeypatch):
    before = {n: (saved / n).read_bytes() for n in (WEIGHTS_FILE, CONFIG_FILE)}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(weights_mod.safetensors.numpy, "save", boom)
    with pytest.raises(RuntimeError):
        save_weights(saved, make_params(seed=2), CONFIG)
    assert {n: (saved / n).read_bytes() for n in before} == before
    assert temp_files(saved) == []
    load_weights(saved, expected=shapes_for)


def test_failed_replace_keeps_old_files(saved, monkeypatch):
    before = {n: (saved / n).read_bytes() for n in (WEIGHTS_FILE, CONFIG_FILE)}

    def boom(src, dst):
        raise OSError("simulated crash")

    monkeypatch.setattr(weights_mod.os, "replace", boom)
    with pytest.raises(OSError):
        save_weights(saved, make_params(seed=2), CONFIG)
    assert {n: (saved / n).read_bytes() for n in before} == before
    assert temp_files(saved) == []
    load_weights(saved, expected=shapes_for)


def test_crash_between_files_is_detected(saved, monkeypatch):
    """New weights file in place, old config.json: detected as a checksum/size mismatch."""
    real_replace = os.replace

    def replace_only_weights(src, dst):
        if str(dst).endswith(CONFIG_FILE):
            raise OSError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(weights_mod.os, "replace", replace_only_weights)
    with pytest.raises(OSError):
        save_weights(saved, make_params(seed=3), CONFIG, quant="int8")
    monkeypatch.undo()
    assert temp_files(saved) == []
    expect_error(saved, WEIGHTS_FILE, "mismatch")


def test_save_validation(tmp_path):
    with pytest.raises(ValueError, match="quant"):
        save_weights(tmp_path, make_params(), CONFIG, quant="int2")
    with pytest.raises(ValueError, match="JSON"):
        save_weights(tmp_path, make_params(), CONFIG, extra_metadata={"x": object()})
    with pytest.raises(ValueError, match="non-float"):
        save_weights(tmp_path, {"a": np.arange(3)}, CONFIG)
    assert not (tmp_path / WEIGHTS_FILE).exists()


def test_saved_weights_get_ordinary_file_permissions(tmp_path):
    """Atomic writes go through a private temp file; the result must still be readable by others."""
    import stat

    from needle_router.model import get_config, init_params
    from needle_router.model.weights import save_weights

    umask = os.umask(0o022)
    try:
        save_weights(tmp_path, init_params("needle-tiny"), get_config("needle-tiny"))
    finally:
        os.umask(umask)
    for name in ("model.safetensors", "config.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
