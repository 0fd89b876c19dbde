"""NeedleRouter end to end on the tiny model: typed results, batching, invoke, bad input."""

from __future__ import annotations

import asyncio
import threading
import time
from enum import Enum
from typing import Literal

import numpy as np
import pytest
from pydantic import BaseModel

from needle_router import NeedleRouter, QueryError, RouteResult, ToolCall, ToolSpecError
from needle_router.engine import get_engine
from needle_router.render import MAX_INPUT_TOKENS, MAX_QUERY_TOKENS

MODEL = "needle-tiny"
BUDGET = 64


class Unit(str, Enum):
    celsius = "celsius"
    fahrenheit = "fahrenheit"


class Window(BaseModel):
    start: str
    hours: int


def get_weather(location: str, unit: Unit = Unit.celsius, days: int = 1) -> str:
    """Current weather for a city.

    Args:
        location: City name.
        unit: Temperature unit.
        days: Forecast length.
    """
    return f"weather in {location} for {days} day(s) in {unit.value}"


async def book_room(room: Literal["red", "blue"], window: Window, attendees: list[str] | None = None) -> dict:
    """Book a meeting room."""
    await asyncio.sleep(0)
    return {"room": room, "hours": window.hours, "attendees": attendees or []}


def explode(reason: str) -> None:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


FACTORIAL = {"type": "function", "function": {"name": "math.factorial", "description": "n!",
                                              "parameters": {"type": "object", "properties": {
                                                  "n": {"type": "integer"}}, "required": ["n"]}}}
TOOLS = [get_weather, book_room, explode, FACTORIAL]


@pytest.fixture(scope="module")
def router():
    r = NeedleRouter(TOOLS, model=MODEL, max_new_tokens=BUDGET)
    r.route_sync("warm up the compiled programs")
    return r


def test_route_result_shape(router):
    res = router.route_sync("What's the weather in Paris in fahrenheit?")
    assert isinstance(res, RouteResult)
    assert 0.0 <= res.confidence <= 1.0
    assert res.usage.input_tokens > 0 and 1 <= res.usage.output_tokens <= BUDGET
    assert res.latency_ms > 0 and not res.truncated and res.errors == []
    assert 0 < res.compute_ms <= res.latency_ms
    for call in res.calls:
        assert isinstance(call, ToolCall) and call.id.startswith("call_")
        assert call.name in {"get_weather", "book_room", "explode", "math.factorial"}


def test_names_are_the_users_and_arguments_are_typed(router):
    res = router.route_sync("factorial of 5", require_call=True, allowed=["math.factorial"])
    assert res.calls and {c.name for c in res.calls} == {"math.factorial"}
    for c in res.calls:
        assert set(c.arguments) == {"n"} and type(c.arguments["n"]) is int
    res = router.route_sync("weather", require_call=True, allowed=["get_weather"])
    for c in res.calls:
        assert isinstance(c.arguments["location"], str)
        assert set(c.arguments) <= {"location", "unit", "days"}
        assert type(c.arguments.get("days", 1)) is int
    res = router.route_sync("book", require_call=True, allowed=["book_room"])
    for c in res.calls:
        assert c.arguments["room"] in ("red", "blue")
        assert isinstance(c.arguments["window"], dict) and type(c.arguments["window"]["hours"]) is int


def test_empty_tool_set_routes_to_no_call():
    r = NeedleRouter([], model=MODEL, max_new_tokens=16)
    res = r.route_sync("anything at all", require_call=True)
    assert res.calls == [] and res.usage.output_tokens == 2  # <|no_call|> EOS


def test_weights_are_shared_and_binding_is_cheap(router):
    assert get_engine(MODEL) is router.engine
    t0 = time.perf_counter()
    other = NeedleRouter([get_weather], model=MODEL, max_new_tokens=BUDGET)
    assert time.perf_counter() - t0 < 0.5
    assert other.engine is router.engine


def test_async_callers_share_batches(router):
    batcher = router.engine.batcher
    before = batcher.batches_run

    async def main():
        return await asyncio.gather(*(router.route(f"query number {i}") for i in range(12)))

    results = asyncio.run(main())
    assert [r.query for r in results] == [f"query number {i}" for i in range(12)]
    assert batcher.batches_run - before < 12 and batcher.largest_batch > 1
    # latency counts the wait for a batch slot, compute_ms only the model: a request of a later
    # batch waited at least as long as some earlier batch ran
    assert all(0 < r.compute_ms <= r.latency_ms for r in results)
    if batcher.batches_run - before > 1:
        assert max(r.latency_ms - r.compute_ms for r in results) >= 0.5 * min(r.compute_ms for r in results)


def test_threads_share_batches(router):
    batcher = router.engine.batcher
    before = batcher.batches_run
    results: dict[int, RouteResult] = {}

    def work(i):
        results[i] = router.route_sync(f"thread query {i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(8)) and all(results[i].query == f"thread query {i}" for i in range(8))
    assert batcher.batches_run - before < 8


def test_route_many_keeps_order(router):
    queries = [f"q{i}" for i in range(5)]
    results = asyncio.run(router.route_many(queries))
    assert [r.query for r in results] == queries


def test_routers_with_different_tools_never_interfere(router):
    weather = NeedleRouter([get_weather], model=MODEL, max_new_tokens=BUDGET)
    maths = NeedleRouter([FACTORIAL], model=MODEL, max_new_tokens=BUDGET)

    async def main():
        a = [weather.route(f"w{i}", require_call=True) for i in range(6)]
        b = [maths.route(f"m{i}", require_call=True) for i in range(6)]
        return await asyncio.gather(*a, *b)

    results = asyncio.run(main())
    for res in results[:6]:
        assert res.calls and {c.name for c in res.calls} == {"get_weather"}
    for res in results[6:]:
        assert res.calls and {c.name for c in res.calls} == {"math.factorial"}


def test_mixed_tool_sets_in_one_batch_answer_exactly_as_alone(tiny_scrambled):
    """Requests of four tool sets (and two budgets) decoded in shared batches give the same
    tokens as each decoded alone: every row keeps its own grammar, tools and budget."""
    from needle_router.engine import Engine
    from needle_router.model.loading import LoadedModel

    cfg, params = tiny_scrambled
    engine = Engine(LoadedModel(params, cfg, "test:scrambled", True, {}))
    fetch = {"name": "fetch_page", "parameters": {"type": "object", "properties": {
        "url": {"type": "string"}, "retries": {"type": "integer"}}, "required": ["url"]}}
    routers = [NeedleRouter([get_weather], model=engine, max_new_tokens=64, batch_wait_ms=200),
               NeedleRouter([FACTORIAL, fetch], model=engine, max_new_tokens=16, batch_wait_ms=200),
               NeedleRouter([book_room], model=engine, max_new_tokens=64, batch_wait_ms=200),
               NeedleRouter(TOOLS, model=engine, max_new_tokens=32, batch_wait_ms=200)]
    jobs = [(routers[i % 4], f"request {i}: do the thing", i % 3 == 0) for i in range(12)]
    alone = [r.route_sync(q, require_call=need) for r, q, need in jobs]
    before = engine.batcher.batches_run

    async def together():
        return await asyncio.gather(*(r.route(q, require_call=need) for r, q, need in jobs))

    mixed = asyncio.run(together())
    assert engine.batcher.batches_run - before < len(jobs) and engine.batcher.largest_batch >= 4
    for (r, _, need), a, m in zip(jobs, alone, mixed):
        assert [(c.name, c.arguments) for c in m.calls] == [(c.name, c.arguments) for c in a.calls]
        assert m.usage.output_tokens == a.usage.output_tokens <= r._binding.max_new_tokens
        assert m.confidence == pytest.approx(a.confidence, abs=1e-4)
        assert {c.name for c in m.calls} <= {s.name for s in r.specs}
        assert not need or m.calls or r._binding.max_new_tokens == 16  # too short to force a call


def test_invoke_runs_sync_and_async_tools_and_captures_errors(router):
    out = asyncio.run(router.invoke("weather", require_call=True, allowed=["get_weather"]))
    assert out and all(o.ok and o.result.startswith("weather in ") for o in out)
    out = asyncio.run(router.invoke("book", require_call=True, allowed=["book_room"]))
    assert out and all(o.ok and o.result["room"] in ("red", "blue") for o in out)
    out = asyncio.run(router.invoke("fail", require_call=True, allowed=["explode"]))
    assert out and all(isinstance(o.error, RuntimeError) and not o.ok for o in out)
    out = asyncio.run(router.invoke("factorial", require_call=True, allowed=["math.factorial"]))
    assert out and all(isinstance(o.error, ToolSpecError) and "no Python callable" in str(o.error) for o in out)


def test_min_confidence_turns_calls_into_no_call():
    r = NeedleRouter(TOOLS, model=MODEL, max_new_tokens=BUDGET, min_confidence=1.0)
    res = r.route_sync("weather in Oslo", require_call=True)
    assert res.calls == [] and res.abstained and res.confidence < 1.0


def test_retrieval_shows_only_top_k_tools():
    tools = [{"name": f"tool.{i}", "description": f"does task number {i}",
              "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}} for i in range(40)]
    r = NeedleRouter(tools, model=MODEL, top_k=4, max_new_tokens=BUDGET)
    engine, binding = r.engine, r._binding
    from needle_router.engine import Request
    req = Request(binding, engine.tokenizer.encode("run task 7"))
    shown = engine._select(binding, [req])[0]
    assert len(shown) == 4 and len(set(shown)) == 4 and r.top_k == 4
    emb = engine.tool_embeddings(binding)
    scores = engine.embed([req.query_ids])[0] @ emb.T
    assert set(shown) == set(np.argsort(-scores)[:4].tolist())
    with_words = engine._select(binding, [Request(binding, req.query_ids, text="run task 7")])[0]
    shown_names = {binding.specs[i].name for i in with_words}
    for _ in range(3):
        res = r.route_sync("run task 7", require_call=True)
        assert res.calls and {c.name for c in res.calls} <= shown_names


def test_retrieval_fuses_the_head_with_word_overlap():
    tools = [{"name": f"tool.{i}", "description": f"does task number {i}",
              "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}} for i in range(40)]
    tools.append({"name": "convert_currency", "description": "Convert money between currencies.",
                  "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}}})
    r = NeedleRouter(tools, model=MODEL, top_k=4, max_new_tokens=BUDGET)
    engine, binding = r.engine, r._binding
    from needle_router.engine import Request
    from needle_router.lexical import fuse
    query = "convert 20 dollars to another currency"
    ids = engine.tokenizer.encode(query)
    allowed = np.ones(len(binding.specs), bool)
    allowed[0] = False
    shown = engine._select(binding, [Request(binding, ids, allowed, text=query)])[0]
    dense = engine.embed([ids])[0] @ engine.tool_embeddings(binding).T
    dense[~allowed] = -np.inf
    lexical = binding.lexical.scores(query)
    assert binding.specs[int(np.argmax(lexical))].name == "convert_currency"
    assert shown == np.argsort(-fuse(dense, lexical), kind="stable")[:4].tolist()
    assert 0 not in shown


def test_retrieval_ranks_each_tool_by_its_best_clause():
    tools = [{"name": f"tool_{i}", "description": f"Handles job {i} for the team.",
              "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}} for i in range(30)]
    tools += [{"name": "convert_currency", "description": "Convert money between currencies.",
               "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}}},
              {"name": "send_text", "description": "Send a text message to a contact.",
               "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}}]
    r = NeedleRouter(tools, model=MODEL, top_k=6, max_new_tokens=BUDGET)
    engine, binding = r.engine, r._binding
    from needle_router.engine import Request
    from needle_router.lexical import fuse_clauses
    query = "convert 20 dollars to another currency, also send a text message to Sam"
    ids = engine.tokenizer.encode(query)
    shown = engine._select(binding, [Request(binding, ids, None, text=query)])[0]
    (texts, clause_rows), = engine.clause_embeddings([query])
    assert len(texts) == 2
    tool_rows = engine.tool_embeddings(binding)
    dense = np.concatenate([engine.embed([ids]), clause_rows]) @ tool_rows.T
    lexical = np.stack([binding.lexical.scores(t) for t in (query, *texts)])
    assert shown == np.argsort(-fuse_clauses(dense, lexical), kind="stable")[:6].tolist()
    names = {binding.specs[i].name for i in shown}
    assert {"convert_currency", "send_text"} <= names


def test_unconstrained_mode_reports_instead_of_raising():
    r = NeedleRouter(TOOLS, model=MODEL, max_new_tokens=32, constrained=False)
    res = r.route_sync("weather in Rome")
    assert isinstance(res, RouteResult)
    assert res.calls or res.errors  # random weights: rarely valid, never an exception


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\n\t "])
def test_empty_query_is_refused(router, query):
    with pytest.raises(QueryError, match="empty"):
        router.route_sync(query)


def test_non_text_query_is_refused(router):
    with pytest.raises(QueryError, match="must be a string"):
        router.route_sync(42)  # type: ignore[arg-type]


def test_huge_query_is_truncated(router):
    res = router.route_sync("please check the weather " * 4000)  # 100,000 characters
    assert res.truncated
    assert res.usage.input_tokens <= MAX_INPUT_TOKENS
    assert res.usage.input_tokens >= MAX_QUERY_TOKENS


def test_invalid_utf8_bytes_are_replaced(router):
    res = router.route_sync(b"weather in Par\xff\xfeis \xc3")
    assert res.query == "weather in Par\ufffd\ufffdis \ufffd"
    res = router.route_sync("lone surrogate \udcff here")
    assert "\ufffd" in res.query


def test_duplicate_tool_names_are_refused():
    with pytest.raises(ToolSpecError, match="duplicate tool name"):
        NeedleRouter([get_weather, {"name": "get_weather", "parameters": {}}], model=MODEL)


def test_invalid_schema_names_tool_and_parameter():
    bad = {"name": "lookup", "parameters": {"type": "object", "properties": {"when": {"type": "datetime"}}}}
    with pytest.raises(ToolSpecError) as info:
        NeedleRouter([bad], model=MODEL)
    assert "lookup" in str(info.value) and "when" in str(info.value)


def test_unsupported_keywords_fall_back_to_the_supported_part(router):
    """`not`, `if`, `patternProperties` are not expressible: they are ignored (documented)."""
    tool = {"name": "odd", "parameters": {"type": "object", "properties": {
        "a": {"type": "string", "not": {"enum": ["x"]}},
        "b": {"if": {"type": "string"}, "then": {"minLength": 2}},
        "c": {"type": "object", "patternProperties": {"^x": {"type": "integer"}}}}, "required": ["a"]}}
    r = NeedleRouter([tool], model=MODEL, max_new_tokens=BUDGET)
    res = r.route_sync("odd one", require_call=True)
    assert res.calls and res.calls[0].name == "odd" and isinstance(res.calls[0].arguments["a"], str)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="top_k"):
        NeedleRouter([get_weather], model=MODEL, top_k=0)
    with pytest.raises(ValueError, match="min_confidence"):
        NeedleRouter([get_weather], model=MODEL, min_confidence=2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        NeedleRouter([get_weather], model=MODEL, max_new_tokens=4)
    with pytest.raises(ToolSpecError, match="must be a list"):
        NeedleRouter(get_weather, model=MODEL)  # type: ignore[arg-type]


def test_a_tool_that_cannot_fit_the_budget_is_reported():
    long = {"name": "fill_form", "parameters": {"type": "object", "properties": {
        f"field_number_{i}": {"type": "string"} for i in range(6)}, "required": [f"field_number_{i}" for i in range(6)]}}
    with pytest.warns(UserWarning, match="fill_form.*can never be called"):
        NeedleRouter([long, get_weather], model=MODEL, max_new_tokens=64)


@pytest.mark.slow
def test_a_thousand_tools():
    tools = [{"name": f"svc{i}.action-{i}", "description": f"performs action {i} on service {i}",
              "parameters": {"type": "object", "properties": {
                  "target": {"type": "string"}, "level": {"type": "integer"}}, "required": ["target"]}}
             for i in range(1000)]
    r = NeedleRouter(tools, model=MODEL, max_new_tokens=BUDGET)
    res = r.route_sync("perform action 17", require_call=True)
    assert res.calls and all(c.name.startswith("svc") for c in res.calls)
