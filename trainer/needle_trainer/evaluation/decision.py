"""Fit the no-call logit bias of a weights folder (see :mod:`needle_router.decision`).

With the bias at 0, one routing pass gives each example's P(no call) at the decision step and,
where the model called, its answer; a second pass with ``require_call`` gives the answer the
model would have written for the examples it declined. A bias ``b`` turns an answer into "no
call" exactly when ``logit(P(no call)) + b > 0`` and leaves every later token as it was, so
the accuracy at any ``b`` follows from these two passes without decoding again.

The bias maximises exact match, the project's measure of a right answer: a call with a wrong
argument does the wrong thing, and "no call" lets the application fall back. One limit: the
bias keeps at least :data:`MIN_CALLS_KEPT` of the calls the model makes at bias 0 on examples
that need one, so a model whose arguments are mostly wrong is not turned into a router that
never calls (which exact match alone would prefer); the bias corrects a threshold, it does not
replace the model's decisions.

The fitting examples come from training-split tools under their own seed: never the held-out
tools the evaluation uses, and never a seed a training run draws.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from needle_router.calibration import logit
from needle_router.decision import MAX_BIAS, decision_metadata

DECISION_SEED = 27_182   # not a training seed, not the held-out seed, not retrieval tuning's 4242
GRID_STEP = 0.01
MIN_CALLS_KEPT = 0.75    # of the calls made at bias 0 where a call is needed


@dataclass(frozen=True)
class DecisionOutcomes:
    """Per example: logit of P(no call) at bias 0, whether no call is right, and whether the
    model's call answer (forced where it declined) is right."""

    margin: np.ndarray
    gold_no_call: np.ndarray
    call_right: np.ndarray

    def accuracy(self, bias: float) -> float:
        """Exact match at ``bias``."""
        says_no_call = self.margin + bias > 0
        return float(np.where(says_no_call, self.gold_no_call, self.call_right).mean())

    def calls(self, bias: float) -> int:
        """Examples that need a call and get one at ``bias``."""
        return int((self.margin[~self.gold_no_call] + bias <= 0).sum())


@dataclass(frozen=True)
class FittedBias:
    bias: float
    accuracy_before: float   # exact match at bias 0
    accuracy_after: float
    no_call_before: float    # accuracy on the examples whose answer is "no call"
    no_call_after: float
    calls_kept: float        # share of bias 0's calls (where one is needed) still made
    n: int

    def metadata(self, **details: Any) -> dict[str, Any]:
        """The weights metadata ``decision``: the bias, what it did on its examples, ``details``."""
        fields = asdict(self)
        return decision_metadata(fields.pop("bias"), **fields, **details)


@contextlib.contextmanager
def decoding_with_bias(engine: Any, bias: float) -> Iterator[None]:
    """The engine decodes with ``bias`` inside the block (its own afterwards). Not for an
    engine that is routing for someone else meanwhile."""
    saved = engine.generator.no_call_bias
    engine.generator.no_call_bias = bias
    try:
        yield
    finally:
        engine.generator.no_call_bias = saved


def decision_examples(n: int, seed: int = DECISION_SEED, tools: str = "train") -> list[dict[str, Any]]:
    """``n`` examples to fit the bias on; ``tools`` picks whose:

    * ``"train"``: training-split tools, in the held-out set's mix of sources;
    * ``"unseen-api"``: operations of the held-out harvested APIs (:mod:`..data.harvest`), which
      no training stream shows and no evaluation uses, beside training-split distractors. The
      model meets them the way it meets a user's tools, for the first time.
    """
    from needle_trainer.data.generate import ExampleMaker
    from needle_trainer.data.heldout import HELDOUT_CONFIG

    if tools == "train":
        return ExampleMaker(HELDOUT_CONFIG, use_harvest=False).make_chunk(seed, "train", 0, n)
    if tools != "unseen-api":
        raise ValueError(f"unknown fitting tools {tools!r}; expected one of {BIAS_TOOLS}")
    return _unseen_api_examples(n, seed)


BIAS_TOOLS = ("train", "unseen-api")
# The held-out set's call / no-call mix, on harvested tools only: every no-call binds them too.
UNSEEN_API_CONFIG = {"source": {"harvest": 1.0}, "no_call_generic": 0.0, "no_call_harvest": 1.0}


def _unseen_api_examples(n: int, seed: int) -> list[dict[str, Any]]:
    """Examples on held-out harvested APIs whose other tools never include a held-out catalogue
    or generic tool (the held-out evaluation's targets): its catalogue keeps training tools only."""
    import dataclasses

    from needle_trainer.data import harvest
    from needle_trainer.data.catalogue import default_catalogue
    from needle_trainer.data.generate import ExampleMaker
    from needle_trainer.data.heldout import HELDOUT_CONFIG
    from needle_trainer.data.splits import is_heldout_group, is_heldout_tool

    if not any(is_heldout_group(*g) for g in harvest.all_groups()):
        raise ValueError("no held-out harvested API is available here (see needle_trainer.data.harvest); "
                         "fit on training-split tools instead")
    domains = tuple(dataclasses.replace(d, tools=tuple(t for t in d.tools if not is_heldout_tool(t.name)))
                    for d in default_catalogue())
    config = dataclasses.replace(HELDOUT_CONFIG, **UNSEEN_API_CONFIG)
    return ExampleMaker(config, domains=domains).make_chunk(seed, "heldout", 0, n)


def decision_outcomes(engine: Any, examples: Sequence[dict[str, Any]]) -> DecisionOutcomes:
    """Route ``examples`` with the engine's bias set to 0 (restored afterwards)."""
    from needle_trainer.evaluation.routing import predict
    from needle_trainer.metrics import Scores

    def right(example: dict[str, Any], pred: Any) -> bool:
        return pred.error is None and Scores().add(example["calls"], pred.calls, pred.valid)

    items = [{"query": e["query"], "tools": e["tools"]} for e in examples]
    with decoding_with_bias(engine, 0.0):
        preds = predict(engine, items, raw_confidence=True)
        declined = [i for i, (e, p) in enumerate(zip(examples, preds)) if e["calls"] and not p.calls]
        forced = predict(engine, [{**items[i], "require_call": True} for i in declined], raw_confidence=True)
    call_right = np.array([bool(e["calls"]) and right(e, p) for e, p in zip(examples, preds)])
    for i, p in zip(declined, forced):
        call_right[i] = right(examples[i], p)
    # No probability only where nothing was decoded (a tool set that failed to bind): its answer
    # is wrong either way, so which side it sits on does not matter.
    p_no_call = [p.no_call_probability if p.no_call_probability is not None else float(not p.calls)
                 for p in preds]
    return DecisionOutcomes(
        margin=np.array([logit(p) for p in p_no_call]),
        gold_no_call=np.array([not e["calls"] for e in examples]),
        call_right=call_right,
    )


def fit_no_call_bias(outcomes: DecisionOutcomes) -> FittedBias:
    """The bias in ``[-MAX_BIAS, MAX_BIAS]`` that maximises exact match while keeping
    :data:`MIN_CALLS_KEPT` of the model's calls; among equally good biases, the middle of the
    best run nearest 0, so a flat optimum does not drift."""
    n = len(outcomes.margin)
    if n < 10:
        raise ValueError(f"need at least 10 examples to fit the no-call bias, got {n}")
    if outcomes.gold_no_call.all() or not outcomes.gold_no_call.any():
        raise ValueError("cannot fit the no-call bias: the examples need both calls and no-call answers")
    grid = np.round(np.arange(-MAX_BIAS, MAX_BIAS + GRID_STEP / 2, GRID_STEP), 6)
    base_calls = outcomes.calls(0.0)
    acc = np.array([outcomes.accuracy(b) if outcomes.calls(b) >= MIN_CALLS_KEPT * base_calls else -1.0
                    for b in grid])
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

    kept = outcomes.calls(bias) / base_calls if base_calls else 1.0
    return FittedBias(bias, outcomes.accuracy(0.0), outcomes.accuracy(bias), no_call_acc(0.0), no_call_acc(bias),
                      kept, n)
