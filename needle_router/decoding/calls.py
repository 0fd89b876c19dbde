"""The decoder's output format (version 1) and its parser.

An answer is a sequence of symbols ending with EOS::

    <|no_call|>                                          no tool applies
    <|call|>get_weather{"location":"Paris"}              one call
    <|call|>a{...}<|call|>b{...}                         parallel calls

A call is the tool's internal name followed by its arguments as compact JSON (no spaces,
UTF-8 kept, ``\\uXXXX`` only where JSON requires it) with keys in the order the tool's schema
lists them, nested objects included. The fixed order is what lets the grammar check
"required keys present, no duplicates" with a plain automaton; training targets are written
by :func:`target_text` so the model learns that same order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from needle_router.tokenizer import NeedleTokenizer
from needle_router.tokenizer.specials import CALL_ID, EOS_ID, NO_CALL_ID

OUTPUT_FORMAT_VERSION = 1


class OutputParseError(ValueError):
    """The decoder's text is not a well-formed answer (only possible without the grammar)."""


@dataclass(frozen=True)
class RawCall:
    """One decoded call before validation: internal tool name and JSON-decoded arguments."""

    internal_name: str
    arguments: dict[str, Any]


def order_like_schema(value: Any, schema: Mapping[str, Any] | None) -> Any:
    """``value`` with every object's keys in its schema's property order (unknown keys last)."""
    if schema is None:
        return value
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {k: order_like_schema(value[k], props[k]) for k in props if k in value}
        for k, v in value.items():
            if k not in out:
                out[k] = order_like_schema(v, extra if isinstance(extra, Mapping) else None)
        return out
    if isinstance(value, list):
        return [order_like_schema(v, schema.get("items")) for v in value]
    return value


def arguments_json(arguments: Mapping[str, Any], parameters: Mapping[str, Any]) -> str:
    """Compact JSON of a call's arguments, keys in schema order."""
    ordered = order_like_schema(dict(arguments), parameters)
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def target_text(calls: Sequence[tuple[str, str]]) -> list[str | int]:
    """The answer as pieces: special ids and text, from (internal name, arguments JSON) pairs."""
    if not calls:
        return [NO_CALL_ID, EOS_ID]
    out: list[str | int] = []
    for name, args in calls:
        out += [CALL_ID, name + args]
    return out + [EOS_ID]


def target_tokens(tokenizer: NeedleTokenizer, calls: Sequence[tuple[str, str]]) -> list[int]:
    """Decoder target ids (without the BOS start token) for (internal name, arguments JSON) pairs."""
    ids: list[int] = []
    for piece in target_text(calls):
        ids.extend([piece] if isinstance(piece, int) else tokenizer.encode(piece))
    return ids


def split_calls(tokens: Sequence[int], vocab_bytes: Sequence[bytes]) -> tuple[bool, list[bytes]]:
    """(said "no call", the raw bytes of each call) from generated ids (EOS already removed)."""
    calls: list[bytearray] = []
    no_call = False
    for tok in tokens:
        if tok == CALL_ID:
            calls.append(bytearray())
        elif tok == NO_CALL_ID:
            no_call = True
        elif calls:
            calls[-1] += vocab_bytes[tok]
        elif vocab_bytes[tok]:
            raise OutputParseError("text before the first <|call|>")
    return no_call, [bytes(c) for c in calls]


def parse_call(raw: bytes) -> RawCall:
    """``name{...json...}`` -> RawCall; raises OutputParseError when malformed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OutputParseError(f"call is not valid UTF-8: {exc}") from None
    brace = text.find("{")
    if brace <= 0:
        raise OutputParseError(f"call {text[:60]!r} has no tool name followed by '{{'")
    try:
        args = json.loads(text[brace:])
    except json.JSONDecodeError as exc:
        raise OutputParseError(f"arguments of {text[:brace]!r} are not JSON: {exc}") from None
    if not isinstance(args, dict):
        raise OutputParseError(f"arguments of {text[:brace]!r} are not a JSON object")
    return RawCall(text[:brace], args)
