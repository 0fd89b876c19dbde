"""The trainer: losses, optimizer, packed forward, batches, config, sharding, checkpoints, launcher."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("optax")
pytest.importorskip("orbax.checkpoint")

from needle_router.model import Needle, get_config, init_params  # noqa: E402
from needle_trainer.batches import SENTINELS, denoise, pack_rows, retrieval_pairs  # noqa: E402
from needle_trainer.config import ConfigError, LossSection, OptimSection, config_from_dict, load_config  # noqa: E402
from needle_trainer.data.encode import Encoder  # noqa: E402
from needle_trainer.data.generate import DataConfig, ExampleMaker  # noqa: E402
from needle_trainer.losses import class_weights, contrastive_loss, weighted_cross_entropy  # noqa: E402
from needle_trainer.optim import make_optimizer, param_labels, wsd_schedule  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def encoded():
    maker = ExampleMaker(DataConfig(source={"catalogue": 0.7, "generic": 0.3, "harvest": 0.0}, max_tools=4),
                         use_harvest=False)
    return Encoder().encode_many(maker.make_chunk(0, "train", 0, 12))


def tiny_config(tmp_path: Path, **overrides) -> Path:
    """A seconds-scale run: a few steps, small batches, no harvested tools."""
    data = {
        "name": "t", "out_dir": str(tmp_path / "run"), "seed": 0,
        "model": {"preset": "needle-tiny", "dtype": "float32"},
        "data": {"seed": 0, "workers": 0, "examples_per_step": 4, "rows": 2, "enc_len": 512, "dec_len": 96,
                 "retrieval_pairs": 4, "mix": {"source": {"catalogue": 0.7, "generic": 0.3, "harvest": 0.0},
                                               "max_tools": 3}},
        "optim": {"lr": 0.01, "muon_lr": 0.03, "warmup_steps": 2},
        "qat": {"bits": 4, "every": 0, "final_fraction": 0.0},
        "stages": [{"name": "pre", "steps": 2, "objective": "denoise"}, {"name": "post", "steps": 8, "objective": "calls"}],
        "eval_every": 0, "eval_examples": 0, "log_every": 1, "checkpoint_every": 2, "keep_checkpoints": 2,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path = tmp_path / "cfg.yaml"
    import yaml

    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ losses

def test_weighted_cross_entropy_matches_a_manual_computation():
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(2, 3, 7)), jnp.float32)
    targets = jnp.asarray([[1, 2, 3], [4, 0, 0]])
    cls = jnp.asarray([[1, 4, 2], [3, 0, 0]], jnp.int8)
    w = class_weights(LossSection())
    loss, m = weighted_cross_entropy(logits, targets, cls, w, z_loss=0.0)
    lse = jax.nn.logsumexp(logits, -1)
    ce = lse - jnp.take_along_axis(logits, targets[..., None], -1)[..., 0]
    weights = np.array([[1.0, 4.0, 2.0], [1.5, 0, 0]])
    assert np.isclose(float(loss), float((ce * weights).sum() / weights.sum()), rtol=1e-6)
    loss_z, m_z = weighted_cross_entropy(logits, targets, cls, w, z_loss=0.5)
    real = np.array([[1, 1, 1], [1, 0, 0]], bool)
    assert np.isclose(float(loss_z - loss), 0.5 * float((lse**2)[real].mean()), rtol=1e-5)
    assert 0.0 <= float(m["token_acc"]) <= 1.0


def test_contrastive_loss_prefers_aligned_pairs_and_masks_duplicates():
    e = jnp.eye(4, 8)
    valid = jnp.ones(4, bool)
    none = jnp.zeros((4, 4), bool)
    good, top1 = contrastive_loss(e, e, jnp.log(20.0), valid, none)
    bad, _ = contrastive_loss(e, e[::-1], jnp.log(20.0), valid, none)
    assert float(good) < 0.01 < float(bad) and float(top1) == 1.0
    dup = e.at[1].set(e[0])                            # tools 0 and 1 identical
    same = jnp.zeros((4, 4), bool).at[0, 1].set(True).at[1, 0].set(True)
    masked, _ = contrastive_loss(dup, dup, jnp.log(20.0), valid, same)
    unmasked, _ = contrastive_loss(dup, dup, jnp.log(20.0), valid, none)
    assert float(masked) < float(unmasked)


# ---------------------------------------------------------------------------------- optimizer

def test_muon_on_attention_kernels_adamw_elsewhere():
    params = init_params("needle-tiny")
    labels = param_labels(params)
    assert labels["encoder"]["layers_0"]["attn"]["q_proj"]["kernel"] == "muon"
    assert labels["embed"]["embedding"] == "adamw"
    assert labels["encoder"]["layers_0"]["norm"]["scale"] == "adamw"
    assert labels["retrieval"]["hidden"]["kernel"] == "adamw"
    tx, schedules = make_optimizer(OptimSection(), 100, params)
    assert tx.init(params) is not None


def test_warmup_stable_decay_schedule():
    s = wsd_schedule(1.0, 100, warmup=10, decay_fraction=0.2)
    assert float(s(0)) == 0.0 and float(s(10)) == pytest.approx(1.0) and float(s(50)) == pytest.approx(1.0)
    assert float(s(90)) == pytest.approx(0.5, abs=0.06) and float(s(100)) == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------- packed forward, batches

def test_packed_forward_equals_separate_forward(encoded):
    cfg = get_config("needle-tiny")
    params = init_params(cfg, seed=3)
    model = Needle(cfg)
    exs = encoded[:3]
    batch, dropped = pack_rows(exs, 1, 2048, 256)
    assert dropped == 0 and batch["enc_segments"].max() == 3
    logits = model.apply({"params": params}, batch["enc_tokens"], batch["enc_segments"], batch["enc_positions"],
                         batch["dec_inputs"], batch["dec_segments"], batch["dec_positions"],
                         method=Needle.packed_logits)
    for seg in (1, 2, 3):
        enc = batch["enc_tokens"][0][batch["enc_segments"][0] == seg].tolist()
        ex = next(e for e in exs if e.enc.tolist() == enc)       # packing orders longest first
        alone, _ = model.apply({"params": params}, ex.enc[None], ex.dec_input[None])
        packed = np.asarray(logits[0][batch["dec_segments"][0] == seg])
        np.testing.assert_allclose(packed, np.asarray(alone[0]), atol=2e-4, rtol=2e-4)


def test_denoise_reconstructs_the_input(encoded):
    ex = encoded[0]
    d = denoise(ex, random.Random(0))
    assert len(d.enc) < len(ex.enc) and d.target[-1] == 3
    spans, cur = [], None
    for t in d.target[:-1].tolist():
        if t in SENTINELS:
            cur = []
            spans.append(cur)
        else:
            cur.append(t)
    rebuilt, k = [], 0
    for t in d.enc.tolist():
        if t in SENTINELS:
            rebuilt += spans[k]
            k += 1
        else:
            rebuilt.append(t)
    assert rebuilt == ex.enc.tolist()
    assert list(d.dec_input[1:]) == list(d.target[:-1])


def test_pack_rows_and_retrieval_pairs(encoded):
    batch, dropped = pack_rows(encoded, 2, 512, 64)
    kept = sum(int(batch["enc_segments"][r].max()) for r in range(2))
    assert kept + dropped == len(encoded)
    pairs = retrieval_pairs(encoded, 16)
    n = int(pairs["valid"].sum())
    assert n == sum(1 for e in encoded if e.positives)
    assert pairs["same_tool"].shape == (16, 16) and not pairs["same_tool"][n:].any()


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="optim: unknown key.*lerning_rate"):
        config_from_dict({"optim": {"lerning_rate": 1}}, "x.yaml")
    with pytest.raises(ConfigError, match="stages\\[0\\]"):
        config_from_dict({"stages": [{"name": "a", "steps": 3, "objective": "magic"}]}, "x.yaml")
    cfg = load_config("needle-26m")
    assert cfg.total_steps > 1000 and cfg.model.dtype == "bfloat16"
    assert load_config("needle-tiny").model.preset == "needle-tiny"


# ---------------------------------------------------------------------------------- sharding

SHARD_SCRIPT = r"""
import json, sys, jax, numpy as np
from needle_trainer.config import load_config
from needle_trainer.loop import model_config
from needle_trainer.optim import make_optimizer
from needle_trainer.step import make_train_step, init_state, make_mesh, batch_sharding, param_sharding, pad_rows
from needle_trainer.batches import pack_rows, retrieval_pairs
from needle_trainer.data.generate import ExampleMaker, DataConfig
from needle_trainer.data.encode import Encoder
from needle_router.model import init_params
assert jax.device_count() == 8, jax.devices()
cfg = load_config("needle-tiny")
mc = model_config(cfg)
exs = Encoder().encode_many(ExampleMaker(DataConfig(source={"catalogue": 1.0, "generic": 0.0, "harvest": 0.0},
                                                    max_tools=3), use_harvest=False).make_chunk(0, "train", 0, 16))
batch, _ = pack_rows(exs, 8, 512, 96)
pairs = retrieval_pairs(exs, 8)
out = {}
for n, fsdp in ((1, False), (8, False), (8, True)):
    mesh = make_mesh({"data": n})
    params = init_params(mc, seed=0)
    tx, _ = make_optimizer(cfg.optim, 100, params)
    params = jax.device_put(params, param_sharding(mesh, params, fsdp))
    state = init_state(params, tx, 0)
    step = make_train_step(mc, cfg, tx, None)
    b = jax.device_put(pad_rows(batch, n), batch_sharding(mesh))
    for _ in range(2):
        state, m = step(state, b, pairs)
    leaves = [np.asarray(x) for x in jax.tree.leaves(state.params)]
    out[f"{n}-{fsdp}"] = {"loss": float(m["loss"]), "params": leaves,
                          "devices": len(b["enc_tokens"].sharding.device_set)}
ref = out["1-False"]
report = {}
for key, r in out.items():
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ref["params"], r["params"]))
    report[key] = {"loss": r["loss"], "max_param_diff": diff, "devices": r["devices"]}
print(json.dumps(report))
"""


@pytest.mark.slow
def test_train_step_on_8_simulated_devices_matches_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    res = subprocess.run([sys.executable, "-c", SHARD_SCRIPT], capture_output=True, text=True, env=env,
                         timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    one = report["1-False"]
    assert one["devices"] == 1
    for key in ("8-False", "8-True"):
        r = report[key]
        assert r["devices"] == 8
        # stated tolerance: float32 reductions in a different order after two optimizer steps
        assert abs(r["loss"] - one["loss"]) <= 1e-4 * max(1.0, abs(one["loss"]))
        assert r["max_param_diff"] <= 1e-4, report


# ------------------------------------------------------------------- runs, kills, launcher

def _train(cfg: Path, out: Path, *extra: str, wait: bool = True):
    cmd = [sys.executable, "-m", "needle_router.cli", "train", "--config", str(cfg), "--out", str(out), *extra]
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT,
                              env={**os.environ, "CI": "1"})
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "CI": "1"})


def _final_params(run: Path, cfg_path: Path):
    from needle_trainer.loop import restore_run

    return restore_run(run, load_config(cfg_path))


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_the_same_result(tmp_path):
    cfg = tiny_config(tmp_path)
    whole = tmp_path / "whole"
    res = _train(cfg, whole)
    assert res.returncode == 0, res.stderr[-3000:]
    assert '"steps": 10' in res.stdout

    cut = tmp_path / "cut"
    proc = _train(cfg, cut, wait=False)
    deadline = time.time() + 600
    latest = cut / "checkpoints" / "latest"
    while time.time() < deadline:
        steps = [int(p.name) for p in latest.glob("*") if p.name.isdigit()] if latest.exists() else []
        if steps and max(steps) >= 4:
            break
        if proc.poll() is not None:
            pytest.fail("training ended before it could be killed")
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cut / "summary.json").exists()
    res = _train(cfg, cut, "--resume")
    assert res.returncode == 0, res.stderr[-3000:]
    a, _ = _final_params(whole, cfg)
    b, _ = _final_params(cut, cfg)
    assert int(a.step) == int(b.step) == 10
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
    # without --resume an existing run is refused, with a clear message
    res = _train(cfg, cut)
    assert res.returncode != 0 and "--resume" in res.stderr + res.stdout and "Traceback" not in res.stderr


def test_best_checkpoint_breaks_exact_match_ties_by_heldout_loss():
    from needle_trainer.loop import _improves

    record = {"best_exact": 22.0, "best_ce": 0.94}
    tie_lower_ce = {"int4": {"exact_match": 22.0}, "teacher_forced": {"ce": 0.68}}
    tie_higher_ce = {"int4": {"exact_match": 22.0}, "teacher_forced": {"ce": 1.1}}
    assert _improves(tie_lower_ce, record) and not _improves(tie_higher_ce, record)
    assert _improves({"int4": {"exact_match": 23.0}, "teacher_forced": {"ce": 2.0}}, record)
    assert not _improves({"int4": {"exact_match": 21.0}, "teacher_forced": {"ce": 0.1}}, record)
    assert not _improves({}, record)
    assert _improves({"int4": {"exact_match": 0.0}}, {"best_exact": -1.0, "best_step": None})


def test_warm_start_from_weights_begins_at_those_params_with_a_fresh_schedule(tmp_path):
    """A second round (``init_weights``) starts from exported params at step 0; a folder of
    another model size is refused with a message naming the config key and the parameter."""
    from needle_trainer.loop import export_best, restore_run, train

    first = load_config(tiny_config(tmp_path, stages=[{"name": "post", "steps": 3, "objective": "calls"}]))
    train(first)
    weights = export_best(first.out_dir, first, tmp_path / "float", quant="float32")
    exported, _ = restore_run(first.out_dir, first, best=True)

    second = load_config(tiny_config(tmp_path, out_dir=str(tmp_path / "round2"), init_weights=str(weights),
                                     stages=[{"name": "post", "steps": 2, "objective": "calls"}]))
    train(second, max_steps=1)
    state, _ = restore_run(second.out_dir, second)
    assert int(state.step) == 1
    # one small step away from the exported params, far closer than a fresh init
    fresh = load_config(tiny_config(tmp_path, out_dir=str(tmp_path / "fresh"),
                                    stages=[{"name": "post", "steps": 2, "objective": "calls"}]))
    train(fresh, max_steps=1)
    cold, _ = restore_run(fresh.out_dir, fresh)

    def distance(a, b):
        return sum(float(np.sum((np.asarray(x) - np.asarray(y)) ** 2))
                   for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))

    assert distance(state.params, exported.params) < 0.1 * distance(cold.params, exported.params)

    wrong = load_config(tiny_config(tmp_path, out_dir=str(tmp_path / "wrong"), init_weights=str(weights),
                                    model={"overrides": {"d_model": 96}}))
    with pytest.raises(ValueError, match="init_weights") as err:
        train(wrong, max_steps=1)
    assert "shape" in str(err.value) or "expected" in str(err.value)


@pytest.mark.slow
def test_gpu_launcher_writes_small_shards_and_resumes(tmp_path):
    cfg = tiny_config(tmp_path, stages=[{"name": "post", "steps": 400, "objective": "calls"}],
                      eval_examples=4, eval_every=0)
    out1 = tmp_path / "out1"
    env = {**os.environ, "CI": "1"}
    cmd = [sys.executable, "-m", "needle_trainer.launch", "--config", str(cfg), "--minutes", "1.8",
           "--out", str(out1), "--run-dir", str(tmp_path / "r1"), "--workers", "0"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out1 / "summary.json").read_text())
    assert summary["stop"] == "time limit" and summary["steps"] > 0 and summary["tokens_per_s"] > 0
    assert "final_eval" in summary and (out1 / "weights" / "config.json").exists()
    files = list((out1 / "checkpoint").glob("*.safetensors"))
    assert files and all(f.stat().st_size <= 16 * 1024 * 1024 for f in files)
    out2 = tmp_path / "out2"
    cmd2 = [*cmd[:8], str(out2), "--run-dir", str(tmp_path / "r2"), "--workers", "0",
            "--resume-from", str(out1 / "checkpoint")]
    res = subprocess.run(cmd2, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((out2 / "summary.json").read_text())["steps"] > summary["steps"]
    from needle_router import NeedleRouter

    router = NeedleRouter([{"name": "get_weather", "description": "Weather for a city.",
                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                           "required": ["city"]}}], model=str(out2 / "weights"),
                          max_new_tokens=32)
    assert router.route_sync("weather in Paris").latency_ms > 0


@pytest.mark.slow
def test_tiny_run_loss_falls_and_heldout_metric_rises(tmp_path):
    """The CI training run: needle-tiny for ~100 steps on this CPU."""
    from needle_trainer.loop import train

    cfg = load_config("needle-tiny")
    cfg.out_dir = str(tmp_path / "run")
    cfg.stages[0].steps, cfg.stages[1].steps = 10, 90
    cfg.eval_every, cfg.eval_examples, cfg.log_every, cfg.checkpoint_every = 50, 16, 5, 50
    summary = train(cfg)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    losses = [r["ce"] for r in rows if r["event"] == "train"]
    evals = [r for r in rows if r["event"] == "eval"]
    assert summary["steps"] == 100 and len(evals) == 3 and evals[0]["step"] == 0
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:2])
    first, last = evals[0]["teacher_forced"], evals[-1]["teacher_forced"]
    assert last["token_acc"] > first["token_acc"] + 0.1 and last["ce"] < first["ce"] - 1.0
    assert set(evals[-1]["float"]) >= {"exact_match", "tool_name_f1", "no_call_accuracy", "schema_validity"}
    assert evals[-1]["float"]["schema_validity"] == 100.0
    assert (tmp_path / "run" / "curves.png").stat().st_size > 10_000
    assert (tmp_path / "run" / "summary.json").exists()


def test_remat_changes_memory_not_results(encoded):
    from needle_trainer.loop import model_config
    from needle_trainer.step import init_state, make_train_step

    cfg = load_config("needle-tiny")
    mcfg = model_config(cfg)
    batch, _ = pack_rows(encoded, 2, 768, 160)
    pairs = retrieval_pairs(encoded, 8)
    out = []
    for remat in (False, True):
        cfg.model.remat = remat
        params = init_params(mcfg, seed=0)
        tx, _ = make_optimizer(cfg.optim, 100, params)
        state, metrics = make_train_step(mcfg, cfg, tx, None)(init_state(params, tx, 0), batch, pairs)
        out.append((float(metrics["loss"]), jax.tree.leaves(state.params)))
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-5)
    for a, b in zip(out[0][1], out[1][1]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def test_evaluator_reuses_one_engine_and_drops_stale_embeddings():
    from needle_trainer.data.heldout import heldout_examples
    from needle_trainer.loop import ParamsEvaluator

    cfg = get_config("needle-tiny")
    examples = heldout_examples(3)
    evaluate = ParamsEvaluator(cfg)
    first = evaluate(init_params(cfg, seed=1), examples, None)
    engine = evaluate.engine
    engine._embeddings["stale"] = np.zeros(3)
    again = evaluate(init_params(cfg, seed=1), examples, None)
    assert evaluate.engine is engine and "stale" not in engine._embeddings
    assert first["metrics"] == {**again["metrics"], **{k: first["metrics"][k] for k in first["metrics"]
                                                       if k.startswith("latency")}}
    assert evaluate(init_params(cfg, seed=1), examples, 4)["n"] == 3
