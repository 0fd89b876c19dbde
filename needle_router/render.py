"""The encoder input: a query and its tools rendered compactly (format version 1).

Encoder cost dominates latency, so a tool is rendered with as few tokens as carry its
meaning: its internal name, description, and one clause per parameter with the name, a ``*``
when required, a short type and the description. No JSON punctuation. Example::

    <|tool|>get_weather: Current weather for a city. | location* str: City name | unit celsius/fahrenheit = celsius

Types: ``str``, ``int``, ``num``, ``bool``, ``null``, ``list[T]``, ``dict`` (free keys),
``{a* int, b str}`` (nested object), enums as ``a/b/c`` (JSON text for non-strings),
alternatives as ``T or U``, anything as ``any``.

A request is ``query <|tools|> <|tool|>tool_1 <|tool|>tool_2 ...``. The query is cut to
:data:`MAX_QUERY_TOKENS` tokens (its start is kept) and each tool to :data:`MAX_TOOL_TOKENS`;
the whole input never exceeds :data:`MAX_INPUT_TOKENS`. The retrieval head sees the query
alone and each tool alone (``<|tool|>`` + rendering), so tool embeddings are computed once.

The trainer renders its examples with these same functions; changing the format means
bumping :data:`RENDER_FORMAT_VERSION` and retraining.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from needle_router.tokenizer import NeedleTokenizer
from needle_router.tokenizer.specials import TOOL_ID, TOOLS_ID
from needle_router.tools.spec import ToolSpec

RENDER_FORMAT_VERSION = 1
MAX_QUERY_TOKENS = 512
MAX_TOOL_TOKENS = 256
MAX_INPUT_TOKENS = 2048
MAX_DESCRIPTION_CHARS = 300
_SCALARS = {"string": "str", "integer": "int", "number": "num", "boolean": "bool", "null": "null"}


def _short(text: str, limit: int = MAX_DESCRIPTION_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _enum_text(values: Sequence[Any]) -> str:
    return "/".join(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values)


def render_type(schema: Mapping[str, Any]) -> str:
    """The short type text of one normalised schema node."""
    if "anyOf" in schema:
        kinds = {m.get("type") for m in schema["anyOf"]}
        if len(schema["anyOf"]) >= 6 and {"string", "object", "array"} <= kinds:
            return "any"
        return " or ".join(render_type(m) for m in schema["anyOf"])
    if "enum" in schema:
        return _enum_text(schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return f"list[{render_type(items)}]" if items else "list"
    if kind == "object":
        props = schema.get("properties")
        if not props:
            return "dict"
        required = set(schema.get("required", ()))
        inner = ", ".join(f"{p}{'*' if p in required else ''} {render_type(s)}" for p, s in props.items())
        return "{" + inner + "}"
    return _SCALARS.get(kind, "any")


def render_parameter(name: str, schema: Mapping[str, Any], required: bool) -> str:
    text = f"{name}{'*' if required else ''} {render_type(schema)}"
    if "default" in schema:
        text += " = " + (schema["default"] if isinstance(schema["default"], str)
                         else json.dumps(schema["default"], ensure_ascii=False))
    if schema.get("description"):
        text += ": " + _short(schema["description"], 160)
    return text


def render_tool(spec: ToolSpec) -> str:
    """One tool as text (without the leading ``<|tool|>``)."""
    parts = [spec.internal_name + (": " + _short(spec.description) if spec.description else "")]
    required = set(spec.required)
    for pname, pschema in spec.parameters.get("properties", {}).items():
        parts.append(render_parameter(pname, pschema, pname in required))
    return " | ".join(parts)


def tool_tokens(tokenizer: NeedleTokenizer, spec: ToolSpec) -> list[int]:
    """``<|tool|>`` + the tool's rendering, cut to :data:`MAX_TOOL_TOKENS`."""
    return [TOOL_ID] + tokenizer.encode(render_tool(spec))[: MAX_TOOL_TOKENS - 1]


def query_tokens(tokenizer: NeedleTokenizer, query: str) -> list[int]:
    """The query's tokens, cut to :data:`MAX_QUERY_TOKENS` (the start is kept)."""
    return tokenizer.encode(query)[:MAX_QUERY_TOKENS]


def encoder_input(query_ids: Sequence[int], tools: Sequence[Sequence[int]]) -> list[int]:
    """``query <|tools|> tool...`` from already tokenised parts. Tools that would push the
    input past :data:`MAX_INPUT_TOKENS` are cut evenly (each keeps its start)."""
    budget = MAX_INPUT_TOKENS - len(query_ids) - 1
    total = sum(len(t) for t in tools)
    if total > budget and tools:
        per_tool = max(2, budget // len(tools))
        tools = [t[:per_tool] for t in tools]
    out = list(query_ids) + [TOOLS_ID]
    for t in tools:
        out.extend(t)
    return out[:MAX_INPUT_TOKENS]
