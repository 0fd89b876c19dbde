"""Fit the no-call decision of a weights folder (see :mod:`needle_router.decision`).

With the offset at 0, one routing pass gives each example's P(no call) at the decision step,
its query's match with the best bound tool (retrieval cosine, BM25) and, where the model called,
its answer; a second pass with ``require_call`` gives the answer the model would have written
for the examples it declined. An offset ``o`` turns an answer into "no call" exactly when
``logit(P(no call)) + o > 0`` and leaves every later token as it was, so the accuracy of any
decision follows from these two passes without decoding again. That is exact for whole
queries; an answer the router takes from a query's clauses (:mod:`needle_router.parallel`) is
counted under the whole query's decision, though each clause's own decision moves with the
offset too (``decision_outcomes(split_clauses=False)`` routes whole queries only).

The fit has two parts. The match weights are the direction a logistic regression of "the
answer is no call" on (logit, cosine, BM25) finds, in units of the logit. The bias, then,
maximises exact match, the project's measure of a right answer: a call with a wrong argument
does the wrong thing, and "no call" lets the application fall back. One limit: the decision
keeps at least :data:`MIN_CALLS_KEPT` of the calls the model makes unbiased on examples that
need one, so a model whose arguments are mostly wrong is not turned into a router that never
calls (which exact match alone would prefer); it corrects a threshold, it does not replace the
model's decisions.

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
from needle_router.decision import MAX_BIAS, MAX_WEIGHT, NoCallDecision, decision_metadata
from needle_trainer.evaluation.calibration import fit_logistic

DECISION_SEED = 27_182   # not a training seed, not the held-out seed, not retrieval tuning's 4242
GRID_STEP = 0.01
MIN_CALLS_KEPT = 0.75    # of the calls made unbiased where a call is needed
#: a fine-tune's decision leans to calling within 1 point of its best validation exact match: on
#: hand-written dining development queries at two seeds 38.3 / 30.0 -> 40.0 / 36.7 (0.5: 38.3 /
#: 36.7; 2: 36.7 / 36.7), since people's requests match the tools less plainly than the
#: synthesised validation split the decision is fitted on
FINETUNE_CALL_LEANING = 1.0


@dataclass(frozen=True)
class DecisionOutcomes:
    """Per example: logit of P(no call) unbiased, whether no call is right, whether the model's
    call answer (forced where it declined) is right, and (when measured) the query's match with
    the best bound tool, ``[N, 2]``: retrieval cosine, BM25."""

    margin: np.ndarray
    gold_no_call: np.ndarray
    call_right: np.ndarray
    match: np.ndarray | None = None
    # the raw confidence of the call answer given that the model calls (its P(call) factor
    # taken out); NaN where no call answer was decoded (a declined query that needs none)
    call_confidence: np.ndarray | None = None

    def offsets(self, decision: NoCallDecision) -> np.ndarray:
        """Each example's offset under ``decision``."""
        if not decision.uses_match:
            return np.full(self.margin.shape, decision.bias)
        if self.match is None:
            raise ValueError("these outcomes were measured without the query-tool match")
        return decision.bias + self.match @ np.array([decision.dense, decision.lexical])

    def accuracy(self, bias: float | np.ndarray) -> float:
        """Exact match at ``bias`` (one offset, or one per example)."""
        says_no_call = self.margin + bias > 0
        return float(np.where(says_no_call, self.gold_no_call, self.call_right).mean())

    def calls(self, bias: float | np.ndarray) -> int:
        """Examples that need a call and get one at ``bias`` (one offset, or one per example)."""
        need = ~self.gold_no_call
        return int((self.margin[need] + np.broadcast_to(bias, self.margin.shape)[need] <= 0).sum())

    def answer_confidence(self, decision: NoCallDecision) -> np.ndarray:
        """The raw confidence of each answer written under ``decision``, without decoding again:
        the offset moves P(no call) and, through it, the call answer's P(call) factor, and
        leaves every later token as it was. NaN where that answer is a call never decoded (a
        declined query that needs no call)."""
        return self._answered(decision)[1]

    def answers(self, decision: NoCallDecision) -> tuple[np.ndarray, np.ndarray]:
        """(raw confidence, right) of the answers written under ``decision`` whose confidence
        is known (what a confidence mapping is fitted on)."""
        says_no_call, confidence = self._answered(decision)
        right = np.where(says_no_call, self.gold_no_call, self.call_right)
        known = ~np.isnan(confidence)
        return confidence[known], right[known]

    def _answered(self, decision: NoCallDecision) -> tuple[np.ndarray, np.ndarray]:
        """Whether each answer under ``decision`` is "no call", and its raw confidence."""
        if self.call_confidence is None:
            raise ValueError("these outcomes were measured without the answers' confidence")
        shifted = self.margin + self.offsets(decision)
        p_no_call = 1.0 / (1.0 + np.exp(-shifted))
        says_no_call = shifted > 0      # the threshold accuracy() and calls() use
        return says_no_call, np.where(says_no_call, p_no_call, self.call_confidence * (1.0 - p_no_call))

    def no_call_accuracy(self, bias: float | np.ndarray) -> float:
        """Accuracy on the examples whose answer is "no call"."""
        nc = self.gold_no_call
        return float((self.margin[nc] + np.broadcast_to(bias, self.margin.shape)[nc] > 0).mean())


@dataclass(frozen=True)
class FittedDecision:
    decision: NoCallDecision
    accuracy_before: float   # exact match unbiased
    accuracy_after: float
    no_call_before: float    # accuracy on the examples whose answer is "no call"
    no_call_after: float
    calls_kept: float        # share of the unbiased calls (where one is needed) still made
    n: int

    @property
    def bias(self) -> float:
        return self.decision.bias

    def metadata(self, **details: Any) -> dict[str, Any]:
        """The weights metadata ``decision``: the fitted numbers, what they did on their
        examples, ``details``."""
        fields = asdict(self)
        fields.pop("decision")
        return decision_metadata(self.decision, **fields, **details)

    def describe(self) -> str:
        """One line: the decision and what it did on its fitting examples."""
        d = self.decision
        match = (f", {d.dense:+.2f} x best cosine, {d.lexical:+.3f} x best BM25" if d.uses_match else "")
        return (f"no-call offset {d.bias:+.2f}{match} on {self.n} examples: exact match "
                f"{100 * self.accuracy_before:.1f}% -> {100 * self.accuracy_after:.1f}%, no-call "
                f"{100 * self.no_call_before:.1f}% -> {100 * self.no_call_after:.1f}%")


@contextlib.contextmanager
def decoding_with(engine: Any, decision: NoCallDecision | float) -> Iterator[None]:
    """The engine decides with ``decision`` (or a plain bias) inside the block (its own
    afterwards). Not for an engine that is routing for someone else meanwhile."""
    saved = engine.decision
    engine.decision = decision if isinstance(decision, NoCallDecision) else NoCallDecision(float(decision))
    try:
        yield
    finally:
        engine.decision = saved


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


def decision_outcomes(engine: Any, examples: Sequence[dict[str, Any]], split_clauses: bool = True) -> DecisionOutcomes:
    """Route ``examples`` unbiased (the engine's decision is restored afterwards) and measure each
    query's match with its tools; ``split_clauses`` as the router's (on: as served)."""
    from needle_trainer.evaluation.routing import predict
    from needle_trainer.metrics import Scores

    def right(example: dict[str, Any], pred: Any) -> bool:
        return pred.error is None and Scores().add(example["calls"], pred.calls, pred.valid)

    items = [{"query": e["query"], "tools": e["tools"]} for e in examples]
    with decoding_with(engine, NoCallDecision()):
        preds = predict(engine, items, raw_confidence=True, tool_match=True, split_clauses=split_clauses)
        declined = [i for i, (e, p) in enumerate(zip(examples, preds)) if e["calls"] and not p.calls]
        forced = predict(engine, [{**items[i], "require_call": True} for i in declined], raw_confidence=True,
                         split_clauses=split_clauses)
    call_right = np.array([bool(e["calls"]) and right(e, p) for e, p in zip(examples, preds)])
    for i, p in zip(declined, forced):
        call_right[i] = right(examples[i], p)
    # No probability only where nothing was decoded (a tool set that failed to bind): its answer
    # is wrong either way, so which side it sits on does not matter.
    p_no_call = [p.no_call_probability if p.no_call_probability is not None else float(not p.calls)
                 for p in preds]
    # a call's raw confidence holds its P(call) = 1 - P(no call); a forced call's holds 1
    call_confidence = np.array([p.confidence / max(1.0 - q, 1e-12) if p.calls else np.nan
                                for p, q in zip(preds, p_no_call)])
    for i, p in zip(declined, forced):
        call_confidence[i] = p.confidence
    return DecisionOutcomes(
        margin=np.array([logit(p) for p in p_no_call]),
        gold_no_call=np.array([not e["calls"] for e in examples]),
        call_right=call_right,
        match=np.array([p.tool_match or (-1.0, 0.0) for p in preds]),
        call_confidence=np.minimum(call_confidence, 1.0),
    )


def match_weights(outcomes: DecisionOutcomes, ridge: float = 1e-2, iterations: int = 50) -> tuple[float, float]:
    """The (cosine, BM25) weights, in units of the no-call logit, of a logistic regression of
    "the answer is no call" on (logit, cosine, BM25); (0, 0) where the logit does not point
    the right way (then the match cannot be expressed as an offset to it)."""
    x = np.column_stack([outcomes.margin, outcomes.match])
    mean, scale = x.mean(0), x.std(0) + 1e-9
    features = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    w = fit_logistic(features, outcomes.gold_no_call, ridge, iterations)
    raw = w[:3] / scale
    if raw[0] <= 0:
        return 0.0, 0.0
    dense, lexical = np.clip(raw[1:] / raw[0], -MAX_WEIGHT, MAX_WEIGHT)
    return float(dense), float(lexical)


def fit_no_call_decision(outcomes: DecisionOutcomes, use_match: bool = True,
                         call_leaning: float = 0.0) -> FittedDecision:
    """The decision that maximises exact match while keeping :data:`MIN_CALLS_KEPT` of the
    model's unbiased calls: the match weights of :func:`match_weights` (none when ``use_match``
    is off or the match was not measured), then the bias on a grid ``MAX_BIAS`` either side of
    the one that cancels the median match offset; among equally good biases, the middle of the
    best run nearest that centre, so a flat optimum does not drift.

    ``call_leaning`` (points of exact match) moves the bias from that run towards calling for as
    long as exact match stays within that many points of the best: for examples that match
    their tools more plainly than the queries the decision will meet (a fine-tune's synthesised
    validation split against people's requests, :data:`FINETUNE_CALL_LEANING`)."""
    n = len(outcomes.margin)
    if n < 10:
        raise ValueError(f"need at least 10 examples to fit the no-call decision, got {n}")
    if outcomes.gold_no_call.all() or not outcomes.gold_no_call.any():
        raise ValueError("cannot fit the no-call decision: the examples need both calls and no-call answers")
    dense, lexical = match_weights(outcomes) if use_match and outcomes.match is not None else (0.0, 0.0)
    shift = outcomes.offsets(NoCallDecision(0.0, dense, lexical))
    centre = -float(np.round(np.median(shift), 2))
    grid = np.round(centre + np.arange(-MAX_BIAS, MAX_BIAS + GRID_STEP / 2, GRID_STEP), 6)
    base_calls = outcomes.calls(0.0)
    acc = np.array([outcomes.accuracy(shift + b) if outcomes.calls(shift + b) >= MIN_CALLS_KEPT * base_calls
                    else -1.0 for b in grid])
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    lo = hi = int(best[np.argmin(np.abs(grid[best] - centre))])
    best = set(best.tolist())
    while lo - 1 in best:
        lo -= 1
    while hi + 1 in best:
        hi += 1
    bias = float(np.round((grid[lo] + grid[hi]) / 2, 2))
    if call_leaning > 0:
        while lo > 0 and acc[lo - 1] >= acc.max() - call_leaning / 100 - 1e-12:
            lo -= 1
        bias = float(grid[lo])
    decision = NoCallDecision(bias, dense, lexical)
    offsets = outcomes.offsets(decision)
    kept = outcomes.calls(offsets) / base_calls if base_calls else 1.0
    return FittedDecision(decision, outcomes.accuracy(0.0), outcomes.accuracy(offsets), outcomes.no_call_accuracy(0.0),
                          outcomes.no_call_accuracy(offsets), kept, n)


def fit_no_call_bias(outcomes: DecisionOutcomes) -> FittedDecision:
    """One offset for every query (the decision without the query-tool match)."""
    return fit_no_call_decision(outcomes, use_match=False)
