"""Fit the no-call logit bias of a weights folder (see :mod:`needle_router.decision`).

With the bias at 0, one routing pass gives each example's P(no call) at the decision step and,
where the model called, its answer; a second pass with ``require_call`` gives the answer the
model would have written for the examples it declined. A bias ``b`` turns an answer into "no
call" exactly when ``logit(P(no call)) + b > 0`` and leaves every later token as it was, so
the accuracy at any ``b`` follows from these two passes without decoding again.

The bias maximises the routing score: 1 for "no call" where none applies and for an exactly
right call, 1/2 for a call of the right tools with a wrong argument (the right action, which
the user can correct), 0 for a wrong tool or a wrong silence. Exact match alone would push a
model whose arguments are often wrong to never call at all (a router that routes nothing);
"called or not" alone would treat a call of the wrong tool as right.

The fitting examples come from training-split tools under their own seed: never the held-out
tools the evaluation uses, and never a seed a training run draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from needle_router.calibration import logit
from needle_router.decision import MAX_BIAS

DECISION_SEED = 27_182   # not a training seed, not the held-out seed, not retrieval tuning's 4242
GRID_STEP = 0.01


@dataclass(frozen=True)
class DecisionOutcomes:
    """Per example: logit of P(no call) at bias 0, whether no call is right, whether the
    model's call answer (forced where it declined) is exactly right, and whether it calls the
    right tools."""

    margin: np.ndarray
    gold_no_call: np.ndarray
    call_right: np.ndarray
    tools_right: np.ndarray

    def accuracy(self, bias: float) -> float:
        """Exact match at ``bias``."""
        says_no_call = self.margin + bias > 0
        return float(np.where(says_no_call, self.gold_no_call, self.call_right).mean())

    def routing_score(self, bias: float) -> float:
        """Mean routing score at ``bias`` (see the module docstring)."""
        says_no_call = self.margin + bias > 0
        call_score = np.where(self.call_right, 1.0, np.where(self.tools_right, 0.5, 0.0))
        return float(np.where(says_no_call, self.gold_no_call, call_score).mean())


@dataclass(frozen=True)
class FittedBias:
    bias: float
    score_before: float      # routing score at bias 0
    score_after: float
    accuracy_before: float   # exact match at bias 0
    accuracy_after: float
    no_call_before: float    # accuracy on the examples whose answer is "no call"
    no_call_after: float
    n: int


def decision_examples(n: int, seed: int = DECISION_SEED) -> list[dict[str, Any]]:
    """``n`` examples over training-split tools (the held-out set's mix of sources)."""
    from needle_trainer.data.generate import ExampleMaker
    from needle_trainer.data.heldout import HELDOUT_CONFIG

    return ExampleMaker(HELDOUT_CONFIG, use_harvest=False).make_chunk(seed, "train", 0, n)


def decision_outcomes(engine: Any, examples: Sequence[dict[str, Any]]) -> DecisionOutcomes:
    """Route ``examples`` with the engine's bias set to 0 (restored afterwards)."""
    from needle_trainer.evaluation.routing import predict
    from needle_trainer.metrics import Scores

    def right(example: dict[str, Any], pred: Any) -> bool:
        return pred.error is None and Scores().add(example["calls"], pred.calls, pred.valid)

    def tools(example: dict[str, Any], pred: Any) -> bool:
        names = sorted(c["name"] for c in example["calls"])
        return pred.error is None and bool(names) and names == sorted(c["name"] for c in pred.calls)

    items = [{"query": e["query"], "tools": e["tools"]} for e in examples]
    saved = engine.generator.no_call_bias
    engine.generator.no_call_bias = 0.0
    try:
        preds = predict(engine, items, raw_confidence=True)
        declined = [i for i, (e, p) in enumerate(zip(examples, preds)) if e["calls"] and not p.calls]
        forced = predict(engine, [{**items[i], "require_call": True} for i in declined], raw_confidence=True)
    finally:
        engine.generator.no_call_bias = saved
    call_right = np.array([bool(e["calls"]) and right(e, p) for e, p in zip(examples, preds)])
    tools_right = np.array([tools(e, p) for e, p in zip(examples, preds)])
    for i, p in zip(declined, forced):
        call_right[i], tools_right[i] = right(examples[i], p), tools(examples[i], p)
    # No probability only where nothing was decoded (a tool set that failed to bind): its answer
    # is wrong either way, so which side it sits on does not matter.
    p_no_call = [p.no_call_probability if p.no_call_probability is not None else float(not p.calls)
                 for p in preds]
    return DecisionOutcomes(
        margin=np.array([logit(p) for p in p_no_call]),
        gold_no_call=np.array([not e["calls"] for e in examples]),
        call_right=call_right,
        tools_right=tools_right,
    )


def fit_no_call_bias(outcomes: DecisionOutcomes) -> FittedBias:
    """The bias in ``[-MAX_BIAS, MAX_BIAS]`` that maximises the routing score; among equally
    good biases, the middle of the best run nearest 0, so a flat optimum does not drift."""
    n = len(outcomes.margin)
    if n < 10:
        raise ValueError(f"need at least 10 examples to fit the no-call bias, got {n}")
    if outcomes.gold_no_call.all() or not outcomes.gold_no_call.any():
        raise ValueError("cannot fit the no-call bias: the examples need both calls and no-call answers")
    grid = np.round(np.arange(-MAX_BIAS, MAX_BIAS + GRID_STEP / 2, GRID_STEP), 6)
    acc = np.array([outcomes.routing_score(b) for b in grid])
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    lo = hi = int(best[np.argmin(np.abs(grid[best]))])
    best = set(best.tolist())
    while lo - 1 in best:
        lo -= 1
    while hi + 1 in best:
        hi += 1
    bias = float(np.round((grid[lo] + grid[hi]) / 2, 2))
    nc = outcomes.gold_no_call

    def no_call_acc(b: float) -> float:
        return float((outcomes.margin[nc] + b > 0).mean())

    return FittedBias(bias, outcomes.routing_score(0.0), outcomes.routing_score(bias), outcomes.accuracy(0.0),
                      outcomes.accuracy(bias), no_call_acc(0.0), no_call_acc(bias), n)
