"""`needle-router eval`: BFCL scoring with BFCL's own checker, metrics, reports, bad input."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from click.testing import CliRunner

from needle_router.cli import main
from needle_trainer.evaluation import bfcl, scoring
from needle_trainer.evaluation.routing import Prediction
from needle_trainer.evaluation.suites import Case, category_of, from_examples, load_suite

needs_bfcl = pytest.mark.skipif(importlib.util.find_spec("bfcl_eval") is None,
                                reason='bfcl-eval is not installed (pip install --no-deps "bfcl-eval==2026.3.23")')

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                           "unit": {"type": "string", "enum": ["c", "f"]}},
                          "required": ["city"]}}}
TIMER = {"type": "function", "function": {"name": "set_timer", "description": "Start a timer.",
         "parameters": {"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]}}}


def _first_correct(entries):
    """Entries whose reference answer BFCL accepts (a few ground truths contradict themselves)."""
    return [e for e in entries if bfcl.score(e, bfcl.reference_answer(e))[0]]


@needs_bfcl
def test_bfcl_checker_loads_without_the_model_registry():
    bfcl.checker()
    assert not [m for m in sys.modules if m.startswith("bfcl_eval.model_handler")]


@needs_bfcl
@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_bfcl_known_correct_answers_score_100_and_wrong_ones_0(category):
    entries = bfcl.load([category], limit=12)
    good = _first_correct(entries)
    assert len(good) >= 10
    cases = [Case(e.id, e.category, e.query, e.functions, bfcl.reference_answer(e), e) for e in good]
    right = scoring.score_cases(cases, [Prediction(calls=bfcl.reference_answer(e)) for e in good])
    assert right["accuracy"][category] == 100.0
    wrong_preds = []
    for e in good:
        if e.ground_truth is None:  # irrelevance: any call is wrong
            tool = e.functions[0]
            wrong_preds.append(Prediction(calls=[{"name": tool["name"], "arguments": {}}]))
        else:  # the right tools, but every call renamed
            wrong_preds.append(Prediction(calls=[{"name": c["name"] + "_x", "arguments": c["arguments"]}
                                                 for c in bfcl.reference_answer(e)]))
    wrong = scoring.score_cases(cases, wrong_preds)
    assert wrong["accuracy"][category] == 0.0
    if category != "irrelevance":  # a wrong value fails too
        e = good[0]
        calls = bfcl.reference_answer(e)
        key = next(iter(calls[0]["arguments"]))
        value = calls[0]["arguments"][key]
        calls[0]["arguments"][key] = value + 1 if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else [value, "zzz"] if isinstance(value, list) else "zzz-not-it"
        assert not bfcl.score(e, calls)[0]


@needs_bfcl
def test_bfcl_suite_sizes_match_the_leaderboard():
    label, cases = load_suite("bfcl")
    counts = {}
    for c in cases:
        counts[c.category] = counts.get(c.category, 0) + 1
    assert counts == {"simple_python": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200,
                      "irrelevance": 240}


def test_scores_and_worst_failures_are_computed_per_category():
    cases = from_examples([
        {"query": "weather in Oslo", "tools": [WEATHER], "calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
        {"query": "weather in Rome in f", "tools": [WEATHER],
         "calls": [{"name": "get_weather", "arguments": {"city": "Rome", "unit": "f"}}]},
        {"query": "hello there", "tools": [WEATHER, TIMER], "calls": []},
        {"query": "timer 5 and weather Bern", "tools": [WEATHER, TIMER],
         "calls": [{"name": "set_timer", "arguments": {"minutes": 5}}, {"name": "get_weather", "arguments": {"city": "Bern"}}]},
    ], "t")
    assert [c.category for c in cases] == ["single", "single", "no_call", "parallel"]
    preds = [Prediction(calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}], valid=[True], confidence=0.9),
             Prediction(calls=[{"name": "get_weather", "arguments": {"city": "Roma"}}], valid=[True], confidence=0.8),
             Prediction(calls=[{"name": "set_timer", "arguments": {"minutes": 1}}], valid=[True], confidence=0.99),
             Prediction(calls=[{"name": "get_weather", "arguments": {"city": "Bern"}},
                               {"name": "set_timer", "arguments": {"minutes": 5}}], valid=[True, True])]
    r = scoring.score_cases(cases, preds, worst=5)
    assert r["accuracy"] == {"single": 50.0, "no_call": 0.0, "parallel": 100.0}
    assert r["n"] == {"single": 2, "no_call": 1, "parallel": 1}
    assert r["overall"]["accuracy_micro"] == 50.0
    assert r["metrics"]["single"]["argument_accuracy"] == pytest.approx(100 * 1 / 3)
    assert r["metrics"]["no_call"]["no_call_accuracy"] == 0.0
    # worst first: the confident call where none applies (call F1 0) before the near miss
    assert [f["query"] for f in r["failures"]] == ["hello there", "weather in Rome in f"]


def test_an_integral_float_matches_the_integer_it_equals():
    """A "number" parameter may come back as -80.0 for an expected -80: the same JSON number."""
    from needle_trainer.metrics import Scores

    expected = [{"name": "approve", "arguments": {"latitude": -80, "box": {"w": 3, "tags": [1, 2.5]}}}]
    assert Scores().add(expected, [{"name": "approve", "arguments": {"latitude": -80.0,
                                                                     "box": {"w": 3.0, "tags": [1.0, 2.5]}}}])
    assert not Scores().add(expected, [{"name": "approve", "arguments": {"latitude": -80.5,
                                                                         "box": {"w": 3, "tags": [1, 2.5]}}}])
    assert not Scores().add([{"name": "t", "arguments": {"on": True}}], [{"name": "t", "arguments": {"on": 1}}])


def test_categories_come_from_the_example_or_its_shape():
    assert category_of({"category": "x", "calls": []}) == "x"
    assert category_of({"meta": {"kind": "no_call", "no_call": "near_miss"}, "calls": []}) == "no_call/near_miss"
    assert category_of({"calls": [{"name": "a"}, {"name": "b"}]}) == "parallel"


def _write_suite(path, n=6):
    lines = []
    for i in range(n):
        if i % 3 == 2:
            lines.append({"query": f"tell me a joke {i}", "tools": [WEATHER, TIMER], "calls": []})
        else:
            lines.append({"query": f"set a timer for {i + 1} minutes", "tools": [WEATHER, TIMER],
                          "calls": [{"name": "set_timer", "arguments": {"minutes": i + 1}}]})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_cli_eval_on_a_jsonl_suite_writes_report_and_chart(tmp_path):
    suite = _write_suite(tmp_path / "suite.jsonl")
    out = tmp_path / "report.json"
    res = CliRunner().invoke(main, ["eval", "--suite", str(suite), "--model", "needle-tiny",
                                    "--compare", "needle-tiny", "--out", str(out), "--max-new-tokens", "32"])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["n"] == {"single": 4, "no_call": 2}
    assert set(report["accuracy"]) == {"single", "no_call"} and report["model"].startswith("needle-tiny")
    assert report["compare"]["accuracy"] == report["accuracy"]  # same model, same greedy answers
    for key in ("exact_match", "tool_name_f1", "call_f1", "argument_accuracy", "value_accuracy",
                "schema_validity", "no_call_accuracy", "hallucinated_params_per_call", "latency_p50_ms"):
        assert key in report["metrics"]["all"], key
    assert report["retrieval"]["k"] == 5 and 0.0 <= report["retrieval"]["recall"] <= 100.0
    assert report["timing"]["requests"] == 6
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "delta" in res.output and "+0.0" in res.output


def test_retrieval_recall_is_complete_when_the_pool_fits_in_k():
    from needle_router.engine import get_engine
    from needle_trainer.evaluation.retrieval import recall_at_k

    cases = from_examples([{"query": f"timer {i}", "tools": [WEATHER, TIMER],
                            "calls": [{"name": "set_timer", "arguments": {"minutes": i}}]} for i in range(3)], "r")
    engine = get_engine("needle-tiny")
    assert recall_at_k(engine, cases, k=2, pool=2)["recall"] == 100.0
    r = recall_at_k(engine, cases, k=1, pool=2)
    hits = r["recall"] * 3 / 100  # each query's one expected tool is ranked first or not
    assert r["queries"] == 3 and hits == pytest.approx(round(hits))
    assert r["queries_several_tools"] == 0 and r["recall_several_tools"] is None


def test_retrieval_recall_reports_queries_needing_several_tools_apart():
    from needle_router.engine import get_engine
    from needle_trainer.evaluation.retrieval import recall_at_k

    both = [{"name": "get_weather", "arguments": {"city": "Rome"}}, {"name": "set_timer", "arguments": {"minutes": 3}}]
    cases = from_examples([{"query": "weather in Rome, also set a timer for 3 minutes", "tools": [WEATHER, TIMER],
                            "calls": both},
                           {"query": "timer 4", "tools": [WEATHER, TIMER],
                            "calls": [{"name": "set_timer", "arguments": {"minutes": 4}}]}], "s")
    engine = get_engine("needle-tiny")
    r = recall_at_k(engine, cases, k=2, pool=2)
    assert r["queries"] == 2 and r["queries_several_tools"] == 1
    assert r["recall_several_tools"] == r["recall_several_tools_whole"] == 100.0
    r = recall_at_k(engine, cases, k=1, pool=2)
    assert r["recall_several_tools"] == 50.0   # one of its two tools fits in the top 1


@needs_bfcl
def test_cli_eval_bfcl_on_a_tiny_model(tmp_path):
    out = tmp_path / "bfcl.json"
    res = CliRunner().invoke(main, ["eval", "--suite", "bfcl", "--model", "needle-tiny", "--limit", "2",
                                    "--categories", "simple_python,irrelevance", "--max-new-tokens", "32",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["n"] == {"simple_python": 2, "irrelevance": 2}
    assert all(0.0 <= v <= 100.0 for v in report["accuracy"].values())
    assert "argument_accuracy" not in report["metrics"]["all"]  # not meaningful against BFCL's answer sets


@pytest.mark.parametrize("args, message", [
    (["--suite", "nope.jsonl"], "no such file"),
    (["--suite", "bfcl", "--categories", "simple_java"], "unknown BFCL category"),
])
def test_cli_eval_bad_input_is_one_clear_line(args, message):
    res = CliRunner().invoke(main, ["eval", "--model", "needle-tiny", *args])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_cli_eval_names_the_bad_line_of_a_suite(tmp_path):
    suite = _write_suite(tmp_path / "s.jsonl", n=3)
    suite.write_text(suite.read_text() + '{"query": "x", "tools": "oops", "calls": []}\n')
    res = CliRunner().invoke(main, ["eval", "--model", "needle-tiny", "--suite", str(suite)])
    assert res.exit_code == 2 and "s.jsonl:4" in res.output


def test_cli_eval_unknown_category_lists_the_known_ones(tmp_path):
    suite = _write_suite(tmp_path / "s.jsonl", n=3)
    res = CliRunner().invoke(main, ["eval", "--model", "needle-tiny", "--suite", str(suite), "-c", "parallel"])
    assert res.exit_code == 2 and "no_call, single" in res.output
