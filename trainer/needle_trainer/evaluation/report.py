"""Reports: the per-category table (with a second model and deltas), JSON, a PNG chart."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from needle_router.model.weights import atomic_write

REFERENCE = {  # published BFCL AST accuracy (DESIGN.md section 9)
    "FunctionGemma-270M": {"simple_python": 61.6, "multiple": 63.5, "parallel": 39.0,
                           "parallel_multiple": 29.5, "irrelevance": 73.7},
    "Granite-4.0-350m": {"simple_python": 83.0, "multiple": 84.5, "parallel": 70.0,
                         "parallel_multiple": 55.5, "irrelevance": 76.7},
    "Qwen3-0.6B (FC)": {"simple_python": 86.5, "multiple": 86.0, "parallel": 67.5,
                        "parallel_multiple": 69.5, "irrelevance": 82.5},
}
SHOWN = ("tool_name_f1", "call_f1", "argument_accuracy", "schema_validity", "no_call_accuracy", "latency_p50_ms")


def _fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def print_table(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    other = report.get("compare")
    table = Table(title=f"{report['suite']}: {report['model']}", title_justify="left")
    table.add_column("category", no_wrap=True)
    table.add_column("n", justify="right")
    table.add_column("accuracy %", justify="right")
    if other:
        table.add_column("other %", justify="right")
        table.add_column("delta", justify="right")
    shown = [m for m in SHOWN if any(m in v for v in report["metrics"].values())]
    for m in shown:
        table.add_column(m.replace("_", " "), justify="right")
    rows = list(report["accuracy"]) + ["all"]
    for cat in rows:
        acc = report["overall"]["accuracy"] if cat == "all" else report["accuracy"][cat]
        n = report["overall"]["n"] if cat == "all" else report["n"][cat]
        label = "all (mean of categories)" if report["overall"].get("kind", "").startswith("mean") else "all"
        cells = [cat if cat != "all" else f"[bold]{label}[/bold]", str(n), _fmt(acc)]
        if other:
            o = other["overall"]["accuracy"] if cat == "all" else other["accuracy"].get(cat)
            cells += [_fmt(o), "-" if o is None else f"{acc - o:+.1f}"]
        metrics = report["metrics"].get(cat, {})
        cells += [_fmt(metrics.get(m)) for m in shown]
        table.add_row(*cells)
    console.print(table)
    extra = []
    if report.get("retrieval"):
        r = report["retrieval"]
        parts = f" (head alone {r['recall_head']:.1f}%, BM25 alone {r['recall_lexical']:.1f}%)" if "recall_head" in r else ""
        extra.append(f"retrieval recall@{r['k']} among {r['pool']} tools: {r['recall']:.1f}%{parts} "
                     f"({r['queries']} queries)")
    if report.get("calibration"):
        extra.append(f"confidence calibration error (ECE): {100 * report['calibration']['ece']:.1f} points")
    t = report["timing"]
    extra.append(f"{t['requests']} requests in {t['wall_s']:.1f} s ({t['requests_per_s']:.2f}/s, "
                 f"mean {t['mean_output_tokens']:.1f} output tokens)")
    if other:
        extra.append(f"other model: {other['model']}")
    console.print("[dim]" + "\n".join(extra) + "[/dim]")
    if report["failures"]:
        worst = Table(title="worst failures", title_justify="left", show_lines=True)
        for col in ("category", "query", "expected", "predicted"):
            worst.add_column(col, overflow="fold")
        for f in report["failures"]:
            why = f"\n[dim]{_cut(f['why'])}[/dim]" if f.get("why") else ""
            worst.add_row(f["category"], _cut(f["query"]), _cut(json.dumps(f["expected"], ensure_ascii=False)),
                          _cut(json.dumps(f["predicted"], ensure_ascii=False)) + why)
        console.print(worst)


def _cut(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 120) -> None:
    """A matplotlib figure as a PNG, written atomically (a reader never sees half a file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write(Path(path), buf.getvalue())


def write_json(report: dict[str, Any], path: str | os.PathLike) -> None:
    clean = json.loads(json.dumps(report, default=str).replace("NaN", "null"))
    atomic_write(Path(path), (json.dumps(clean, indent=2, ensure_ascii=False) + "\n").encode())


def plot(report: dict[str, Any], path: str | os.PathLike, references: Sequence[str] = ()) -> None:
    """Grouped bars of per-category accuracy: this model, the compared one, reference models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = list(report["accuracy"])
    series = [(report["model"], [report["accuracy"][c] for c in cats])]
    if report.get("compare"):
        series.append((report["compare"]["model"], [report["compare"]["accuracy"].get(c, 0.0) for c in cats]))
    for name in references:
        series.append((name, [REFERENCE[name].get(c, 0.0) for c in cats]))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(cats) * max(1, len(series) / 2)), 4.2))
    for i, (label, values) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(cats))]
        bars = ax.bar(xs, values, width, label=label[:48])
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(range(len(cats)), cats, rotation=20, ha="right")
    ax.set_ylabel("accuracy %")
    ax.set_ylim(0, 105)
    ax.set_title(f"{report['suite']}")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    try:
        save_figure(fig, path)
    finally:
        plt.close(fig)
