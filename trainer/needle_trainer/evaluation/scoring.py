"""Predictions -> per-category metrics, the BFCL accuracy where it applies, worst failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from needle_trainer.evaluation import bfcl
from needle_trainer.evaluation.calibration import reliability
from needle_trainer.evaluation.routing import Prediction
from needle_trainer.evaluation.suites import Case
from needle_trainer.metrics import Scores, _f1, _key

# BFCL accepts several values per argument, so argument-level metrics against one reference
# answer would be wrong; these are the metrics that stay exact there.
BFCL_METRICS = ("tool_name_f1", "schema_validity", "no_call_accuracy", "false_no_call",
                "latency_p50_ms", "latency_p95_ms")


def _call_f1(expected: Sequence[dict], predicted: Sequence[dict]) -> float:
    return _f1(Counter(map(_key, expected)), Counter(map(_key, predicted)))


def score_cases(cases: Sequence[Case], preds: Sequence[Prediction], worst: int = 10) -> dict[str, Any]:
    """``{"accuracy", "n", "metrics", "failures"}``; categories in first-seen order plus "all"."""
    scores: dict[str, Scores] = {}
    passed: dict[str, int] = {}
    failures: list[tuple[tuple[float, float], dict[str, Any]]] = []
    outcomes: list[tuple[float, bool]] = []   # (confidence, right) for the reliability table
    for case, pred in zip(cases, preds):
        s = scores.setdefault(case.category, Scores())
        if case.bfcl is not None:
            ok, why = bfcl.score(case.bfcl, pred.calls) if pred.error is None else (False, pred.error)
            s.add(case.calls, pred.calls, pred.valid, pred.compute_ms)
        else:
            ok = s.add(case.calls, pred.calls, pred.valid, pred.compute_ms) and pred.error is None
            why = pred.error or ""
        passed[case.category] = passed.get(case.category, 0) + ok
        outcomes.append((pred.confidence, bool(ok)))
        if not ok:
            record = {"id": case.id, "category": case.category, "query": case.query,
                      "expected": case.bfcl.ground_truth if case.bfcl and case.bfcl.ground_truth else case.calls,
                      "predicted": pred.calls, "confidence": round(pred.confidence, 4)}
            if why:
                record["why"] = why[:400]
            # worst first: furthest from right, then most confident
            failures.append(((_call_f1(case.calls, pred.calls), -pred.confidence), record))
    total = Scores()
    for s in scores.values():
        total.merge(s)
    metrics = {cat: s.summary() for cat, s in scores.items()}
    metrics["all"] = total.summary()
    if any(c.bfcl is not None for c in cases):
        metrics = {cat: {k: v for k, v in m.items() if k in BFCL_METRICS} for cat, m in metrics.items()}
    n = {cat: s.n for cat, s in scores.items()}
    accuracy = {cat: 100.0 * passed[cat] / n[cat] for cat in n}
    failures.sort(key=lambda f: f[0])
    bfcl_suite = any(c.bfcl is not None for c in cases)
    macro = sum(accuracy.values()) / max(len(accuracy), 1)
    micro = 100.0 * sum(passed.values()) / max(sum(n.values()), 1)
    confidence = reliability([c for c, _ in outcomes], [ok for _, ok in outcomes])
    return {"accuracy": accuracy, "n": n, "metrics": metrics, "failures": [r for _, r in failures[:worst]],
            "calibration": confidence,
            "overall": {"accuracy": macro if bfcl_suite else micro, "accuracy_micro": micro,
                        "accuracy_mean_of_categories": macro, "n": sum(n.values()),
                        "kind": "mean of categories (as BFCL reports)" if bfcl_suite else "all cases"}}
