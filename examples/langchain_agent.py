"""A LangGraph agent loop with NeedleChat choosing among Python tools and running them.

The graph is the classic two-node loop: the model node asks NeedleChat for tool calls, the
ToolNode executes them, and the loop returns to the model, which, given the tool results,
answers with text, so the graph ends. Run it:

    python examples/langchain_agent.py "What's the weather in Paris?"
    python examples/langchain_agent.py --model needle-tiny "Convert 20 USD to EUR"

The shipped weights (needle-2m, trained on a CPU) often pick the right tool and often get its
arguments wrong, but every step is real: a routed, validated call, a Python function executed, a final answer.
"""


import argparse
from typing import Annotated, Literal

from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from typing_extensions import TypedDict

from langchain_needle import NeedleChat


@tool
def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather for a city.

    Args:
        location: City name, e.g. "Paris".
        unit: Temperature unit.
    """
    return f"It is 21 degrees {unit} and sunny in {location}."


@tool
def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money between currencies.

    Args:
        amount: How much money.
        from_currency: ISO code of the source currency, e.g. "USD".
        to_currency: ISO code of the target currency, e.g. "EUR".
    """
    return f"{amount} {from_currency} is {round(float(amount) * 0.92, 2)} {to_currency}."


@tool
def add_todo(title: str, priority: Literal["low", "normal", "high"] = "normal") -> str:
    """Add an item to the user's todo list.

    Args:
        title: What to do.
        priority: How urgent it is.
    """
    return f"Added '{title}' ({priority} priority)."


TOOLS = [get_weather, convert_currency, add_todo]


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def build_agent(model: str | None = None, *, max_new_tokens: int = 128):
    """The compiled graph: model -> (tools -> model)* -> end."""
    llm = NeedleChat(model=model, max_new_tokens=max_new_tokens).bind_tools(TOOLS)

    def call_model(state: State) -> dict:
        return {"messages": [llm.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode(TOOLS))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    return graph.compile()


def run(query: str, model: str | None = None) -> list[AnyMessage]:
    agent = build_agent(model)
    return agent.invoke({"messages": [HumanMessage(query)]}, {"recursion_limit": 10})["messages"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query")
    parser.add_argument("--model", default=None, help="weights directory or preset (default: shipped weights)")
    args = parser.parse_args(argv)
    for message in run(args.query, args.model):
        message.pretty_print()


if __name__ == "__main__":
    main()
