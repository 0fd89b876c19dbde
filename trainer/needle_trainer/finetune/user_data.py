"""The user's own examples (JSONL), checked line by line against their registry.

Two line formats are accepted:

* ours: ``{"query": str, "calls": [{"name", "arguments"}], "tools": [...] (optional)}``;
* the original Needle project's: ``{"query": str, "tools": "<JSON string of a tool list>",
  "answers": "<JSON string of a list of {name, arguments}>"}``.

A bad line (not JSON, a missing or mistyped key, a call to a tool the registry lacks, arguments
that do not fit the tool's schema) becomes a problem string ``FILE:LINE: what is wrong`` and is
skipped: one typo in a thousand hand-written lines should cost that line, not the run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from needle_router.tools import ToolSpec
from needle_router.tools.errors import ToolSpecError
from needle_trainer.data.validate import Rejected, check_object


class BadLine(ValueError):
    """Why one line cannot be used (the message is the problem text, without FILE:LINE)."""


def _decode_json_field(line: dict[str, Any], key: str) -> Any:
    value = line[key]
    if isinstance(value, str):                 # the Needle format nests JSON in a string
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise BadLine(f'"{key}" is a string but not valid JSON ({exc.msg} at char {exc.pos})') from None
    return value


def _calls_of(line: dict[str, Any]) -> list[Any]:
    if "calls" in line:
        calls = _decode_json_field(line, "calls")
    elif "answers" in line:
        calls = _decode_json_field(line, "answers")
    else:
        raise BadLine('missing key "calls" (or "answers" in the Needle format)')
    if not isinstance(calls, list):
        raise BadLine(f'"calls"/"answers" must be a list of {{"name", "arguments"}}, got {type(calls).__name__}')
    return calls


def _check_tools_field(line: dict[str, Any]) -> None:
    if "tools" not in line or line["tools"] is None:
        return
    tools = _decode_json_field(line, "tools")
    if not isinstance(tools, list):
        raise BadLine(f'"tools" must be a list of tools, got {type(tools).__name__}')


def _check_call(i: int, call: Any, registry: dict[str, ToolSpec]) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise BadLine(f"call {i + 1} must be an object with \"name\" and \"arguments\", got {type(call).__name__}")
    name = call.get("name")
    if not isinstance(name, str):
        raise BadLine(f'call {i + 1} has no "name" string')
    spec = registry.get(name)
    if spec is None:
        known = ", ".join(sorted(registry)) or "none"
        raise BadLine(f"call {i + 1}: unknown tool {name!r} (tool {name}; the registry has: {known})")
    args = call.get("arguments", {})
    if isinstance(args, str):                  # some exports stringify arguments too
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            raise BadLine(f"call {i + 1} (tool {name}): \"arguments\" is a string but not valid JSON") from None
    if not isinstance(args, dict):
        raise BadLine(f'call {i + 1} (tool {name}): "arguments" must be an object, got {type(args).__name__}')
    try:                                       # strict JSON types: "5" is not an integer
        check_object(args, {**spec.parameters, "additionalProperties": False}, name)
    except Rejected as exc:
        detail = str(exc)[len(exc.reason) + 2:]            # "tool.param.sub should be integer, got str"
        path = detail.split(" ")[0].split("=")[0]
        param = path.split(".", 1)[1] if "." in path else path
        raise BadLine(f"call {i + 1} (tool {name}, parameter {param}): {exc.reason.removeprefix('schema: ')}"
                      f" ({detail})") from None
    try:                                       # the tool's own rules: patterns, formats, bounds
        spec.validate_arguments(args, fill_defaults=False)
    except ToolSpecError as exc:
        raise BadLine(f"call {i + 1} (tool {name}, parameter {exc.parameter}): {exc.reason}") from None
    return {"name": name, "arguments": args}


def parse_user_line(raw: str, registry: dict[str, ToolSpec]) -> dict[str, Any]:
    """One line -> ``{"query", "calls"}`` (raises :class:`BadLine` saying what is wrong)."""
    try:
        line = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(line, dict):
        raise BadLine(f"expected a JSON object, got {type(line).__name__}")
    query = line.get("query")
    if "query" not in line:
        raise BadLine('missing key "query"')
    if not isinstance(query, str) or not query.strip():
        raise BadLine('"query" must be a non-empty string')
    calls = _calls_of(line)
    _check_tools_field(line)
    checked = [_check_call(i, c, registry) for i, c in enumerate(calls)]
    signatures = [json.dumps(c, sort_keys=True) for c in checked]
    if len(set(signatures)) < len(signatures):
        raise BadLine("the same call appears twice")
    return {"query": query.strip(), "calls": checked}


def load_user_examples(path: str | os.PathLike, specs: Sequence[ToolSpec]) -> tuple[list[dict[str, Any]], list[str]]:
    """(examples, problems) from a user's JSONL file, in our example format with ``tools`` = the
    whole registry; every bad line is a problem ``"FILE:LINE: what is wrong"`` and is skipped.
    Raises only :class:`FileNotFoundError` (no such file)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"user examples file not found: {file} (expected a JSONL file, one example per line)")
    registry: dict[str, ToolSpec] = {}
    for spec in specs:
        registry[spec.name] = spec
    for spec in specs:                         # the model's internal names are accepted too
        registry.setdefault(spec.internal_name, spec)
    tools = [s.to_openai() for s in specs]
    examples: list[dict[str, Any]] = []
    problems: list[str] = []
    with open(file, encoding="utf-8", errors="replace") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                parsed = parse_user_line(raw, registry)
            except BadLine as exc:
                problems.append(f"{file}:{lineno}: {exc}")
                continue
            calls = [{"name": registry[c["name"]].name, "arguments": c["arguments"]} for c in parsed["calls"]]
            examples.append({"query": parsed["query"], "tools": list(tools), "calls": calls,
                             "meta": {"kind": _kind(calls), "source": "user", "line": lineno, "exempt": []}})
    return examples, problems


def _kind(calls: list[dict[str, Any]]) -> str:
    return "no_call" if not calls else "single" if len(calls) == 1 else "parallel"
