"""Spaces a model leaves around copied text values are trimmed when its answer is parsed, only
in free text (an enum, pattern or format value is kept byte for byte)."""

from __future__ import annotations

import json

from needle_router.decoding.calls import target_tokens
from needle_router.decoding.whitespace import strip_free_text
from needle_router.router import parse_answer
from needle_router.tokenizer import default_tokenizer
from needle_router.tools import to_tool_specs

TICKET = {
    "name": "assign_ticket",
    "description": "Assign a support ticket.",
    "parameters": {
        "type": "object",
        "properties": {
            "assignee": {"type": "string"},
            "queue": {"type": "string", "enum": [" tier 1", "tier 2"]},
            "ticket_id": {"type": "string", "pattern": "^ ?[A-Z]+-[0-9]+$"},
            "due": {"type": "string", "format": "date"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["assignee"],
    },
}


def _parse(arguments: dict) -> dict:
    spec = to_tool_specs([TICKET])[0]
    tokenizer = default_tokenizer()
    text = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    calls, errors = parse_answer(target_tokens(tokenizer, [(spec.internal_name, text)]), [spec],
                                 tokenizer.vocab_bytes())
    assert not errors
    return calls[0].arguments


def test_copied_values_lose_their_surrounding_spaces():
    args = _parse({"assignee": " Huy Trí Dương", "note": "call back \n", "items": [{"sku": " OGI-7535"}],
                   "labels": {"team": " billing "}})
    assert args == {"assignee": "Huy Trí Dương", "note": "call back", "items": [{"sku": "OGI-7535"}],
                    "labels": {"team": "billing"}}


def test_exact_values_and_blank_text_are_kept():
    args = _parse({"assignee": "   ", "queue": " tier 1", "ticket_id": " CZC-30944"})
    assert args == {"assignee": "   ", "queue": " tier 1", "ticket_id": " CZC-30944"}
    assert strip_free_text(" 2025-07-14", {"type": "string", "format": "date"}) == " 2025-07-14"


def test_values_of_other_types_pass_through():
    schema = TICKET["parameters"]
    assert strip_free_text({"assignee": 3, "items": "x", "unknown": " y "}, schema) == {
        "assignee": 3, "items": "x", "unknown": " y "}
    assert strip_free_text([" a "], {"type": "array", "items": {"type": "string"}}) == ["a"]
    assert strip_free_text(" a ", {"anyOf": [{"type": "string"}, {"type": "string", "enum": [" a "]}]}) == " a "
