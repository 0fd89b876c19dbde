"""The training loop: stages, QAT schedule, logging, evaluation, checkpoints, export.

``train(cfg)`` runs the config's stages in order (``denoise`` pretraining, then ``calls``
post-training), one packed batch per step; every ``eval_every`` steps it routes the held-out
set through the real router with the float weights and with INT4 weights, logs a JSONL line
per event to ``OUT/log.jsonl``, redraws ``OUT/curves.png`` and keeps the best checkpoint by INT4
exact match. Ctrl-C, a time limit (``minutes``) or the end of the schedule all save a
checkpoint first; ``resume=True`` continues from the latest one.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from needle_router.engine import Engine
from needle_router.model import get_config, init_params
from needle_router.model.loading import LoadedModel
from needle_router.model.quantize import fake_quant_params
from needle_router.model.weights import QUANT_MODES, save_weights
from needle_trainer.batches import denoise, pack_rows, retrieval_pairs
from needle_trainer.checkpoint import Checkpoints
from needle_trainer.config import TrainConfig
from needle_trainer.data.generate import DataConfig
from needle_trainer.data.heldout import heldout_examples
from needle_trainer.data.stream import StreamPosition, chunk_stream
from needle_trainer.evaluate import route_examples
from needle_trainer.evaluation.report import save_figure
from needle_trainer.optim import make_optimizer
from needle_trainer.step import (batch_sharding, init_state, make_eval_step, make_mesh, make_train_step,
                                 maybe_initialize_distributed, pad_rows, param_sharding)


def model_config(cfg: TrainConfig):
    return get_config(cfg.model.preset).replace(dtype=cfg.model.dtype, **cfg.model.overrides)


def flops_per_token(model_cfg) -> float:
    """Training FLOPs per token (6 x the matmul parameters; attention scores excluded)."""
    d, h, kv, hd = model_cfg.d_model, model_cfg.num_heads, model_cfg.num_kv_heads, model_cfg.head_dim
    per_attn = d * h * hd * 2 + d * kv * hd * 2
    enc = model_cfg.encoder_layers * per_attn
    dec = model_cfg.decoder_layers * 2 * per_attn + model_cfg.vocab_size * d
    return 6.0 * (enc + dec) / 2   # an average over encoder and decoder tokens


@dataclass
class StepPlan:
    stage: int
    local_step: int
    objective: str
    seed: int


def plan(cfg: TrainConfig, step: int) -> StepPlan:
    start = 0
    for i, stage in enumerate(cfg.stages):
        if step < start + stage.steps:
            return StepPlan(i, step - start, stage.objective, cfg.data.seed + 1000 * i)
        start += stage.steps
    raise IndexError(step)


def qat_active(cfg: TrainConfig, step: int) -> bool:
    if step >= cfg.total_steps * (1 - cfg.qat.final_fraction):
        return True
    return cfg.qat.every > 0 and step % cfg.qat.every == 0


def to_host(tree: Any) -> Any:
    return jax.tree.map(lambda a: np.asarray(jax.device_get(a), np.float32), tree)


class ParamsEvaluator:
    """Routes examples with the current training weights (float, or INT4 round-tripped) through
    one router engine whose weights are swapped in place: a new engine per evaluation would
    keep its batching thread, and with it a copy of the weights, alive for the whole run."""

    def __init__(self, model_cfg, max_new_tokens: int = 160, info: dict[str, Any] | None = None):
        self.model_cfg = model_cfg
        self.max_new_tokens = max_new_tokens
        self.info = dict(info or {})     # what a saved weights file would carry (a fine-tune's top_k)
        self.engine: Engine | None = None

    def __call__(self, params: Any, examples: list, bits: int | None) -> dict[str, Any]:
        host = to_host(params)
        if bits:
            host = jax.tree.map(np.asarray, fake_quant_params(host, bits=bits))
        if self.engine is None:
            self.engine = Engine(LoadedModel(host, self.model_cfg, "training run", False, self.info))
        else:
            self.engine.update_params(host)
        return route_examples(self.engine, examples, max_new_tokens=self.max_new_tokens)


def plot_curves(log_path: Path, png_path: Path) -> None:
    """Loss and held-out exact match against the step (matplotlib, no display)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    train = [r for r in rows if r.get("event") == "train"]
    evals = [r for r in rows if r.get("event") == "eval"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    if train:
        a.plot([r["step"] for r in train], [r["loss"] for r in train], label="loss")
        a.plot([r["step"] for r in train], [r["ce"] for r in train], label="token CE", alpha=0.7)
        a.set_xlabel("step")
        a.set_yscale("log")
        a.legend()
        a.set_title("training loss")
    for key, label in (("float", "float"), ("int4", "INT4")):
        pts = [(r["step"], r[key]["exact_match"]) for r in evals if key in r]
        if pts:
            b.plot(*zip(*pts), marker="o", label=f"{label} exact match")
    pts = [(r["step"], 100 * r["teacher_forced"]["token_acc"]) for r in evals if "teacher_forced" in r]
    if pts:
        b.plot(*zip(*pts), marker="s", label="token accuracy (teacher-forced)")
    pts = [(r["step"], r["float"]["no_call_accuracy"]) for r in evals if "float" in r]
    if pts:
        b.plot(*zip(*pts), marker=".", linestyle="--", label="float no-call acc.")
    b.set_xlabel("step")
    b.set_ylabel("% (held-out, unseen tools)")
    b.set_title("held-out evaluation")
    b.legend()
    fig.tight_layout()
    try:
        save_figure(fig, png_path, dpi=100)
    finally:
        plt.close(fig)


class Reporter:
    """A rich progress bar on a terminal, plain log lines otherwise (CI, files)."""

    def __init__(self, total: int, start: int, enabled: bool | None = None):
        self.tty = sys.stderr.isatty() and os.environ.get("CI") is None if enabled is None else enabled
        self.progress = None
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"), TimeRemainingColumn())
            self.task = self.progress.add_task("", total=total, completed=start, info="")
            self.progress.start()

    def update(self, step: int, info: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=step, info=info)

    def line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _ce(event: dict) -> float:
    return float(event.get("teacher_forced", {}).get("ce", math.inf))


def _improves(event: dict, record: dict) -> bool:
    """Best checkpoint: higher INT4 exact match; on a tie (100 examples tie often) the lower
    held-out teacher-forced CE, so a decayed final step beats an equal-scoring mid-run one."""
    if not event.get("int4"):
        return False
    exact, best = event["int4"]["exact_match"], record["best_exact"]
    return exact > best or (exact == best and _ce(event) < record.get("best_ce", math.inf))


def _warm_start_params(cfg: TrainConfig, params: Any) -> Any:
    """The params of ``cfg.init_weights`` placed like ``params``; a folder of another shape is an error
    that names the folder and the first mismatching parameters (not a shape error deep inside JAX).
    With ``cfg.init_grow`` a shallower folder is first grown to this depth (:mod:`needle_trainer.grow`)."""
    from needle_router.model.weights import WeightsError, load_weights
    from needle_trainer.grow import growable_shapes, stack_layers

    target = model_config(cfg)
    shapes = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params)
    where = f"{cfg.source or 'config'}: init_weights"
    try:
        loaded, source, info = load_weights(cfg.init_weights,
                                            expected=growable_shapes(target) if cfg.init_grow else shapes)
    except WeightsError as err:
        raise ValueError(f"{where}: {err}") from None
    if cfg.init_grow:
        try:
            loaded = stack_layers(loaded, source, target)
        except ValueError as err:
            raise ValueError(f"{where} ({cfg.init_weights}), init_grow: {err}") from None
        print(f"init_weights: grew {source.encoder_layers}+{source.decoder_layers} layers to "
              f"{target.encoder_layers}+{target.decoder_layers}", file=sys.stderr)
    if QUANT_MODES[info["quant"]] is not None:
        print(f"init_weights: {cfg.init_weights} holds {info['quant']} weights; starting from their "
              "dequantized values (a float export starts closer)", file=sys.stderr)
    return jax.tree.map(lambda new, old: jax.device_put(np.asarray(new, dtype=old.dtype), old.sharding),
                        loaded, params)


def train(cfg: TrainConfig, *, resume: bool = False, max_steps: int | None = None,
          init_from: str | Path | None = None,
          on_step: Callable[[int, dict], None] | None = None) -> dict[str, Any]:
    """Run (or continue) the training run described by ``cfg``; returns a summary.

    ``init_from``: a folder written by :func:`needle_trainer.shards.save_sharded` (e.g. brought
    back from a GPU lease) to start from when the run directory has no checkpoint yet."""
    maybe_initialize_distributed()
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")
    log_path = out / "log.jsonl"
    mcfg = model_config(cfg)
    params = init_params(mcfg, seed=cfg.seed)
    total = cfg.total_steps
    tx, schedules = make_optimizer(cfg.optim, total, params)
    mesh = make_mesh(cfg.mesh)
    params = jax.device_put(params, param_sharding(mesh, params, bool(cfg.mesh.get("fsdp"))))
    state = init_state(params, tx, cfg.seed)
    ckpt = Checkpoints(out, cfg.keep_checkpoints)
    record: dict[str, Any] = {"best_exact": -1.0, "best_step": None}
    if resume and ckpt.latest_step() is not None:
        state, record = ckpt.restore(state)
    elif not resume and ckpt.latest_step() is not None:
        raise FileExistsError(f"{out} already has checkpoints; pass --resume to continue or choose another --out")
    elif init_from is not None:
        from needle_trainer.shards import load_sharded

        host_state, saved = load_sharded(init_from, state)
        state = jax.tree.map(lambda new, old: jax.device_put(new, old.sharding), host_state, state)
        record.update({k: saved[k] for k in ("best_exact", "best_step", "tokens") if k in saved})
    elif cfg.init_weights:
        state = init_state(_warm_start_params(cfg, state.params), tx, cfg.seed)
    start = int(jax.device_get(state.step))
    end = total if max_steps is None else min(total, max_steps)
    steps = {None: make_train_step(mcfg, cfg, tx, None), cfg.qat.bits: make_train_step(mcfg, cfg, tx, cfg.qat.bits)}
    bsh = batch_sharding(mesh)
    n_dev = mesh.devices.size
    mix = DataConfig.from_mapping(cfg.data.mix)
    examples_eval = heldout_examples(cfg.eval_examples) if cfg.eval_examples else []
    reporter = Reporter(total, start)
    fpt = flops_per_token(mcfg)
    deadline = time.monotonic() + cfg.minutes * 60 if cfg.minutes else None
    tokens_seen = int(record.get("tokens", 0))
    t_start = time.monotonic()
    tokens_run = 0
    last = {}
    stream = None
    stream_stage = None
    dropped = 0
    stop_reason = "done"

    def log(event: dict) -> None:
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")

    eval_step = make_eval_step(mcfg, cfg)
    evaluate_params = ParamsEvaluator(mcfg)
    eval_batches = []
    if examples_eval:
        from needle_trainer.data.encode import Encoder

        enc = Encoder().encode_many(examples_eval)
        for i in range(0, len(enc), cfg.data.examples_per_step):
            b, _ = pack_rows(enc[i:i + cfg.data.examples_per_step], cfg.data.rows, cfg.data.enc_len,
                             cfg.data.dec_len)
            eval_batches.append(jax.device_put(pad_rows(b, n_dev), bsh))

    def teacher_forced() -> dict[str, float]:
        """Held-out teacher-forced metrics (smooth: they move long before exact match does)."""
        sums: dict[str, float] = {}
        for b in eval_batches:
            for k, v in jax.device_get(eval_step(state.params, b)).items():
                sums[k] = sums.get(k, 0.0) + float(v) / len(eval_batches)
        return sums

    def run_eval(step: int) -> dict:
        event = {"event": "eval", "step": step}
        if not examples_eval:
            return event
        event["teacher_forced"] = teacher_forced()
        for key, bits in (("float", None), ("int4", cfg.qat.bits)):
            res = evaluate_params(state.params, examples_eval, bits)
            event[key] = res["metrics"]
            event[f"{key}_failures"] = res["failures"][:3]
        log(event)
        plot_curves(log_path, out / "curves.png")
        f, q = event["float"], event["int4"]
        tf = event["teacher_forced"]
        reporter.line(f"eval step {step}: exact match float {f['exact_match']:.1f}% / INT4 {q['exact_match']:.1f}%, "
                      f"no-call {f['no_call_accuracy']:.1f}%, schema validity {f['schema_validity']:.1f}%; "
                      f"held-out token acc {100 * tf['token_acc']:.1f}%, CE {tf['ce']:.3f}")
        return event

    def keep_if_best(event: dict, step: int) -> None:
        if _improves(event, record):
            record.update(best_exact=event["int4"]["exact_match"], best_ce=_ce(event), best_step=step)
            ckpt.save(state, {**record, "tokens": tokens_seen + tokens_run}, best=True)

    step = start
    if start == 0 and cfg.eval_every and examples_eval:
        run_eval(0)                       # the baseline every later evaluation is compared with
    try:
        while step < end:
            if deadline is not None and time.monotonic() > deadline:
                stop_reason = "time limit"
                break
            p = plan(cfg, step)
            if stream_stage != p.stage:
                if stream is not None:
                    stream.close()
                remaining = cfg.stages[p.stage].steps - p.local_step
                stream = chunk_stream(p.seed, "train", start=StreamPosition(p.local_step),
                                      chunk_size=cfg.data.examples_per_step, workers=cfg.data.workers,
                                      encode=True, config=mix, max_chunks=remaining)
                stream_stage = p.stage
            _, encoded = next(stream)
            if p.objective == "denoise":
                encoded = [denoise(e, random.Random(f"{p.seed}:{p.local_step}:{i}")) for i, e in enumerate(encoded)]
            batch, lost = pack_rows(encoded, cfg.data.rows, cfg.data.enc_len, cfg.data.dec_len)
            dropped += lost
            pairs = retrieval_pairs(encoded, cfg.data.retrieval_pairs)
            real_tokens = int((batch["enc_segments"] > 0).sum() + (batch["dec_segments"] > 0).sum())
            batch = jax.device_put(pad_rows(batch, n_dev), bsh)
            fn = steps[cfg.qat.bits if qat_active(cfg, step) else None]
            state, metrics = fn(state, batch, pairs)
            step += 1
            tokens_run += real_tokens
            if step % cfg.log_every == 0 or step == end:
                metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                elapsed = time.monotonic() - t_start
                tps = tokens_run / max(elapsed, 1e-9)
                last = {"event": "train", "step": step, "stage": cfg.stages[p.stage].name,
                        "qat": qat_active(cfg, step - 1), "lr": float(schedules["lr"](step)),
                        "tokens_per_s": tps, "dropped_examples": dropped, **metrics}
                log(last)
                reporter.update(step, f"loss {metrics['loss']:.3f} | {tps:,.0f} tok/s")
                if not reporter.tty:
                    reporter.line(f"step {step}/{total} [{last['stage']}] loss {metrics['loss']:.4f} "
                                  f"ce {metrics['ce']:.4f} value acc {metrics['value_acc']:.3f} {tps:,.0f} tok/s")
                if not math.isfinite(metrics["loss"]):
                    raise FloatingPointError(f"loss became {metrics['loss']} at step {step}")
            if on_step is not None:
                on_step(step, last)
            if cfg.eval_every and step % cfg.eval_every == 0 and step < end:
                keep_if_best(run_eval(step), step)
            if step % cfg.checkpoint_every == 0:
                ckpt.save(state, {**record, "tokens": tokens_seen + tokens_run})
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    finally:
        if stream is not None:
            stream.close()
        reporter.close()
    final = run_eval(step) if examples_eval else {}
    keep_if_best(final, step)
    ckpt.save(state, {**record, "tokens": tokens_seen + tokens_run})
    elapsed = time.monotonic() - t_start
    tps = tokens_run / max(elapsed, 1e-9)
    summary = {
        "stop": stop_reason, "steps": step, "steps_this_run": step - start,
        "tokens": tokens_seen + tokens_run, "tokens_per_s": tps, "seconds": elapsed,
        "model_flops_per_s": tps * fpt, "devices": n_dev, "backend": jax.default_backend(),
        "best_int4_exact_match": record["best_exact"], "best_step": record["best_step"],
        "final_eval": {k: final[k] for k in ("float", "int4") if k in final}, "last_train": last,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    ckpt.close()
    return summary


def restore_run(run_dir: str | Path, cfg: TrainConfig, best: bool = False):
    """(train state, record) of a run's latest checkpoint, or of its best one (falling back to
    the latest when no evaluation ran)."""
    params = init_params(model_config(cfg), seed=0)
    tx, _ = make_optimizer(cfg.optim, cfg.total_steps, params)
    ckpt = Checkpoints(run_dir, cfg.keep_checkpoints)
    try:
        return ckpt.restore(init_state(params, tx, 0), best=best and ckpt.latest_step(best=True) is not None)
    finally:
        ckpt.close()


def export_best(run_dir: str | Path, cfg: TrainConfig, dest: str | Path, quant: str = "int4",
                extra: dict[str, Any] | None = None, best: bool = True) -> Path:
    """Write the best checkpoint (or the latest, when no eval ran or ``best=False``) as a shipped
    weights folder."""
    mcfg = model_config(cfg)
    state, record = restore_run(run_dir, cfg, best=best)
    meta = {"trained_steps": int(jax.device_get(state.step)), "best_int4_exact_match": record.get("best_exact"),
            "run": cfg.name, **(extra or {})}
    return save_weights(dest, to_host(state.params), mcfg, quant=quant, extra_metadata=meta)
