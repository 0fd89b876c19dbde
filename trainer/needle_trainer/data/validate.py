"""Reject examples whose calls do not fit their tools or whose values the query does not hold.

Checks, each with a reason string for the rejected-example counter:

* every call names a tool of the example, and its arguments validate against that tool's schema
  (required keys, no unknown keys, types, enums, bounds, nested objects and arrays);
* **grounding**: every string value in a call appears verbatim in the query, except enum values,
  and values whose path is listed in ``meta["exempt"]`` (a number, date, time, enum or boolean
  said in other words, or a value fixed by the template's wording: :data:`.values.EXEMPTIONS`);
* the query is non-empty, tool names are unique and no call is repeated verbatim.

Deduplication uses :func:`dedupe_key`: lowercase, punctuation and extra spaces removed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


class Rejected(ValueError):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def dedupe_key(query: str) -> str:
    text = unicodedata.normalize("NFKC", query).lower()
    return " ".join(_PUNCT.sub(" ", text).split())


def check_value(value: Any, schema: Mapping[str, Any], path: str) -> None:
    """Raise :class:`Rejected` when ``value`` does not fit the (clean) JSON Schema node."""
    if "anyOf" in schema:
        for member in schema["anyOf"]:
            try:
                check_value(value, member, path)
                return
            except Rejected:
                pass
        raise Rejected("schema: type", f"{path} matches no alternative")
    if "enum" in schema:
        if value not in schema["enum"] or isinstance(value, bool) != any(isinstance(e, bool) for e in schema["enum"]):
            raise Rejected("schema: enum", f"{path}={value!r}")
        return
    kind = schema.get("type")
    ok = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "null": lambda v: v is None,
    }.get(kind, lambda v: True)
    if not ok(value):
        raise Rejected("schema: type", f"{path} should be {kind}, got {type(value).__name__}")
    if kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"] or "maximum" in schema and value > schema["maximum"]:
            raise Rejected("schema: bounds", f"{path}={value}")
    elif kind == "array":
        for i, item in enumerate(value):
            check_value(item, schema.get("items") or {}, f"{path}[{i}]")
    elif kind == "object":
        check_object(value, schema, path)


def check_object(value: Mapping[str, Any], schema: Mapping[str, Any], path: str) -> None:
    props = schema.get("properties") or {}
    for key in schema.get("required", []):
        if key not in value:
            raise Rejected("schema: missing required", f"{path}.{key}")
    extra = schema.get("additionalProperties", not props)
    for key, item in value.items():
        if key in props:
            check_value(item, props[key], f"{path}.{key}")
        elif extra is False:
            raise Rejected("schema: unknown key", f"{path}.{key}")
        elif isinstance(extra, Mapping):
            check_value(item, extra, f"{path}.{key}")


def _string_leaves(value: Any, schema: Mapping[str, Any] | None, path: tuple):
    """(path, string, is enum) for every string in a value."""
    schema = schema or {}
    if isinstance(value, str):
        yield path, value, "enum" in schema
    elif isinstance(value, list):
        for item in value:
            yield from _string_leaves(item, schema.get("items"), path)
    elif isinstance(value, Mapping):
        props = schema.get("properties") or {}
        for k, v in value.items():
            yield from _string_leaves(v, props.get(k), path + (k,))


def validate_example(example: Mapping[str, Any]) -> None:
    """Raise :class:`Rejected` (with a reason) unless the example is valid and grounded."""
    query = example.get("query")
    if not isinstance(query, str) or not query.strip():
        raise Rejected("empty query")
    tools: dict[str, Mapping[str, Any]] = {}
    for tool in example.get("tools", []):
        fn = tool.get("function", tool)
        if fn["name"] in tools:
            raise Rejected("duplicate tool name", fn["name"])
        tools[fn["name"]] = fn.get("parameters") or {"type": "object", "properties": {}}
    exempt = {tuple(p) for p in (example.get("meta") or {}).get("exempt", [])}
    signatures = [json.dumps([c["name"], c.get("arguments", {})], sort_keys=True) for c in example.get("calls", [])]
    if len(set(signatures)) < len(signatures):
        raise Rejected("duplicate call")
    for i, call in enumerate(example.get("calls", [])):
        params = tools.get(call["name"])
        if params is None:
            raise Rejected("call to a tool not in the list", call["name"])
        args = call.get("arguments", {})
        check_object(args, {**params, "additionalProperties": False}, call["name"])
        for path, text, is_enum in _string_leaves(args, params, ()):
            if is_enum or (i, *path) in exempt:
                continue
            if text not in query:
                raise Rejected("ungrounded value", f"{call['name']}.{'.'.join(path)}={text!r}")
