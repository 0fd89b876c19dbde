"""The no-call decision (a bias, and weights on the query-tool match): fitting it, storing it
with the weights, and decoding with it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from needle_router import NeedleRouter
from needle_router.calibration import logit
from needle_router.cli import main
from needle_router.decision import NoCallDecision, decision_metadata, no_call_bias, no_call_decision
from needle_router.engine import get_engine
from needle_router.model import get_config, init_params
from needle_router.model.weights import save_weights, update_metadata
from needle_trainer.evaluation.decision import (
    DecisionOutcomes,
    decision_examples,
    decision_outcomes,
    fit_no_call_bias,
    fit_no_call_decision,
)

TIMER = {"type": "function", "function": {"name": "set_timer", "description": "Start a timer.",
         "parameters": {"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]}}}
QUERY = "set a timer for 5 minutes"


def _shy_model(n: int, shift: float, seed: int = 0) -> DecisionOutcomes:
    """A model that would separate calls from no-calls at 0 but says "no call" ``shift`` logits
    too rarely; 70% of its calls are right."""
    rng = np.random.default_rng(seed)
    gold_no_call = rng.uniform(size=n) < 0.2
    clean = np.where(gold_no_call, rng.uniform(0.5, 4.0, n), -rng.uniform(0.5, 4.0, n))
    return DecisionOutcomes(clean - shift, gold_no_call, ~gold_no_call & (rng.uniform(size=n) < 0.7))


def test_fit_undoes_a_shifted_decision_threshold():
    outcomes = _shy_model(2000, shift=2.0)
    fitted = fit_no_call_bias(outcomes)
    assert 2.0 <= fitted.bias <= 2.5  # any bias in (2, 2.5) separates the classes again
    assert fitted.no_call_after == 1.0 and fitted.no_call_before < 0.6 and fitted.calls_kept == 1.0
    assert fitted.accuracy_after > fitted.accuracy_before
    assert fitted.accuracy_after == pytest.approx(outcomes.accuracy(fitted.bias))


def test_fit_keeps_zero_for_a_model_that_needs_no_bias():
    calls = np.array([False] * 10 + [True] * 40)
    outcomes = DecisionOutcomes(np.array([3.0] * 10 + [-3.0] * 40), ~calls, calls)
    fitted = fit_no_call_bias(outcomes)
    assert fitted.bias == 0.0 and fitted.accuracy_before == fitted.accuracy_after == 1.0


def test_fit_does_not_silence_a_model_whose_calls_are_wrong():
    """Exact match alone would be best with "never call" when every call's arguments are
    wrong; the bias must keep most of the model's calls, so it stays a threshold fix."""
    margin = np.array([2.0] * 10 + [-3.0] * 5 + [-2.0] * 40)    # 5 no-call answers it misses
    outcomes = DecisionOutcomes(margin, np.array([True] * 15 + [False] * 40), np.zeros(55, bool))
    fitted = fit_no_call_bias(outcomes)
    assert abs(fitted.bias) < 0.05 and fitted.calls_kept == 1.0
    assert outcomes.accuracy(8.0) > fitted.accuracy_after   # what exact match alone would choose


def test_fit_moves_the_threshold_only_as_far_as_it_keeps_most_calls():
    margin = np.array([-1.0] * 10 + [-4.0] * 20 + [-1.5] * 20)   # no-call; right calls; wrong calls
    gold_no_call = np.array([True] * 10 + [False] * 40)
    right = np.array([False] * 10 + [True] * 20 + [False] * 20)
    fitted = fit_no_call_bias(DecisionOutcomes(margin, gold_no_call, right))
    # past 1.5 the wrong calls would become "no call" too (as good on exact match), but that
    # drops half of the model's calls
    assert 1.0 < fitted.bias < 1.5 and fitted.calls_kept == 1.0
    assert fitted.accuracy_before == pytest.approx(20 / 50) and fitted.accuracy_after == pytest.approx(30 / 50)


@pytest.mark.parametrize("gold", [[True] * 20, [False] * 20])
def test_fit_refuses_examples_with_one_kind_of_answer(gold):
    with pytest.raises(ValueError, match="both calls and no-call"):
        fit_no_call_bias(DecisionOutcomes(np.zeros(20), np.array(gold), np.zeros(20, bool)))


def test_fit_weighs_the_query_tool_match_where_it_tells_no_calls_apart():
    """The decoder's logit barely separates calls from no-calls; the best tool's cosine does
    (no-call queries match no bound tool well). The fit puts a negative weight on the cosine
    and beats any single bias."""
    rng = np.random.default_rng(1)
    n = 400
    gold_no_call = rng.uniform(size=n) < 0.25
    margin = rng.normal(-2.0, 1.0, n) + 0.3 * gold_no_call
    cosine = np.where(gold_no_call, rng.uniform(0.2, 0.6, n), rng.uniform(0.5, 0.95, n))
    bm25 = rng.uniform(0, 5, n)                                  # says nothing
    outcomes = DecisionOutcomes(margin, gold_no_call, ~gold_no_call, np.column_stack([cosine, bm25]))
    fitted = fit_no_call_decision(outcomes)
    only_bias = fit_no_call_bias(outcomes)
    assert fitted.decision.dense < 0 and abs(fitted.decision.lexical) < abs(fitted.decision.dense) / 10
    assert fitted.accuracy_after > only_bias.accuracy_after + 0.05
    assert fitted.accuracy_after > 0.9 and fitted.no_call_after > 0.7 and fitted.calls_kept >= 0.75
    assert fitted.accuracy_after == pytest.approx(outcomes.accuracy(outcomes.offsets(fitted.decision)))
    assert not only_bias.decision.uses_match


def test_call_leaning_moves_the_bias_towards_calling_within_the_tolerance():
    """With a tolerance the bias leaves the best run towards calling for as long as exact match
    stays within that many points of the best, and no further."""
    rng = np.random.default_rng(3)
    n = 400
    gold_no_call = rng.uniform(size=n) < 0.2
    margin = np.where(gold_no_call, rng.normal(1.0, 1.5, n), rng.normal(-1.0, 1.5, n))
    call_right = ~gold_no_call & (rng.uniform(size=n) < 0.6)
    outcomes = DecisionOutcomes(margin, gold_no_call, call_right)
    plain = fit_no_call_bias(outcomes)
    leaning = fit_no_call_decision(outcomes, use_match=False, call_leaning=2.0)
    assert leaning.decision.bias < plain.decision.bias
    assert outcomes.calls(leaning.decision.bias) > outcomes.calls(plain.decision.bias)
    assert leaning.accuracy_after >= plain.accuracy_after - 0.02 - 1e-12
    # one grid step further would leave the tolerance (or the grid)
    further = leaning.decision.bias - 0.01
    assert outcomes.accuracy(further) < plain.accuracy_after - 0.02 or further < plain.decision.bias - 8.0
    assert fit_no_call_decision(outcomes, use_match=False, call_leaning=0.0).decision == plain.decision


def test_decision_metadata_round_trips():
    decision = NoCallDecision(12.5, -14.0, -0.4)
    meta = decision_metadata(decision, n=600)
    assert meta == {"no_call_bias": 12.5, "dense_weight": -14.0, "lexical_weight": -0.4, "n": 600}
    assert no_call_decision({"extra": {"decision": meta}}) == decision
    assert decision_metadata(1.5) == {"no_call_bias": 1.5}     # a bias alone stores no weights
    assert no_call_decision({"extra": {"decision": {"no_call_bias": 1.5}}}) == NoCallDecision(1.5)


@pytest.mark.parametrize("meta, message", [
    ({"no_call_bias": "high"}, "must hold a number"),
    ({"bias": 1.0}, "must hold a number"),
    ({"no_call_bias": 99.0}, "within"),
    ({"no_call_bias": 1.0, "dense_weight": "x"}, "must hold a number 'dense_weight'"),
    ({"no_call_bias": 1.0, "lexical_weight": float("nan")}, "lexical_weight must be finite"),
    ({"no_call_bias": 120.0, "dense_weight": -10.0}, "no_call_bias must be finite and within ±100"),
])
def test_bad_stored_bias_is_a_clear_error(meta, message):
    with pytest.raises(ValueError, match=message):
        no_call_bias({"extra": {"decision": meta}})
    assert no_call_bias({"extra": {}}) == 0.0


def _tiny_weights(path, bias: float | None = None):
    extra = {"run": "t"} if bias is None else {"run": "t", "decision": decision_metadata(bias)}
    save_weights(path, init_params("needle-tiny"), get_config("needle-tiny"), extra_metadata=extra)
    return path


def test_engine_names_the_folder_with_a_bad_bias(tmp_path):
    folder = _tiny_weights(tmp_path / "w")
    update_metadata(folder, {"decision": {"no_call_bias": 50.0}})
    with pytest.raises(ValueError, match=r"w.*no_call_bias must be finite and within"):
        NeedleRouter([TIMER], model=str(folder))


async def test_stored_bias_shifts_exactly_the_decision_logit(tmp_path):
    base = (await NeedleRouter([TIMER], model=str(_tiny_weights(tmp_path / "a"))).route(QUERY))
    for bias in (-1.5, 2.0):
        folder = _tiny_weights(tmp_path / f"b{bias}", bias)
        res = await NeedleRouter([TIMER], model=str(folder)).route(QUERY)
        assert logit(res.no_call_probability) - logit(base.no_call_probability) == pytest.approx(bias, abs=1e-3)


async def test_a_large_bias_decides_and_leaves_nothing_else_changed(tmp_path):
    said_no = await NeedleRouter([TIMER], model=str(_tiny_weights(tmp_path / "no", 8.0))).route(QUERY)
    assert said_no.calls == [] and said_no.no_call_probability > 0.99
    said_call = await NeedleRouter([TIMER], model=str(_tiny_weights(tmp_path / "call", -8.0))).route(QUERY)
    forced = await NeedleRouter([TIMER], model=str(_tiny_weights(tmp_path / "plain"))).route(QUERY, require_call=True)
    # the bias acts at the first step only: the call written after it is the forced call
    assert said_call.no_call_probability < 0.01 and said_call.called
    assert [c.model_dump(exclude={"id"}) for c in said_call.calls] == [c.model_dump(exclude={"id"}) for c in forced.calls]


async def test_no_call_probability_is_none_where_there_was_no_choice(tmp_path):
    folder = str(_tiny_weights(tmp_path / "w"))
    assert (await NeedleRouter([TIMER], model=folder).route(QUERY, require_call=True)).no_call_probability is None
    assert (await NeedleRouter([TIMER], model=folder, constrained=False).route(QUERY)).no_call_probability is None
    p = (await NeedleRouter([TIMER], model=folder).route(QUERY)).no_call_probability
    assert 0.0 < p < 1.0


async def test_stored_match_weights_shift_each_query_by_its_own_match(tmp_path):
    """The offset the engine adds is bias + dense * cosine + lexical * BM25 of that query."""
    tools = [TIMER, {"type": "function", "function": {"name": "play_music", "description": "Play a song.",
             "parameters": {"type": "object", "properties": {"song": {"type": "string"}}, "required": ["song"]}}}]
    plain = NeedleRouter(tools, model=str(_tiny_weights(tmp_path / "a")))
    folder = _tiny_weights(tmp_path / "m")
    decision = NoCallDecision(0.5, -3.0, -0.25)
    update_metadata(folder, {"decision": decision_metadata(decision)})
    weighed = NeedleRouter(tools, model=str(folder))
    for query in (QUERY, "play the song Yesterday", "what is the capital of France"):
        cosine, bm25 = weighed.tool_match(query)
        assert -1.0 <= cosine <= 1.0 and bm25 >= 0.0
        base, res = await plain.route(query), await weighed.route(query)
        expected = 0.5 - 3.0 * cosine - 0.25 * bm25
        assert logit(res.no_call_probability) - logit(base.no_call_probability) == pytest.approx(expected, abs=2e-3)
    assert plain.tool_match("play the song Yesterday")[1] > 0.0 == plain.tool_match("zzz qqq")[1]


def test_decision_outcomes_route_real_examples_and_restore_the_bias(tmp_path):
    engine = get_engine(str(_tiny_weights(tmp_path / "w", 1.0)))
    examples = decision_examples(12)
    outcomes = decision_outcomes(engine, examples)
    assert engine.decision.bias == 1.0
    assert outcomes.margin.shape == (12,) and np.isfinite(outcomes.margin).all()
    assert outcomes.match.shape == (12, 2) and (np.abs(outcomes.match[:, 0]) <= 1.0).all()
    assert list(outcomes.gold_no_call) == [not e["calls"] for e in examples]
    assert not outcomes.call_right[outcomes.gold_no_call].any()  # a call is never right where none is


def test_answers_under_a_decision_are_what_routing_with_it_writes(tmp_path):
    """The confidence of each answer under another decision follows from the unbiased passes:
    routing again with that decision gives the same answers, confidences and rightness (whole
    queries: a clause answer's own decisions move with the offset too)."""
    from needle_trainer.evaluation.decision import decoding_with
    from needle_trainer.evaluation.routing import predict
    from needle_trainer.metrics import Scores

    engine = get_engine(str(_tiny_weights(tmp_path / "w")))
    examples = decision_examples(16)
    outcomes = decision_outcomes(engine, examples, split_clauses=False)
    margins = np.sort(outcomes.margin)[3:13]              # split the answers where they sit farthest apart
    i = int(np.argmax(np.diff(margins)))
    decision = NoCallDecision(-float(margins[i] + margins[i + 1]) / 2)
    expected = outcomes.answer_confidence(decision)
    with decoding_with(engine, decision):
        preds = predict(engine, [{"query": e["query"], "tools": e["tools"]} for e in examples], raw_confidence=True,
                        split_clauses=False)
    says_no_call = outcomes.margin + decision.bias > 0
    assert says_no_call.any() and not says_no_call.all()
    said = [p.no_call_probability if p.no_call_probability is not None else float(not p.calls) for p in preds]
    assert [q > 0.5 for q in said] == list(says_no_call)
    known = ~np.isnan(expected)
    assert known.sum() >= 12
    assert np.allclose(expected[known], [p.confidence for p, k in zip(preds, known) if k], rtol=1e-3, atol=1e-5)
    confidence, right = outcomes.answers(decision)
    assert np.array_equal(confidence, expected[known])
    routed_right = [Scores().add(e["calls"], p.calls, p.valid) for e, p in zip(examples, preds)]
    assert list(right) == [r for r, k in zip(routed_right, known) if k]


def test_decision_examples_use_training_split_tools_not_the_heldout_ones():
    from needle_trainer.data.heldout import heldout_examples

    fitting = {c["name"] for e in decision_examples(60) for c in e["calls"]}
    heldout = {c["name"] for e in heldout_examples(60) for c in e["calls"]}
    assert fitting and heldout and not fitting & heldout


def test_unseen_api_examples_call_heldout_apis_beside_no_evaluation_tool():
    """The unseen-API fitting set calls only held-out harvested APIs' operations and never
    shows a tool the held-out evaluation calls (its catalogue and generic tools)."""
    from needle_trainer.data.catalogue import default_catalogue
    from needle_trainer.data.splits import is_heldout_group, is_heldout_tool

    examples = decision_examples(80, tools="unseen-api")
    assert len(examples) == 80
    assert any(not e["calls"] for e in examples) and any(e["calls"] for e in examples)
    heldout_descriptions = {t.description for d in default_catalogue() for t in d.tools if is_heldout_tool(t.name)}
    for e in examples:
        keys = e["meta"]["tool_keys"]
        names = [t["function"]["name"] for t in e["tools"]]
        for call in e["calls"]:
            _, source, group, _ = keys[names.index(call["name"])].split(":", 3)
            assert is_heldout_group(source, group), call["name"]
        assert not any(k.startswith("gen:") for k in keys)
        assert not {t["function"].get("description") for t in e["tools"]} & heldout_descriptions
    with pytest.raises(ValueError, match="unknown fitting tools"):
        decision_examples(10, tools="heldout")


def test_cli_calibrate_stores_the_bias_and_the_mapping(tmp_path):
    folder = _tiny_weights(tmp_path / "w")
    res = CliRunner().invoke(main, ["calibrate", "--model", str(folder), "--n", "60"])
    assert res.exit_code == 0, res.output
    assert "no-call offset" in res.output and "x best cosine" in res.output
    meta = json.loads((folder / "config.json").read_text())["metadata"]
    assert meta["decision"]["n"] == 60 and {"dense_weight", "lexical_weight"} <= set(meta["decision"])
    assert meta["decision"]["accuracy_after"] >= meta["decision"]["accuracy_before"]
    assert meta["decision"]["calls_kept"] >= 0.75
    assert no_call_bias({"extra": meta}) == meta["decision"]["no_call_bias"]
    assert meta["calibration"]["method"] == "platt"
    assert meta["decision"]["tools"] == "train"


def test_cli_calibrate_fits_the_bias_on_unseen_apis_when_asked(tmp_path):
    folder = _tiny_weights(tmp_path / "w")
    res = CliRunner().invoke(main, ["calibrate", "--model", str(folder), "--n", "50", "--bias-tools", "unseen-api",
                                    "--decision", "bias"])
    assert res.exit_code == 0, res.output
    assert "on 50 examples" in res.output and "(unseen-API)" in res.output
    meta = json.loads((folder / "config.json").read_text())["metadata"]
    assert meta["decision"]["tools"] == "unseen-api" and meta["decision"]["n"] == 50
    assert "dense_weight" not in meta["decision"] and abs(meta["decision"]["no_call_bias"]) <= 8.0


def test_the_shipped_weights_decode_with_their_fitted_bias():
    from needle_router.model.loading import DEFAULT_WEIGHTS_DIR

    meta = json.loads((DEFAULT_WEIGHTS_DIR / "config.json").read_text())["metadata"]
    assert meta["decision"]["seed"] == 27_182      # fitted on training-split tools, not the evaluation's
    assert get_engine(None).decision.bias == meta["decision"]["no_call_bias"] != 0.0
