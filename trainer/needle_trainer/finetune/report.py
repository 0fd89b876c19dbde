"""The fine-tune report: base vs tuned on the held-back test split, per tool, worst failures,
as report.json, report.md and a loss / validation-accuracy curve (curve.png)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from needle_router.engine import get_engine
from needle_router.model.weights import atomic_write
from needle_trainer.evaluation.report import save_figure
from needle_trainer.evaluation.routing import predict
from needle_trainer.evaluation.scoring import score_cases
from needle_trainer.evaluation.suites import Case


def _tool_of(example: Mapping[str, Any]) -> str:
    calls = example["calls"]
    return "(no call)" if not calls else calls[0]["name"] if len(calls) == 1 else "(several calls)"


def score_split(model: Any, examples: Sequence[Mapping[str, Any]], max_new_tokens: int = 128,
                worst: int = 10) -> dict[str, Any]:
    """Exact match overall and per tool (single calls by their tool; several calls and no call
    as their own rows): ``eval``'s scoring with the tool as the category."""
    cases = [Case(f"{i}", _tool_of(ex), ex["query"], ex["tools"], list(ex["calls"])) for i, ex in enumerate(examples)]
    preds = predict(get_engine(model), [c.item() for c in cases], max_new_tokens=max_new_tokens)
    scored = score_cases(cases, preds, worst=worst)
    return {"metrics": scored["metrics"]["all"], "n": scored["overall"]["n"],
            "per_tool": {t: {"exact_match": scored["accuracy"][t], "n": scored["n"][t]} for t in sorted(scored["n"])},
            "failures": scored["failures"]}


def write_report(out_dir: str | os.PathLike, summary: Mapping[str, Any], base: Mapping[str, Any],
                 tuned: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = Path(out_dir)
    report = {"summary": dict(summary), "base": dict(base), "tuned": dict(tuned), **extra}
    report["summary"].pop("history", None)
    report["history"] = summary.get("history", [])
    atomic_write(out / "report.json", (json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n").encode())
    atomic_write(out / "report.md", markdown(report).encode())
    plot_curve(report["history"], out / "curve.png")
    return report


def markdown(report: Mapping[str, Any]) -> str:
    s, b, t = report["summary"], report["base"], report["tuned"]
    lines = [f"# Fine-tune report: {report.get('tools_file', '')}", "",
             f"Base: {s['base']}; method: {report.get('method')}; {s['steps']} of {s['total_steps']} steps "
             f"({_horizon(s)}) "
             f"in {s['seconds'] / 60:.1f} min (stopped: {s['stop']}); best validation exact match "
             f"{s['best_exact_match']:.1f}% at step {s['best_step']}.", "", *_timings(report.get("timings")),
             f"## Test split ({t['n']} examples never trained on)", "",
             "| metric | base | tuned |", "|---|---|---|"]
    for key in ("exact_match", "tool_name_f1", "call_f1", "argument_accuracy", "no_call_accuracy", "schema_validity"):
        bv, tv = b["metrics"].get(key), t["metrics"].get(key)
        lines.append(f"| {key.replace('_', ' ')} | {_pct(bv)} | {_pct(tv)} |")
    lines += ["", "## Per tool (exact match %)", "", "| tool | n | base | tuned |", "|---|---|---|---|"]
    for tool, row in t["per_tool"].items():
        lines.append(f"| {tool} | {row['n']} | {_pct(b['per_tool'].get(tool, {}).get('exact_match'))} | "
                     f"{_pct(row['exact_match'])} |")
    if report.get("holdout"):
        h = report["holdout"]
        lines += ["", f"## Hand-written queries ({h['file']}, {h['tuned']['n']} queries, never trained on)", "",
                  f"exact match: base {_pct(h['base']['metrics']['exact_match'])}, "
                  f"tuned {_pct(h['tuned']['metrics']['exact_match'])}"]
    lines += ["", "## Worst failures of the tuned model", ""]
    for f in t["failures"]:
        lines.append(f"- `{f['query']}`: expected `{json.dumps(f['expected'], ensure_ascii=False)}`, "
                     f"got `{json.dumps(f['predicted'], ensure_ascii=False)}` (confidence {f['confidence']})")
    return "\n".join(lines) + "\n"


def _horizon(summary: Mapping[str, Any]) -> str:
    horizon = summary.get("horizon", summary["total_steps"])
    if horizon < summary["total_steps"]:
        return f"learning-rate schedule fitted to the time limit: {horizon} steps"
    return "the epochs' steps"


def _timings(timings: Mapping[str, Any] | None) -> list[str]:
    if not timings:
        return []
    limit = f" (limit {timings['budget_minutes']:g} min)" if timings.get("budget_minutes") else ""
    return [f"Time: {timings['total'] / 60:.1f} min{limit}: data {timings['data']:.0f} s, scoring the base model "
            f"{timings['base_scoring']:.0f} s, training {timings['training'] / 60:.1f} min, scoring the tuned model "
            f"{timings['tuned_scoring']:.0f} s.", ""]


def _pct(v: Any) -> str:
    return "-" if v is None or v != v else f"{v:.1f}"


def plot_curve(history: Sequence[Mapping[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(steps, [h["validation_exact_match"] for h in history], "o-", color="tab:blue", label="validation exact match %")
    ax.set_xlabel("step")
    ax.set_ylabel("exact match %", color="tab:blue")
    ax.set_ylim(0, 100)
    with_loss = [h for h in history if "train_loss" in h]
    if with_loss:
        ax2 = ax.twinx()
        ax2.plot([h["step"] for h in with_loss], [h["train_loss"] for h in with_loss], "s--", color="tab:red",
                 label="training loss")
        ax2.set_ylabel("training loss", color="tab:red")
    ax.set_title("fine-tuning")
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=110)
    finally:
        plt.close(fig)
