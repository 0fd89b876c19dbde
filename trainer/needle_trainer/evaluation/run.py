"""One evaluation: a suite, a model (and optionally a second one), one report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from needle_router.engine import Engine, get_engine
from needle_trainer.evaluation import retrieval, scoring
from needle_trainer.evaluation.routing import default_batch, predict
from needle_trainer.evaluation.suites import Case


def evaluate_model(model: Any, cases: Sequence[Case], suite: str, *, max_new_tokens: int = 384,
                   max_batch: int | None = None, worst: int = 10, recall_k: int = 5, recall_pool: int = 100,
                   progress: Callable[[int], None] | None = None, tool_prior: float | None = None,
                   split_clauses: bool = True) -> dict[str, Any]:
    """The report of ``model`` (weights dir, preset, None for the default, or an Engine) on
    ``cases``; ``tool_prior``, ``split_clauses``: the routers' (None: their default)."""
    engine: Engine = get_engine(model)
    t0 = time.perf_counter()
    preds = predict(engine, [c.item() for c in cases], max_new_tokens=max_new_tokens, max_batch=max_batch,
                    progress=progress, tool_prior=tool_prior, split_clauses=split_clauses)
    wall = time.perf_counter() - t0
    report: dict[str, Any] = {"model": engine.loaded.label, "suite": suite}
    report.update(scoring.score_cases(cases, preds, worst=worst))
    report["timing"] = {
        "requests": len(cases), "wall_s": wall, "requests_per_s": len(cases) / max(wall, 1e-9),
        "mean_output_tokens": sum(p.output_tokens for p in preds) / max(len(preds), 1),
        "max_batch": max_batch or default_batch(),
    }
    if recall_k and not any(c.bfcl is not None for c in cases):
        report["retrieval"] = retrieval.recall_at_k(engine, cases, k=recall_k, pool=recall_pool)
    return report


def compare_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What a report keeps of the model it is compared with."""
    return {k: report[k] for k in ("model", "accuracy", "n", "overall", "metrics", "timing")}
