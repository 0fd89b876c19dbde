"""`needle-router finetune`: data for the registry, training, the report; one folder out.

    OUT/
      model.safetensors, config.json   tuned weights (NeedleRouter(tools, model="OUT") loads them)
      tools.json                       the registry it was tuned on (its fingerprint is in config.json)
      data/{train,validation,test}.jsonl
      report.json, report.md, curve.png
      finetune_log.json, checkpoints/  history and the state --resume continues from
      base_scores.json                 the base model's scores (a resumed run reads them back)

``minutes`` limits the whole run: training gets what is left once the data is made and the base
model scored, less the time scoring the tuned model will take.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from needle_router.allocator import keep_freed_memory_for_cpu_training
from needle_router.model.weights import WeightsError, atomic_write, read_metadata
from needle_router.tools.spec import ToolSpec
from needle_trainer.finetune import data as ft_data
from needle_trainer.finetune.report import score_split, write_report
from needle_trainer.finetune.train import FinetuneConfig, finetune, method_name

if TYPE_CHECKING:
    from needle_router.decision import NoCallDecision
    from needle_trainer.evaluation.decision import DecisionOutcomes


DECISION_EXAMPLES = 400   # validation examples the no-call decision is fitted on (about a minute on a CPU)


class FinetuneInputError(ValueError):
    """The command's input cannot be used (message says what and where)."""


def _prepare_data(specs: Sequence[ToolSpec], out: Path, data_file: str | None, per_tool: int, seed: int,
                  console: Console) -> dict[str, list[dict]]:
    examples = ft_data.synthesize(list(specs), per_tool=per_tool, seed=seed)
    console.print(f"synthesised {len(examples):,} examples for {len(specs)} tools")
    if data_file:
        try:
            mine, problems = ft_data.load_user_examples(data_file, list(specs))
        except FileNotFoundError as err:
            raise FinetuneInputError(f"--data {data_file}: {err}") from None
        for problem in problems[:20]:
            console.print(f"[yellow]skipped[/yellow] {problem}")
        if len(problems) > 20:
            console.print(f"[yellow]... and {len(problems) - 20} more bad lines skipped[/yellow]")
        console.print(f"your examples: {len(mine)} used, {len(problems)} skipped")
        examples += mine
    splits = ft_data.split_per_tool(examples, seed=seed)
    ft_data.write_splits(out, splits)
    return splits


def _read_splits(out: Path) -> dict[str, list[dict]]:
    return {name: list(ft_data.read_split(out / "data" / f"{name}.jsonl")) for name in ("train", "validation", "test")}


def run(specs: Sequence[ToolSpec], out: Path, *, tools_file: str, data_file: str | None = None,
        holdout_file: str | None = None, per_tool: int = 300, epochs: float = 1.5, lora_rank: int | None = None,
        freeze_encoder: bool = False, minutes: float | None = 20.0, base: str | None = None, resume: bool = False,
        eval_every: int = 50, seed: int = 0, learning_rate: float | None = None, tool_subsets: float = 0.75,
        console: Console | None = None, on_event: Callable[[dict[str, Any]], None] | None = None, own_process: bool = False) -> dict[str, Any]:
    """Everything ``needle-router finetune`` does; returns the report.

    ``on_event`` (for callers without a terminal, like the playground server) receives phase
    events, ``{"phase": "data" | "training" | "scoring" | "done" | "error", ...}``, and every
    training step's ``{"step", "total", "loss"[, "validation_exact_match"]}``. An exception it
    raises stops the run (after an ``error`` event). ``own_process``: the process ends with the
    run (the CLI), so malloc may keep every freed block (:mod:`needle_router.allocator`).
    """
    emit = on_event or (lambda event: None)
    try:
        report = _run(specs, Path(out), tools_file=tools_file, data_file=data_file, holdout_file=holdout_file,
                      per_tool=per_tool, epochs=epochs, lora_rank=lora_rank, freeze_encoder=freeze_encoder,
                      minutes=minutes, base=base, resume=resume, eval_every=eval_every, seed=seed,
                      learning_rate=learning_rate, tool_subsets=tool_subsets,
                      console=console or Console(stderr=True), emit=emit,
                      own_process=own_process)
    except BaseException as err:
        emit({"phase": "error", "message": str(err) or type(err).__name__})
        raise
    emit({"phase": "done", "base_exact_match": report["base"]["metrics"]["exact_match"],
          "tuned_exact_match": report["tuned"]["metrics"]["exact_match"], "test_examples": report["tuned"]["n"]})
    return report


def _run(specs: Sequence[ToolSpec], out: Path, *, tools_file: str, data_file: str | None,
         holdout_file: str | None, per_tool: int, epochs: float, lora_rank: int | None, freeze_encoder: bool,
         minutes: float | None, base: str | None, resume: bool, eval_every: int, seed: int, learning_rate: float | None,
         tool_subsets: float, console: Console, emit: Callable[[dict[str, Any]], None], own_process: bool) -> dict[str, Any]:
    started = time.perf_counter()
    keep_freed_memory_for_cpu_training(keep_all=own_process)   # first: before anything starts JAX's threads
    has_run = (out / "data" / "train.jsonl").exists()
    if resume and not has_run:
        raise FinetuneInputError(f"--resume: {out} holds no fine-tuning run to continue")
    if resume:
        _check_same_method(out, method_name(lora_rank, freeze_encoder))
    if not resume and out.exists() and any(out.iterdir()):
        raise FinetuneInputError(f"{out} already exists and is not empty (use --resume to continue it, "
                                 "or another --out)")
    holdout = None
    if holdout_file:
        try:
            holdout, problems = ft_data.load_user_examples(holdout_file, list(specs))
        except FileNotFoundError as err:
            raise FinetuneInputError(f"--holdout {holdout_file}: {err}") from None
        if problems:
            raise FinetuneInputError(f"--holdout: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    out.mkdir(parents=True, exist_ok=True)
    emit({"phase": "data", "resume": resume})
    splits = _read_splits(out) if resume else _prepare_data(specs, out, data_file, per_tool, seed, console)
    atomic_write(out / "tools.json", (json.dumps([s.to_openai() for s in specs], indent=1) + "\n").encode())
    timings = {"data": time.perf_counter() - started}
    clock = time.perf_counter()
    base_scores = _base_scores(out, base, splits["test"], holdout, holdout_file, console)
    timings["base_scoring"] = time.perf_counter() - clock
    scored = len(splits["test"]) + len(holdout or [])
    train_minutes = training_minutes(minutes, time.perf_counter() - started, base_scores["seconds"], scored,
                                     scored + min(DECISION_EXAMPLES, len(splits["validation"])), console)
    cfg = FinetuneConfig(out_dir=str(out), base=base, lora_rank=lora_rank, freeze_encoder=freeze_encoder,
                         epochs=epochs, minutes=train_minutes,
                         eval_every=eval_every, seed=seed, learning_rate=learning_rate, tool_subsets=tool_subsets)
    console.print(f"training on {len(splits['train']):,} examples ({len(splits['validation'])} validation, "
                  f"{len(splits['test'])} test); method: {method_name(lora_rank, freeze_encoder)}")
    emit({"phase": "training", "examples": {k: len(v) for k, v in splits.items()}})
    columns = (TextColumn("[bold]fine-tuning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn(), TextColumn("loss {task.fields[loss]}  validation exact {task.fields[val]}"))
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("", total=None, loss="-", val="-")

        def on_step(event: dict[str, Any]) -> None:
            fields = {"loss": f"{event['loss']:.3f}"}
            if "validation_exact_match" in event:
                fields["val"] = f"{event['validation_exact_match']:.1f}%"
            bar.update(task, completed=event["step"], total=event["total"], **fields)
            emit(dict(event))

        clock = time.perf_counter()
        summary = finetune(specs, splits, cfg, resume=resume, on_step=on_step)
    interrupted = summary["stop"] == "interrupted"
    if interrupted:
        console.print("[yellow]interrupted[/yellow]: the best weights so far are in place (--resume continues "
                      "the run); fitting their no-call decision and scoring them (Ctrl-C again skips that)")
    timings["training"] = time.perf_counter() - clock
    clock = time.perf_counter()
    fitted = False
    try:
        fitted_meta = _fit_decision(out, splits["validation"], console) or {}
        fitted = True
        console.print("scoring the tuned model on the test split ...")
        emit({"phase": "scoring", "stop": summary["stop"], "steps": summary["steps"]})
        tuned_scores = score_split(str(out), splits["test"])
        tuned_holdout = score_split(str(out), holdout) if holdout is not None else None
    except KeyboardInterrupt:
        if interrupted:  # a second Ctrl-C: say what the folder holds
            console.print(f"[yellow]stopped[/yellow]: {out} holds the best weights so far"
                          f"{'' if fitted else ' (without a fitted no-call decision)'}; no report was written")
        raise
    extra: dict[str, Any] = {"tools_file": tools_file, "method": method_name(lora_rank, freeze_encoder),
                             "examples": {k: len(v) for k, v in splits.items()},
                             "decision": fitted_meta.get("decision"), "calibration": fitted_meta.get("calibration")}
    if holdout is not None:
        extra["holdout"] = {"file": holdout_file, "base": base_scores["holdout"], "tuned": tuned_holdout}
    timings["tuned_scoring"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - started
    extra["timings"] = {"budget_minutes": minutes, "training_minutes": train_minutes,
                        **{k: round(v, 1) for k, v in timings.items()}}
    return write_report(out, summary, base_scores["test"], tuned_scores, extra)


def _check_same_method(out: Path, method: str) -> None:
    """A resumed run trains what the run it continues trained (its checkpoint holds exactly
    those weights or adapters); the tuned weights' metadata says which."""
    try:
        saved = read_metadata(out).get("finetune", {}).get("method")
    except WeightsError:
        return                            # interrupted before its first weights: nothing to disagree with
    if saved is not None and saved != method:
        raise FinetuneInputError(f"--resume: {out} was tuned as {saved!r}, and this run asks for {method!r}; "
                                 "give the same --lora-rank / --freeze-encoder as the first run")


def _base_scores(out: Path, base: str | None, test: list[dict], holdout: list[dict] | None,
                 holdout_file: str | None, console: Console) -> dict[str, Any]:
    """The base model's scores on the test split (and the hand-written queries), before training:
    they do not change while it trains, their time tells how long scoring the tuned model will
    take, and a resumed run reads them back instead of scoring again."""
    path = out / "base_scores.json"
    key = {"base": base, "test": _file_digest(out / "data" / "test.jsonl"), "holdout": _file_digest(holdout_file)}
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("key") == key:
            return cached
    console.print("scoring the base model on the test split ...")
    clock = time.perf_counter()
    scores = {"key": key, "test": score_split(base, test),
              "holdout": score_split(base, holdout) if holdout is not None else None}
    scores["seconds"] = time.perf_counter() - clock
    atomic_write(path, (json.dumps(scores, ensure_ascii=False, default=str) + "\n").encode())
    return scores


def _file_digest(file: Path | str | None) -> str | None:
    return hashlib.sha256(Path(file).read_bytes()).hexdigest() if file else None


def training_minutes(budget: float | None, spent: float, scoring_seconds: float, scored: int, to_score: int,
                     console: Console) -> float | None:
    """The training's share of a time limit for the whole run: what is left after ``spent``
    seconds, less the time scoring ``to_score`` examples with the tuned model will take (at the
    pace of scoring ``scored`` with the base model, plus a tenth for safety)."""
    if budget is None:
        return None
    reserve = 1.1 * scoring_seconds * to_score / max(1, scored) + 5.0
    seconds = budget * 60 - spent - reserve
    floor = 0.25 * budget * 60
    if seconds < floor:
        console.print(f"[yellow]the time limit is tight[/yellow]: preparing and scoring take about "
                      f"{(spent + reserve) / 60:.1f} of the {budget:g} minutes; training gets {floor / 60:.1f} "
                      "minutes anyway, so the run will take longer")
        seconds = floor
    return seconds / 60


def _fit_decision(out: Path, validation: list[dict], console: Console) -> dict[str, Any] | None:
    """Fit the tuned weights' no-call decision (weighing the query-tool match) on the validation
    split, the registry's own tools (see :mod:`needle_trainer.evaluation.decision`), then the
    confidence mapping for the answers that decision writes (from the same routing passes),
    and store both with them; returns what was stored (``decision``, ``calibration`` where it
    could be fitted), None where the decision could not be. Without the mapping a tuned
    model's raw confidence was 20-57 points from its accuracy."""
    from needle_router.engine import get_engine
    from needle_router.model.weights import update_metadata
    from needle_trainer.evaluation.decision import FINETUNE_CALL_LEANING, decision_outcomes, fit_no_call_decision

    try:
        outcomes = decision_outcomes(get_engine(str(out)), validation[:DECISION_EXAMPLES])
        fitted = fit_no_call_decision(outcomes, call_leaning=FINETUNE_CALL_LEANING)
    except ValueError as err:
        console.print(f"[yellow]no-call decision not fitted[/yellow]: {err}")
        return None
    meta = fitted.metadata(split="validation", call_leaning=FINETUNE_CALL_LEANING)
    changes: dict[str, Any] = {"decision": meta}
    console.print(f"{fitted.describe()} (validation split)")
    calibration = _fit_confidence(outcomes, fitted.decision, console)
    if calibration is not None:
        changes["calibration"] = calibration
    update_metadata(out, changes)
    return changes


def _fit_confidence(outcomes: DecisionOutcomes, decision: NoCallDecision, console: Console) -> dict[str, Any] | None:
    """The Platt mapping of the answers' raw confidence to P(right) on the validation split;
    None (the raw confidence stays) where it cannot be fitted."""
    from needle_trainer.evaluation.calibration import fit_platt, reliability

    raw, right = outcomes.answers(decision)
    try:
        mapping = fit_platt(raw, right)
    except ValueError as err:
        console.print(f"[yellow]confidence not calibrated[/yellow]: {err}")
        return None
    before = reliability(raw, right)["ece"]
    after = reliability([mapping.apply(float(r)) for r in raw], right)["ece"]
    console.print(f"confidence calibrated on {len(raw)} validation answers: calibration error "
                  f"{100 * before:.1f} -> {100 * after:.1f} points")
    return mapping.to_metadata(n=int(len(raw)), split="validation", ece_before=before, ece_after=after)


def print_summary(report: dict[str, Any], out: Path, console: Console) -> None:
    table = Table(title=f"fine-tuned model: {out}", title_justify="left")
    table.add_column("set")
    table.add_column("n", justify="right")
    table.add_column("base exact %", justify="right")
    table.add_column("tuned exact %", justify="right")
    rows = [("test split", report["base"], report["tuned"])]
    if report.get("holdout"):
        rows.append((f"hand-written ({report['holdout']['file']})", report["holdout"]["base"], report["holdout"]["tuned"]))
    for name, b, t in rows:
        table.add_row(name, str(t["n"]), f"{b['metrics']['exact_match']:.1f}", f"{t['metrics']['exact_match']:.1f}")
    console.print(table)
    s = report["summary"]
    console.print(f"{s['steps']} steps in {s['seconds'] / 60:.1f} min (stopped: {s['stop']}); report: {out}/report.md; "
                  f"use it: NeedleRouter(tools, model={str(out)!r})")
