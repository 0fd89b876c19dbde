"""Evaluate a model on examples (``{"query", "tools", "calls"}``) through the real router.

Routing goes through :class:`needle_router.NeedleRouter` exactly as users call it (grammar,
retrieval, decoding), so the numbers are the product's numbers, whether the weights come from a
directory or from a training run in memory.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from needle_router import NeedleRouter
from needle_router.engine import get_engine
from needle_router.tools.errors import ToolSpecError
from needle_trainer.metrics import Scores


def route_examples(model: Any, examples: Iterable[Mapping[str, Any]], max_new_tokens: int = 160,
                   worst: int = 10) -> dict[str, Any]:
    """Scores and the worst failures of ``model`` (a weights dir, preset, LoadedModel or Engine)."""
    engine = get_engine(model)
    scores = Scores()
    failures: list[dict[str, Any]] = []
    skipped = 0
    for ex in examples:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                router = NeedleRouter(ex["tools"], model=engine, max_new_tokens=max_new_tokens, batch_wait_ms=0)
        except ToolSpecError:
            skipped += 1
            continue
        result = router.route_sync(ex["query"])
        predicted = [{"name": c.name, "arguments": c.arguments} for c in result.calls]
        valid = [True] * len(predicted) + [False] * len(result.errors)
        exact = scores.add(ex["calls"], predicted, valid, result.latency_ms)
        if not exact and len(failures) < worst:
            failures.append({"query": ex["query"], "expected": ex["calls"], "predicted": predicted})
    return {"metrics": scores.summary(), "n": scores.n, "skipped": skipped, "failures": failures}
