"""The LangGraph agent example runs end to end: routed call, tool executed, final answer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "langchain_agent.py"


def _load():
    spec = importlib.util.spec_from_file_location("langchain_agent_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_agent_loop_calls_a_tool_and_finishes(monkeypatch):
    example = _load()
    agent = example.build_agent("needle-tiny")
    # Force the first turn to call (random weights might answer "no call"), as a user would with
    # tool_choice="any"; later turns run unforced.
    from langchain_needle import NeedleChat

    original = NeedleChat._plan

    def plan(self, messages, tools, tool_choice):
        if len(messages) == 1:
            tool_choice = "any"
        return original(self, messages, tools, tool_choice)

    monkeypatch.setattr(NeedleChat, "_plan", plan)
    messages = agent.invoke({"messages": [HumanMessage("What's the weather in Paris?")]},
                            {"recursion_limit": 10})["messages"]
    assert isinstance(messages[0], HumanMessage)
    calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert calls and results and len(results) == sum(len(m.tool_calls) for m in calls)
    names = {t.name for t in example.TOOLS}
    assert all(r.name in names and r.status != "error" for r in results)
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls and final.content
    assert results[0].content in final.content


def test_cli_entry_point(capsys):
    example = _load()
    example.main(["--model", "needle-tiny", "Add buy milk to my todo list"])
    out = capsys.readouterr().out
    assert "Human Message" in out and "Ai Message" in out
