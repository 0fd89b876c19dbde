"""Fine-tune a Needle model on one app's tool registry, on a laptop CPU.

The loop is deliberately small: examples of the registry are encoded once, packed into
fixed-shape batches (a pure function of the step, so ``resume`` continues exactly), trained
with AdamW on LoRA adapters (or every weight), and judged every ``eval_every`` steps or more
(:class:`Cadence`) by routing the validation split through the real router. The best weights so
far are always on disk as a loadable weights directory, so stopping early (time limit, no
progress, Ctrl-C) loses nothing.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from needle_router.model import Needle
from needle_router.model.loading import load_model
from needle_router.model.weights import atomic_write, save_weights
from needle_router.tools.spec import ToolSpec, registry_fingerprint
from needle_trainer.checkpoint import Checkpoints
from needle_trainer.config import LossSection
from needle_trainer.data.encode import Encoded, Encoder
from needle_trainer.data.pack import _Row, _write_row, empty_batch
from needle_trainer.finetune.subsets import with_tool_subsets
from needle_trainer.finetune import lora
from needle_trainer.loop import ParamsEvaluator, to_host
from needle_trainer.losses import class_weights, weighted_cross_entropy
from needle_trainer.step import TrainState


DEFAULT_LEARNING_RATE = 2e-3  # the rate of the measured runs (README, "Fine-tune on your own tools")


@dataclass
class FinetuneConfig:
    out_dir: str
    base: str | None = None          # weights dir or preset; None: the shipped default
    lora_rank: int | None = None     # None: every weight trains (measured: learns faster, README)
    lora_alpha: float = 32.0
    freeze_encoder: bool = False      # train the decoder (and the embeddings) only: steps ~2.4x faster
    epochs: float = 3.0
    minutes: float | None = 20.0
    learning_rate: float | None = None  # None: DEFAULT_LEARNING_RATE
    rows: int = 8                     # packed rows per batch
    eval_every: int = 50              # the fewest steps between validations
    eval_share: float | None = 0.1    # validate rarely enough to spend at most this share of the time on it
    patience: int = 4                 # evaluations without progress before stopping
    eval_examples: int = 100
    max_new_tokens: int = 128
    tool_subsets: float = 0.75        # share of training examples shown part of the registry (:mod:`.subsets`)
    seed: int = 0

    @property
    def lr(self) -> float:
        return self.learning_rate or DEFAULT_LEARNING_RATE


def _round_up(n: int, m: int) -> int:
    return max(m, -(-n // m) * m)


class BatchPlan:
    """Shuffled, packed batches of the training examples: epoch ``e`` is a pure function of
    (seed, e), so a step number names its batch exactly (resume needs no data state)."""

    def __init__(self, examples: Sequence[Encoded], rows: int, seed: int):
        if not examples:
            raise ValueError("no training examples")
        self.examples = examples
        self.rows = rows
        self.seed = seed
        self.enc_len = min(2048, _round_up(max(len(e.enc) for e in examples), 64))
        self.dec_len = _round_up(max(len(e.target) for e in examples), 16)
        self._epoch: tuple[int, list[list[_Row]]] | None = None
        self._counts: list[int] = []
        self.per_epoch = len(self._pack(0))  # the first epoch's; later shuffles may pack one more or less

    def _pack(self, epoch: int) -> list[list[_Row]]:
        order = list(range(len(self.examples)))
        random.Random(f"{self.seed}:{epoch}").shuffle(order)
        batches: list[list[_Row]] = []
        rows: list[_Row] = []
        for i in order:
            ex = self.examples[i]
            n, m = len(ex.enc), len(ex.target)
            row = next((r for r in rows if r.n_enc + n <= self.enc_len and r.n_dec + m <= self.dec_len), None)
            if row is None:
                if len(rows) == self.rows:
                    batches.append(rows)
                    rows = []
                row = _Row()
                rows.append(row)
            row.dec.append(ex)
            row.n_enc += n
            row.n_dec += m
        if rows:
            batches.append(rows)
        return batches

    def _locate(self, step: int) -> tuple[int, int]:
        """(epoch, batch within it) of a global step. Each epoch's shuffle packs into its own
        number of batches, so epochs are counted one by one (each packed once for its count)."""
        epoch = 0
        while True:
            if epoch == len(self._counts):
                self._counts.append(len(self._pack(epoch)))
            if step < self._counts[epoch]:
                return epoch, step
            step -= self._counts[epoch]
            epoch += 1

    def batch(self, step: int) -> dict[str, np.ndarray]:
        epoch, index = self._locate(step)
        if self._epoch is None or self._epoch[0] != epoch:
            self._epoch = (epoch, self._pack(epoch))
        out = empty_batch(self.rows, self.enc_len, self.dec_len)
        for r, row in enumerate(self._epoch[1][index]):
            _write_row(out, r, row)
        return out


# parts of the model the answer's loss never reaches: the retrieval head ranks tools before the
# model answers, so fine-tuning leaves it as it is (weight decay alone would only shrink it)
UNTRAINED = ("retrieval",)


def trained_parts(params: Mapping[str, Any], freeze_encoder: bool) -> dict[str, Any]:
    """The top-level parts of ``params`` that fine-tuning changes.

    With ``freeze_encoder`` the encoder's output is a constant to the loss, so its backward pass
    (most of a step's cost: it reads every tool of the registry) is never computed. The shared
    embedding table still trains through the decoder."""
    skip = UNTRAINED + (("encoder",) if freeze_encoder else ())
    return {k: v for k, v in params.items() if k not in skip}


def merged_params(base: Mapping[str, Any], trainable: Any, lora_rank: int | None, alpha: float) -> dict[str, Any]:
    """The whole parameter tree: ``base`` with the trained parts (or the LoRA adapters) in."""
    return lora.merge(base, trainable, alpha) if lora_rank else {**base, **trainable}


def initial_state(base: Mapping[str, Any], lora_rank: int | None, freeze_encoder: bool,
                  seed: int = 0) -> tuple[optax.GradientTransformation, TrainState]:
    """The optimizer and the starting state of what trains: AdamW whose learning rate the step
    takes as an argument (it follows the fitted horizon), over LoRA adapters or a copy of the
    trained parts (the step donates its state; ``base`` stays intact)."""
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam(),
                     optax.add_decayed_weights(0.0 if lora_rank else 0.01))
    parts = trained_parts(base, freeze_encoder)
    trainable = lora.init_lora(parts, lora_rank, seed) if lora_rank else jax.tree.map(jnp.copy, parts)
    return tx, TrainState(trainable, tx.init(trainable), jnp.zeros((), jnp.int32), jax.random.PRNGKey(seed))


def make_step(model_cfg, base: Any, lora_rank: int | None, alpha: float, tx: optax.GradientTransformation,
              freeze_encoder: bool = False):
    """Jitted ``step(state, batch) -> (state, metrics)``; the state holds only what trains."""
    model = Needle(model_cfg)
    weights = class_weights(LossSection())

    def loss_fn(trainable, batch):
        params = merged_params(base, trainable, lora_rank, alpha)
        logits = model.apply({"params": params}, batch["enc_tokens"], batch["enc_segments"], batch["enc_positions"],
                             batch["dec_inputs"], batch["dec_segments"], batch["dec_positions"],
                             freeze_encoder=freeze_encoder, method=Needle.packed_logits)
        loss, metrics = weighted_cross_entropy(logits, batch["dec_targets"], batch["loss_class"], weights, 1e-4)
        metrics["loss"] = loss
        return loss, metrics

    def step(state: TrainState, batch, lr):
        grads, metrics = jax.grad(loss_fn, has_aux=True)(state.params, batch)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, jax.tree.map(lambda u: -lr * u, updates))
        return TrainState(params, opt_state, state.step + 1, state.rng), metrics

    return jax.jit(step, donate_argnums=(0,))


def learning_rate(step: int, horizon: int, peak: float) -> float:
    """Linear warmup (20 steps at most) then cosine decay to a tenth of ``peak`` at ``horizon``."""
    warmup = min(20, max(1, horizon // 10))
    if step < warmup:
        return peak * step / warmup
    progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


class Horizon:
    """How many steps the schedule spans: the epochs' steps, or, with a time limit, the steps
    that fit in it at the pace measured so far (evaluations included), so the learning rate has
    decayed when time runs out instead of stopping at its peak. Refitted at every evaluation,
    rounded down to a whole evaluation interval (or, in the last one, to the steps that fit) so
    that the last step is evaluated."""

    def __init__(self, total: int, minutes: float | None, eval_every: int):
        self.total, self.minutes, self.eval_every = total, minutes, eval_every
        self.steps = total

    def refit(self, start: int, step: int, seconds: float) -> int:
        """The horizon after ``step``, this run having started at ``start`` ``seconds`` ago."""
        if self.minutes is None or step <= start or seconds <= 0:
            return self.steps
        fit = start + int(self.minutes * 60 * (step - start) / seconds)
        rounded = fit // self.eval_every * self.eval_every
        return min(self.total, rounded if rounded > step else max(step + 1, fit))


class Cadence:
    """When to validate next. Every ``every`` steps at least, and rarely enough that validating
    takes at most ``share`` of the time: where steps are fast and validation slow (smart_home's
    12 tools, all shown), validating every 50 steps took 15-25% of the run. The last step of the
    schedule is always validated, without a short interval just before it."""

    def __init__(self, every: int, share: float | None):
        if share is not None and not 0 < share < 1:
            raise ValueError(f"eval_share must be in (0, 1), got {share}")
        self.every, self.share = every, share

    def interval(self, step_seconds: float, eval_seconds: float) -> int:
        if not self.share or step_seconds <= 0:
            return self.every
        return max(self.every, math.ceil(eval_seconds * (1 - self.share) / self.share / step_seconds))

    def next(self, step: int, horizon: int, step_seconds: float, eval_seconds: float) -> int:
        interval = self.interval(step_seconds, eval_seconds)
        due = step + interval
        return horizon if due > horizon - interval // 2 else due


def validation_score(metrics: Mapping[str, float]) -> float:
    """What "better" means for early stopping and the kept weights: exact match first; call F1
    and tool-name F1 break ties, so progress shows before whole answers come out right."""
    def value(key: str) -> float:
        v = metrics.get(key, 0.0)
        return 0.0 if v != v else float(v)
    return value("exact_match") + 0.01 * value("call_f1") + 0.0001 * value("tool_name_f1")


def method_name(lora_rank: int | None, freeze_encoder: bool) -> str:
    """How the weights were tuned, for the report and the weights' metadata."""
    name = f"lora-r{lora_rank}" if lora_rank else "full"
    return name + ("-frozen-encoder" if freeze_encoder else "")


def tuned_metadata(specs: Sequence[ToolSpec], cfg: FinetuneConfig, base_label: str, step: int,
                   metrics: Mapping[str, Any]) -> dict[str, Any]:
    """What a tuned weights directory records about its tuning (read back by the router)."""
    return {"finetune": {
        "tools_fingerprint": registry_fingerprint(specs),
        "tools": [s.name for s in specs],
        "top_k": len(specs),
        "base": base_label,
        "method": method_name(cfg.lora_rank, cfg.freeze_encoder),
        "step": step,
        "validation": {k: None if isinstance(v, float) and v != v else v for k, v in metrics.items()},
    }}                                 # NaN (a metric with no case, e.g. no no-call example) is not JSON


def finetune(specs: Sequence[ToolSpec], splits: Mapping[str, list[dict]], cfg: FinetuneConfig, *,
             resume: bool = False, on_step: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train; the best weights (by validation exact match) end up in ``cfg.out_dir``. Returns a
    summary with the history. Ctrl-C stops cleanly (``summary["stop"] == "interrupted"``)."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_model(cfg.base)
    base = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), loaded.params)
    encoder = Encoder()
    train = with_tool_subsets(splits["train"], cfg.tool_subsets, cfg.seed) if cfg.tool_subsets else splits["train"]
    plan = BatchPlan(encoder.encode_many(train), cfg.rows, cfg.seed)
    total = max(1, math.ceil(cfg.epochs * plan.per_epoch))
    horizon = Horizon(total, cfg.minutes, cfg.eval_every)
    tx, state = initial_state(base, cfg.lora_rank, cfg.freeze_encoder, cfg.seed)
    ckpt = Checkpoints(out / "checkpoints", keep=1)
    record: dict[str, Any] = {"best": -1.0, "best_step": None, "bad_evals": 0, "history": [], "config": asdict(cfg)}
    if resume and ckpt.latest_step() is not None:
        state, record = ckpt.restore(state)
    step_fn = make_step(loaded.config, base, cfg.lora_rank, cfg.lora_alpha, tx, cfg.freeze_encoder)
    val = list(splits.get("validation") or [])[: cfg.eval_examples]

    # validation routes as the tuned folder will be served: the registry's size as top_k (with
    # the router's default of 8, a larger registry was judged on retrieved subsets of it)
    served = {"extra": tuned_metadata(specs, cfg, loaded.label, 0, {})}
    evaluator = ParamsEvaluator(loaded.config, max_new_tokens=cfg.max_new_tokens, info=served)
    cadence = Cadence(cfg.eval_every, cfg.eval_share)
    t0 = time.perf_counter()
    clock = {"eval_seconds": 0.0, "since": t0}   # the last validation's duration; when it ended

    def evaluate(step: int) -> float:
        started = time.perf_counter()
        params = to_host(merged_params(base, state.params, cfg.lora_rank, cfg.lora_alpha))
        res = evaluator(params, val, None)
        exact = res["metrics"]["exact_match"]
        entry = {"step": step, "seconds": round(time.perf_counter() - t0, 1), "validation_exact_match": exact,
                 "validation": res["metrics"]}
        record["history"].append(entry)
        score = validation_score(res["metrics"])
        if score > record.get("best_score", -1.0):
            record.update(best=exact, best_score=score, best_step=step, bad_evals=0)
            save_weights(out, params, loaded.config, quant="float32",
                         extra_metadata=tuned_metadata(specs, cfg, loaded.label, step, res["metrics"]))
        else:
            record["bad_evals"] += 1
        clock["since"] = time.perf_counter()
        clock["eval_seconds"] = clock["since"] - started
        return exact

    step = start = int(state.step)
    stop = "epochs"
    losses: list[float] = []

    def validate(step: int, since_step: int, lr: float) -> dict[str, float]:
        """Validate after training since ``since_step``; the history entry gets the loss and rate."""
        exact = evaluate(step)
        train_loss = float(np.mean(losses[-(step - since_step):]))
        record["history"][-1].update(train_loss=train_loss, learning_rate=lr)
        return {"validation_exact_match": exact, "train_loss": train_loss}
    due = record.get("next_eval", step + cfg.eval_every)
    if record["bad_evals"] >= cfg.patience:
        stop = "no_progress"                 # a resumed run that had stalled stays stopped
    try:
        if step == 0 and not record["history"]:
            evaluate(0)  # the base model's score, and a loadable output from the start
        interval_start = step
        while stop == "epochs" and step < horizon.steps:
            lr = learning_rate(step, horizon.steps, cfg.lr)
            state, metrics = step_fn(state, plan.batch(step), jnp.float32(lr))
            step += 1
            losses.append(float(metrics["loss"]))
            event: dict[str, Any] = {"step": step, "total": horizon.steps, "loss": losses[-1]}
            if step >= due or step == horizon.steps:
                step_seconds = (time.perf_counter() - clock["since"]) / max(1, step - interval_start)
                event.update(validate(step, interval_start, lr))
                record["horizon"] = horizon.steps = horizon.refit(start, step, time.perf_counter() - t0)
                record["next_eval"] = due = cadence.next(step, horizon.steps, step_seconds, clock["eval_seconds"])
                interval_start = step
                event["total"] = horizon.steps
                ckpt.save(state, record)
                if record["bad_evals"] >= cfg.patience:
                    stop = "no_progress"
            if on_step is not None:
                on_step(event)
            if stop == "no_progress":
                break
            # leave time to validate the last steps, so that they count (and the limit holds);
            # steps that took less time than validating them would are not worth it
            now = time.perf_counter()
            if cfg.minutes is not None and now - t0 + clock["eval_seconds"] > cfg.minutes * 60:
                stop = "time_limit"
                if step > interval_start and now - clock["since"] > clock["eval_seconds"]:
                    event.update(validate(step, interval_start, lr))
                    ckpt.save(state, record)
                    if on_step is not None:
                        on_step(event)
                break
        if stop == "epochs" and horizon.steps < total:
            stop = "time_limit"              # the schedule was fitted to the time and finished
    except KeyboardInterrupt:
        stop = "interrupted"
    finally:
        ckpt.close()
    log = {**record, "stop": stop, "steps": step, "total_steps": total, "horizon": horizon.steps,
           "seconds": time.perf_counter() - t0}
    atomic_write(out / "finetune_log.json", (json.dumps(log, indent=1) + "\n").encode())
    return {"stop": stop, "steps": step, "total_steps": total, "horizon": horizon.steps, "best_exact_match": record["best"],
            "best_step": record["best_step"], "history": record["history"], "seconds": time.perf_counter() - t0,
            "base": loaded.label, "steps_per_epoch": plan.per_epoch, "enc_len": plan.enc_len}
