"""A query that asks for several things: its clauses are routed on their own and answer it
when they call different tools."""

from __future__ import annotations

import asyncio
import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from needle_router import NeedleRouter
from needle_router.clauses import clauses, request_clauses, tool_verbs
from needle_router.parallel import clause_calls

DINING = Path(__file__).resolve().parents[1] / "trainer" / "dev_registries" / "dining" / "tools.py"


def _dining_tools() -> list:
    spec = importlib.util.spec_from_file_location("dining_tools", DINING)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TOOLS


def test_tool_verbs_are_the_first_words_of_tool_names():
    verbs = tool_verbs(["add_to_grocery_list", "getWeather", "rate-restaurant", "to_do", "Split_Bill", "x"])
    assert verbs == {"add", "get", "rate", "split"}


@pytest.mark.parametrize("query, parts", [
    ("book a table at Nopa for 2 tomorrow at 7pm and add eggs to my grocery list",
     ["book a table at Nopa for 2 tomorrow at 7pm", "add eggs to my grocery list"]),
    ("rate Marufuku 5 stars and split the $138 bill between 3 of us",
     ["rate Marufuku 5 stars", "split the $138 bill between 3 of us"]),
    ("reserve 2 at Nopa sunday 11am, and then rate Tartine 4 stars", ["reserve 2 at Nopa sunday 11am", "rate Tartine 4 stars"]),
    ("track order 55102, also how many calories in a pear", ["track order 55102", "how many calories in a pear"]),
    ("add milk, eggs and bread to my grocery list", []),           # a list, not two requests
    ("split 96 between 3 of us", []),
])
def test_request_clauses_split_before_a_bound_tools_verb(query, parts):
    assert request_clauses(query, {"add", "rate", "split", "track", "reserve"}) == parts


def test_without_verbs_request_clauses_are_the_retrieval_clauses_without_joiners():
    query = "start the washer. also dim the lights, and then lock the door"
    assert clauses(query) == ["start the washer", "also dim the lights", "then lock the door"]
    assert request_clauses(query) == ["start the washer", "dim the lights", "lock the door"]


def _call(name: str, **arguments):
    return SimpleNamespace(name=name, arguments=arguments)


def test_clause_calls_need_two_calling_clauses_and_two_tools():
    rate, split = _call("rate_restaurant", restaurant="Nopa", stars=5), _call("split_bill", total=96, people=3)
    assert clause_calls([[rate], [split]]) == [rate, split]
    assert clause_calls([[rate], [], [split]]) == [rate, split]
    assert clause_calls([[rate], [_call("rate_restaurant", restaurant="Nopa", stars=5), split]]) == [rate, split]
    assert clause_calls([[rate], []]) is None                         # one clause calls
    assert clause_calls([[rate], [_call("rate_restaurant", restaurant="Tartine", stars=4)]]) is None  # one tool
    assert clause_calls([[], []]) is None


def _named(calls) -> list:
    return [(c.name, c.arguments) for c in calls]


def test_router_answers_with_its_clauses_calls():
    """Shipped weights, real decoding: the whole query gets one call, its clauses one tool each."""
    tools = _dining_tools()
    split_on, split_off = NeedleRouter(tools), NeedleRouter(tools, split_clauses=False)
    query = "rate Marufuku 5 stars and split the $138 bill between 3 of us"
    parts = request_clauses(query, tool_verbs(s.name for s in split_on.specs))
    assert len(parts) == 2
    alone = [split_off.route_sync(part) for part in parts]
    expected = clause_calls([r.calls for r in alone])
    assert expected is not None and {c.name for c in expected} == {"rate_restaurant", "split_bill"}
    result = split_on.route_sync(query)
    assert _named(result.calls) == _named(expected)
    assert result.confidence == pytest.approx(math.prod(r.confidence for r in alone if r.calls), rel=1e-3)
    assert _named(asyncio.run(split_on.route(query)).calls) == _named(expected)
    assert len(split_off.route_sync(query).calls) < 2 or \
        {c.name for c in split_off.route_sync(query).calls} != {"rate_restaurant", "split_bill"}


def test_min_confidence_applies_to_the_clauses_answer_as_a_whole():
    tools = _dining_tools()
    query = "rate Marufuku 5 stars and split the $138 bill between 3 of us"
    split_off = NeedleRouter(tools, split_clauses=False)
    confidences = [split_off.route_sync(p).confidence
                   for p in ("rate Marufuku 5 stars", "split the $138 bill between 3 of us")]
    threshold = (math.prod(confidences) + min(confidences)) / 2    # each clause passes, both together do not
    result = NeedleRouter(tools, min_confidence=threshold).route_sync(query)
    assert result.calls == [] and result.abstained
    assert result.confidence == pytest.approx(math.prod(confidences), rel=1e-3)


def test_clauses_are_decoded_only_when_they_match_different_tools_best():
    router = NeedleRouter(_dining_tools())
    assert router._clauses_match_several_tools(["rate Marufuku 5 stars", "split the $138 bill between 3 of us"])
    assert not router._clauses_match_several_tools(["rate Marufuku 5 stars", "rate Nopa 4 stars"])


def test_router_keeps_the_whole_answer_for_one_request():
    tools = _dining_tools()
    split_on, split_off = NeedleRouter(tools), NeedleRouter(tools, split_clauses=False)
    for query in ("add milk, eggs and bread to my grocery list", "what's the weather like"):
        assert _named(split_on.route_sync(query).calls) == _named(split_off.route_sync(query).calls)
