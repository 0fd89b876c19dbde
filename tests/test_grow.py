"""Growing a shallower model's weights into a deeper one (``init_grow``): the stacked layers are
the source's, their gates share the source's step, and the trainer warm-starts from them."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

pytest.importorskip("optax")
pytest.importorskip("orbax.checkpoint")

from needle_router.model import Needle, get_config, init_params  # noqa: E402
from needle_router.model.weights import flatten_params, unflatten_params  # noqa: E402
from needle_trainer.config import load_config  # noqa: E402
from needle_trainer.grow import source_layer, stack_layers  # noqa: E402
from test_trainer import tiny_config  # noqa: E402

TINY = get_config("needle-tiny")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _trained_like(params, seed: int = 1):
    """Random-init params with gates and norms moved off their init values, as training leaves them."""
    rng = np.random.default_rng(seed)
    flat = flatten_params(jax.device_get(params))
    out = {}
    for key, value in flat.items():
        value = np.asarray(value, dtype=np.float32)
        if key.endswith("gate"):
            value = np.asarray(rng.uniform(-3.0, -1.0), np.float32)
        elif key.endswith("scale"):
            value = value + rng.normal(0, 0.1, value.shape).astype(np.float32)
        out[key] = value
    return unflatten_params(out)


def test_source_layer_fills_runs_in_order():
    assert [source_layer(t, 4, 8) for t in range(8)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [source_layer(t, 2, 3) for t in range(3)] == [0, 0, 1]
    assert [source_layer(t, 3, 3) for t in range(3)] == [0, 1, 2]


def test_stacked_layers_copy_the_source_and_share_its_gate():
    params = _trained_like(init_params(TINY, seed=0))
    deeper = dataclasses.replace(TINY, encoder_layers=3, decoder_layers=4)
    grown = flatten_params(stack_layers(params, TINY, deeper))
    source = flatten_params(params)

    model_shapes = flatten_params(jax.eval_shape(lambda: init_params(deeper, seed=0)))
    assert set(grown) == set(model_shapes)
    assert all(grown[k].shape == tuple(model_shapes[k].shape) for k in grown)
    # encoder 2 -> 3: layer 0 is stacked twice (0, 1), layer 1 once (2)
    np.testing.assert_array_equal(grown["encoder/layers_1/attn/q_proj/kernel"],
                                  source["encoder/layers_0/attn/q_proj/kernel"])
    np.testing.assert_array_equal(grown["encoder/layers_2/attn/q_proj/kernel"],
                                  source["encoder/layers_1/attn/q_proj/kernel"])
    np.testing.assert_allclose(_sigmoid(grown["encoder/layers_0/gate"]), _sigmoid(source["encoder/layers_0/gate"]) / 2,
                               rtol=1e-5)
    np.testing.assert_array_equal(grown["encoder/layers_2/gate"], source["encoder/layers_1/gate"])
    # decoder 2 -> 4: both gates of every layer halved, in each copy
    for t in range(4):
        for gate in ("self_gate", "cross_gate"):
            np.testing.assert_allclose(_sigmoid(grown[f"decoder/layers_{t}/{gate}"]),
                                       _sigmoid(source[f"decoder/layers_{t // 2}/{gate}"]) / 2, rtol=1e-5)
    for key in ("embed/embedding", "encoder/final_norm/scale", "retrieval/out/kernel"):
        np.testing.assert_array_equal(grown[key], source[key])


def test_halved_gates_keep_the_function_far_better_than_plain_copies():
    """Stacking with the step shared stays close to the source model's outputs; stacking the
    layers unchanged (each copy taking the whole step) does not."""
    params = _trained_like(init_params(TINY, seed=0))
    deeper = dataclasses.replace(TINY, decoder_layers=4)
    rng = np.random.default_rng(0)
    enc = rng.integers(10, 4000, (2, 48))
    dec = rng.integers(10, 4000, (2, 12))

    def probs(p, cfg):
        logits, _ = Needle(cfg).apply({"params": p}, enc, dec)
        return np.asarray(jax.nn.softmax(logits.astype("float32")), dtype=np.float64)

    def kl(a, b):
        return float(np.mean(np.sum(a * (np.log(a) - np.log(b)), -1)))

    base = probs(params, TINY)
    halved = stack_layers(params, TINY, deeper)
    plain = flatten_params(halved)
    for key in list(plain):
        if key.startswith("decoder/layers_") and key.endswith("gate"):
            t = int(key.split("/")[1].split("_")[1])
            plain[key] = flatten_params(params)[key.replace(f"layers_{t}", f"layers_{t // 2}")]

    assert kl(base, probs(halved, deeper)) < 0.5 * kl(base, probs(unflatten_params(plain), deeper))


def test_growing_refuses_fewer_layers():
    params = init_params(TINY, seed=0)
    with pytest.raises(ValueError, match="decoder_layers: the weights have 2, the model 1"):
        stack_layers(params, TINY, dataclasses.replace(TINY, decoder_layers=1))


def test_trainer_warm_starts_a_deeper_model_from_a_shallower_export(tmp_path):
    """``init_grow``: a round of a 2+3-layer model starts from a 2+2-layer export, at the grown
    params; without the flag, or with another width, the folder is refused by name."""
    from needle_trainer.loop import export_best, restore_run, train

    first = load_config(tiny_config(tmp_path, stages=[{"name": "post", "steps": 2, "objective": "calls"}]))
    train(first)
    weights = export_best(first.out_dir, first, tmp_path / "float", quant="float32")
    exported, _ = restore_run(first.out_dir, first, best=True)

    deeper = {"preset": "needle-tiny", "dtype": "float32", "overrides": {"decoder_layers": 3}}
    grown_cfg = load_config(tiny_config(tmp_path, out_dir=str(tmp_path / "grown"), init_weights=str(weights),
                                        init_grow=True, model=deeper,
                                        optim={"lr": 1e-9, "muon_lr": 1e-9, "warmup_steps": 0},
                                        stages=[{"name": "post", "steps": 1, "objective": "calls"}]))
    train(grown_cfg, max_steps=1)
    state, _ = restore_run(grown_cfg.out_dir, grown_cfg)
    got = flatten_params(jax.device_get(state.params))
    want = flatten_params(stack_layers(jax.device_get(exported.params), TINY,
                                       dataclasses.replace(TINY, decoder_layers=3)))
    assert set(got) == set(want)
    for key in want:  # one step at a learning rate of 1e-9 moves nothing measurable
        np.testing.assert_allclose(got[key], want[key], atol=1e-5, err_msg=key)

    no_flag = load_config(tiny_config(tmp_path, out_dir=str(tmp_path / "no_flag"), init_weights=str(weights),
                                      model=deeper))
    with pytest.raises(ValueError, match="init_weights") as err:
        train(no_flag, max_steps=1)
    assert "decoder/layers_2" in str(err.value)

    wider = {"preset": "needle-tiny", "dtype": "float32", "overrides": {"decoder_layers": 3, "d_model": 96}}
    wrong = load_config(tiny_config(tmp_path, out_dir=str(tmp_path / "wider"), init_weights=str(weights),
                                    init_grow=True, model=wider))
    with pytest.raises(ValueError, match="init_weights") as err:
        train(wrong, max_steps=1)
    assert "wrong shape" in str(err.value) and "expected [96" in str(err.value)
