"""The call / no-call decision, fitted per weights file and stored with it.

The first token a Needle decoder writes is the decision: ``<|no_call|>`` or ``<|call|>``. Where a
small model puts that threshold moves with training and with quantisation (round 3's INT4 file
said "no call" 15 points less often than its own float weights), and one logit offset restores
it. On tools it has never seen, a small model also calls when nothing bound fits the request;
how well the query matches the best bound tool, by the retrieval head and by word overlap
(BM25), tells those cases apart better than the decoder alone. So the decision is:

    no call  iff  logit P(no call) + bias + dense * best_cosine + lexical * best_bm25 > 0

``needle-router calibrate`` fits the three numbers on training-split tools (never the
evaluation's) and writes them into the weights folder's metadata; the engine adds the row's
offset to the no-call logit at the first decoding step. Folders without them decode unbiased.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_BIAS = 8.0  # a larger constant offset would all but fix the decision, whatever the query
MAX_WEIGHT = 50.0  # per unit of cosine (at most 2 apart) or BM25 score
MAX_MATCH_BIAS = 100.0  # beside match weights the bias also cancels their typical offset


@dataclass(frozen=True)
class NoCallDecision:
    """The offset added to the no-call logit: ``bias`` plus the weighted query-tool match."""

    bias: float = 0.0
    dense: float = 0.0    # per unit of the best query-tool cosine (retrieval head)
    lexical: float = 0.0  # per unit of the best BM25 score of the query against a tool

    @property
    def uses_match(self) -> bool:
        """Whether each request's offset depends on how its query matches the tools."""
        return self.dense != 0.0 or self.lexical != 0.0


def _number(meta: Mapping[str, Any], key: str, limit: float, source: str) -> float:
    try:
        value = float(meta.get(key, 0.0))
    except (TypeError, ValueError):
        raise ValueError(f"{source}: metadata 'decision' must hold a number {key!r}, got {meta.get(key)!r}") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise ValueError(f"{source}: metadata 'decision': {key} must be finite and within ±{limit:g}, got {value!r}")
    return value


def no_call_decision(info: Mapping[str, Any], source: str = "weights") -> NoCallDecision:
    """The decision stored in a loaded weights folder's metadata (unbiased when there is none);
    ``source`` (the folder) opens the error message."""
    meta = (info.get("extra") or {}).get("decision")
    if not meta:
        return NoCallDecision()
    if not isinstance(meta, Mapping) or "no_call_bias" not in meta:
        raise ValueError(f"{source}: metadata 'decision' must hold a number 'no_call_bias', got {meta!r}")
    dense = _number(meta, "dense_weight", MAX_WEIGHT, source)
    lexical = _number(meta, "lexical_weight", MAX_WEIGHT, source)
    limit = MAX_MATCH_BIAS if dense or lexical else MAX_BIAS
    return NoCallDecision(_number(meta, "no_call_bias", limit, source), dense, lexical)


def no_call_bias(info: Mapping[str, Any], source: str = "weights") -> float:
    """The constant part of the stored decision (what decoding without tools uses)."""
    return no_call_decision(info, source).bias


def decision_metadata(decision: NoCallDecision | float, **details: Any) -> dict[str, Any]:
    """What ``calibrate`` stores under the metadata key ``decision``."""
    if not isinstance(decision, NoCallDecision):
        decision = NoCallDecision(float(decision))
    out: dict[str, Any] = {"no_call_bias": float(decision.bias)}
    if decision.uses_match:
        out.update(dense_weight=float(decision.dense), lexical_weight=float(decision.lexical))
    return {**out, **details}
