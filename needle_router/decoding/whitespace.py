"""Trim the spaces a small model leaves around copied text values.

A value copied from the query often starts with the query's word-initial piece ("▁Huy"), so
the answer says ``"assignee": " Huy Trí Dương"``. No tool wants that space, and the grammar
cannot rule it out without rewriting every string state, so the parsed arguments are trimmed:
only free text (a string schema without ``enum``, ``pattern`` or ``format``, whose exact bytes
the grammar already fixed), and never down to an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_EXACT = ("enum", "pattern", "format")


def is_free_text(schema: Mapping[str, Any]) -> bool:
    """A string the grammar leaves free: no ``enum``, ``pattern`` or ``format`` (``anyOf``: every string branch)."""
    if "anyOf" in schema:
        strings = [s for s in schema["anyOf"] if s.get("type") == "string" or isinstance(s.get("enum"), list)]
        return bool(strings) and all(is_free_text(s) for s in strings)
    return schema.get("type") == "string" and not any(k in schema for k in _EXACT)


def _branch(schema: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The schema node describing a value of JSON ``kind`` (object / array) here, if any."""
    for node in schema.get("anyOf", [schema]):
        if node.get("type") == kind:
            return node
    return None


def strip_free_text(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` with surrounding whitespace removed from its free-text strings, at any depth."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped if stripped and stripped != value and is_free_text(schema) else value
    if isinstance(value, dict):
        node = _branch(schema, "object")
        if node is None:
            return value
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        out = {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, Mapping) else None)
            out[key] = item if sub is None else strip_free_text(item, sub)
        return out
    if isinstance(value, list):
        node = _branch(schema, "array")
        items = node.get("items") if node is not None else None
        return value if not isinstance(items, Mapping) else [strip_free_text(v, items) for v in value]
    return value
