"""Evaluate a model on examples (``{"query", "tools", "calls"}``) through the real router.

Routing goes through :class:`needle_router.NeedleRouter` exactly as users call it (grammar,
retrieval, decoding; examples of different tool sets share batches), so the numbers are the
product's numbers, whether the weights come from a directory or from a training run in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from needle_router.engine import get_engine
from needle_trainer.evaluation.routing import predict
from needle_trainer.metrics import Scores


def route_examples(model: Any, examples: Iterable[Mapping[str, Any]], max_new_tokens: int = 160,
                   worst: int = 10) -> dict[str, Any]:
    """Scores and the first failures of ``model`` (a weights dir, preset, LoadedModel or Engine)."""
    examples = list(examples)
    preds = predict(get_engine(model), examples, max_new_tokens=max_new_tokens)
    scores = Scores()
    failures: list[dict[str, Any]] = []
    skipped = 0
    for ex, pred in zip(examples, preds):
        if pred.error is not None:  # the tool set cannot be bound: nothing to score
            skipped += 1
            continue
        exact = scores.add(ex["calls"], pred.calls, pred.valid, pred.compute_ms)
        if not exact and len(failures) < worst:
            failures.append({"query": ex["query"], "expected": ex["calls"], "predicted": pred.calls})
    return {"metrics": scores.summary(), "n": scores.n, "skipped": skipped, "failures": failures}
