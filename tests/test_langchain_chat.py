"""NeedleChat behaviour beyond the standard suites: tool_choice, conversations, streaming."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel
from typing_extensions import TypedDict

from langchain_needle import NeedleChat
from langchain_needle.chat_models import NO_TOOL_TEXT

PARAMS = {"model": "needle-tiny", "max_new_tokens": 64}


@tool
def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather for a city."""
    return f"sunny in {location}"


class Add(BaseModel):
    """Add two integers."""

    a: int
    b: int


class Person(TypedDict):
    """A person."""

    name: str
    age: int


@pytest.fixture(scope="module")
def llm():
    return NeedleChat(**PARAMS)


def test_construction_is_cheap_and_loads_nothing():
    t0 = time.perf_counter()
    NeedleChat(model="some/dir/that/does/not/exist")
    assert time.perf_counter() - t0 < 0.05


def test_tool_prior_is_passed_to_the_router_and_checked():
    from pydantic import ValidationError

    llm = NeedleChat(**PARAMS, tool_prior=0.0).bind_tools([get_weather])
    llm.invoke("weather in Oslo")
    chat = llm.bound
    (router,) = chat._routers.values()
    assert router._binding.tool_prior == 0.0
    assert NeedleChat(**PARAMS)._router([], None)._binding.tool_prior > 0   # the router's default
    with pytest.raises(ValidationError, match="tool_prior"):
        NeedleChat(**PARAMS, tool_prior=-1.0)


@pytest.mark.parametrize("choice", ["any", "required", True])
def test_must_call_choices(llm, choice):
    msg = llm.bind_tools([get_weather, Add], tool_choice=choice).invoke("weather in Paris")
    assert isinstance(msg, AIMessage) and len(msg.tool_calls) >= 1
    for call in msg.tool_calls:
        assert call["name"] in {"get_weather", "Add"} and call["id"].startswith("call_")
    assert msg.usage_metadata["total_tokens"] > 0 and msg.response_metadata["model_name"] == "needle-tiny"


def test_named_tool_choice(llm):
    msg = llm.bind_tools([get_weather, Add], tool_choice="Add").invoke("add 2 and 3")
    assert msg.tool_calls and {c["name"] for c in msg.tool_calls} == {"Add"}
    for c in msg.tool_calls:
        assert type(c["args"]["a"]) is int and type(c["args"]["b"]) is int
    msg = llm.bind_tools([get_weather], tool_choice={"type": "function", "function": {"name": "get_weather"}}
                         ).invoke("weather")
    assert msg.tool_calls and msg.tool_calls[0]["name"] == "get_weather"


def test_none_choice_and_no_tools_answer_with_text(llm):
    assert llm.bind_tools([get_weather], tool_choice="none").invoke("weather in Paris").content == NO_TOOL_TEXT
    msg = llm.invoke("hello there")
    assert msg.content == NO_TOOL_TEXT and not msg.tool_calls


def test_unknown_tool_choice_is_refused(llm):
    with pytest.raises(ValueError, match="not one of the bound tools"):
        llm.bind_tools([get_weather], tool_choice="send_email")


def test_tool_results_end_the_loop(llm):
    bound = llm.bind_tools([get_weather], tool_choice="any")
    first = bound.invoke("weather in Paris")
    call = first.tool_calls[0]
    answer = bound.invoke([HumanMessage("weather in Paris"), first,
                           ToolMessage("sunny, 21 C", tool_call_id=call["id"], name="get_weather")])
    assert not answer.tool_calls and "sunny, 21 C" in answer.content and "get_weather" in answer.content


def test_query_is_the_latest_human_turn(llm):
    bound = llm.bind_tools([get_weather], tool_choice="any")
    msgs = [SystemMessage("You are helpful."), HumanMessage("old question"), AIMessage("old answer"),
            HumanMessage("weather in Rome")]
    query, _ = llm._plan(msgs, bound.kwargs["tools"], "any")
    assert query == "weather in Rome"


def test_invalid_calls_go_to_invalid_tool_calls():
    unconstrained = NeedleChat(constrained=False, **PARAMS).bind_tools([Add])
    for i in range(3):
        msg = unconstrained.invoke(f"add {i} and 2")
        assert isinstance(msg, AIMessage)  # never raises
        for bad in msg.invalid_tool_calls:
            assert bad["type"] == "invalid_tool_call" and bad["error"]


def test_streaming_yields_tool_call_chunks(llm):
    bound = llm.bind_tools([get_weather, Add], tool_choice="any")
    chunks = list(bound.stream("weather in Oslo"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert any(c.tool_call_chunks for c in chunks)
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert full.tool_calls and full.usage_metadata["output_tokens"] > 0


def test_async_calls_share_batches(llm):
    bound = llm.bind_tools([get_weather], tool_choice="any")
    router = llm._router(bound.kwargs["tools"], "needle-tiny")
    batcher = router.engine.batcher
    before = batcher.batches_run

    async def main():
        return await asyncio.gather(*(bound.ainvoke(f"weather in city {i}") for i in range(6)))

    results = asyncio.run(main())
    assert all(r.tool_calls for r in results)
    assert batcher.batches_run - before < 6


@pytest.mark.parametrize("schema", [Add, Person, Add.model_json_schema()], ids=["pydantic", "typeddict", "json"])
def test_structured_output(llm, schema):
    out = llm.with_structured_output(schema).invoke("add 1 and 2")
    if schema is Add:
        assert isinstance(out, Add)
    else:
        assert isinstance(out, dict) and out
