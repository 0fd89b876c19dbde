"""Queries for tools that come without authored templates (generic and harvested tools).

The query is built from the tool's name (its verb and object words) and, per argument, a phrase
made from the parameter's name or description around the value's text. It reads less naturally
than the catalogue's templates; its job is to make the model read parameter names and
descriptions and copy values, for any tool.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from needle_trainer.data.values import Filled, ValueMaker

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

PREFIXES = ("", "", "", "please ", "can you ", "could you ", "i need to ", "help me ", "hey, ",
            "i want to ", "go ahead and ", "quickly ", "would you ")
SUFFIXES = ("", "", "", " please", "?", " thanks", ".", " asap", " for me")
VERB_SAY = {
    "get": ("get", "show me", "look up", "fetch", "pull up", "find"),
    "list": ("list", "show all", "give me the", "list out"),
    "create": ("create", "add", "make", "set up", "open"),
    "update": ("update", "change", "edit", "modify"),
    "delete": ("delete", "remove", "get rid of", "drop"),
    "send": ("send", "fire off", "deliver"),
    "search": ("search", "search for", "find", "look for"),
    "calculate": ("calculate", "compute", "work out", "figure out"),
    "check": ("check", "verify", "validate"),
    "schedule": ("schedule", "book", "plan"),
    "cancel": ("cancel", "call off", "stop"),
    "export": ("export", "download", "save out"),
    "convert": ("convert", "change", "turn"),
    "describe": ("describe", "show details of", "give me details on"),
}


def words(identifier: str) -> str:
    """``getUserProfile`` / ``get_user-profile`` / ``a.b`` -> ``get user profile`` / ``a b``."""
    text = _CAMEL.sub(" ", identifier.split(".")[-1] if "." in identifier else identifier)
    return " ".join(re.split(r"[\s_\-./]+", text)).lower().strip()


def verb_phrase(name: str, rng: random.Random) -> str:
    parts = words(name).split()
    if not parts:
        return "run"
    head, rest = parts[0], " ".join(parts[1:])
    say = rng.choice(VERB_SAY.get(head, (head,)))
    if not rest:
        return say
    article = rng.choice(("", "the ", "a ", "")) if head in ("create", "add", "make") else rng.choice(("", "the "))
    return f"{say} {article}{rest}".replace("  ", " ")


def parameter_phrase(name: str, node: Mapping[str, Any], filled: Filled, rng: random.Random,
                     first: bool) -> str:
    """Words that introduce one argument's value."""
    label = words(name)
    desc = (node.get("description") or "").strip().rstrip(".")
    short_desc = desc[0].lower() + desc[1:] if desc and len(desc) < 48 else ""
    value = filled.text
    options = [f"{label} {value}", f"with {label} {value}", f"{label}: {value}", f"{label} = {value}",
               f"where {label} is {value}", f"{label} set to {value}"]
    if short_desc:
        options += [f"{short_desc} {value}", f"with {short_desc} {value}"]
    if first and node.get("type") == "string":
        options += [f"for {value}", f"{value}", f"on {value}"]
    if node.get("type") == "boolean" or "enum" in node:
        options += [f"{label} {value}", f"{value}"]
    return rng.choice(options)


def request_parts(name: str, schema: Mapping[str, Any], values: ValueMaker,
                  optional_rate: float = 0.4) -> tuple[list[tuple[str, bool]], dict[str, Any], set[tuple[str, ...]]]:
    """A query (as (text, is_value) parts), the call's arguments and the argument paths whose text
    is not a verbatim copy (exempt from grounding)."""
    rng = values.rng
    props = schema.get("properties") or {}
    required = set(schema.get("required", []))
    chosen = [k for k in props if k in required or rng.random() < optional_rate]
    rng.shuffle(chosen)
    parts: list[tuple[str, bool]] = [(rng.choice(PREFIXES) + verb_phrase(name, rng), False)]
    arguments: dict[str, Any] = {}
    exempt: set[tuple[str, ...]] = set()
    for i, key in enumerate(chosen):
        node = props[key]
        if node.get("type") == "object":
            continue
        filled = values.value(node)
        phrase = parameter_phrase(key, node, filled, rng, first=i == 0)
        at = phrase.rfind(filled.text) if filled.text else -1
        joiner = rng.choice((" ", " ", ", ", " and ")) if i else " "
        if at < 0:
            parts.append((joiner + phrase, False))
        else:
            parts += [(joiner + phrase[:at], False), (filled.text, True), (phrase[at + len(filled.text):], False)]
        arguments[key] = filled.value
        if filled.exempt:
            exempt.add((key,))
    missing = [k for k in props if k in required and k not in arguments]
    if missing:                       # a required object we skipped: fill its fields
        for key in missing:
            node = props[key]
            sub = {}
            for field, fnode in (node.get("properties") or {}).items():
                if field in node.get("required", []) or rng.random() < optional_rate:
                    filled = values.value(fnode)
                    parts += [(f" {words(key)} {words(field)} ", False), (filled.text, True)]
                    sub[field] = filled.value
                    if filled.exempt:
                        exempt.add((key, field))
            arguments[key] = sub
    parts.append((rng.choice(SUFFIXES), False))
    return parts, arguments, exempt
