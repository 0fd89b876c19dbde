"""Check the evaluation registries: every ``<registry>/queries.jsonl`` against its ``tools.py``.

    python examples/registries/check.py            # every registry folder next to this file
    python examples/registries/check.py travel     # only some of them (folder names or paths)

A registry folder holds ``tools.py`` (``TOOLS = [...]``), ``queries.jsonl`` (one
``{"query": ..., "calls": [{"name": ..., "arguments": {...}}]}`` per line; ``"calls": []`` for a
query no tool can answer) and a ``README.md``. The queries are hand-written, held-out evaluation
data: never train on them.

Checked for each registry:

* the tools load (``load_tools_file``) and convert (``to_tool_specs``); 8-12 tools, each with a
  description and a description for every top-level parameter;
* every line is a JSON object with exactly ``query`` (a non-empty string) and ``calls`` (a list of
  ``{"name", "arguments"}`` objects); no blank lines;
* every called tool exists, its arguments validate (``fill_defaults=False``) and the validated
  arguments equal the written ones with the same JSON types (an integer for a ``number``
  parameter is the only accepted difference), so nothing was silently coerced;
* every free-text string argument (one whose schema has no ``enum``) appears in the query,
  ignoring case, so a router can copy it;
* no query appears twice (ignoring case and spacing), no call repeats within a query;
* at least 60 queries, every tool the answer to at least 3 of them;
* the ``README.md`` states the current counts ("12 tools, 77 queries", "55 single-call",
  "11 parallel", "11 no-call").

Prints a summary table (tools, queries, single / parallel / no-call) and, when anything is wrong,
one ``file:line: problem`` per problem, then exits with status 1.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGISTRIES_DIR = Path(__file__).resolve().parent
_REPO_ROOT = REGISTRIES_DIR.parent.parent
if str(_REPO_ROOT) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(_REPO_ROOT))

from needle_router.tools import load_tools_file  # noqa: E402
from needle_router.tools.errors import ToolSpecError  # noqa: E402
from needle_router.tools.from_schema import to_tool_specs  # noqa: E402

MIN_TOOLS, MAX_TOOLS = 8, 12
MIN_QUERIES = 60
MIN_QUERIES_PER_TOOL = 3


@dataclass
class RegistryReport:
    """What :func:`check_registry` found for one registry folder."""

    name: str
    tools: int = 0
    queries: int = 0
    single: int = 0
    parallel: int = 0
    no_call: int = 0
    coverage: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def registry_dirs(root: Path = REGISTRIES_DIR) -> list[Path]:
    """The registry folders under ``root``: subfolders holding a ``tools.py``, sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "tools.py").is_file())


# -------------------------------------------------------------------------------- values


def _same_json(written: Any, validated: Any) -> bool:
    """Equal values of the same JSON types (an int may have become an equal float)."""
    if isinstance(written, bool) or isinstance(validated, bool):
        return type(written) is type(validated) and written == validated
    if isinstance(written, int) and isinstance(validated, float):
        return float(written) == validated
    if isinstance(written, Mapping):
        return (
            isinstance(validated, Mapping)
            and set(written) == set(validated)
            and all(_same_json(written[k], validated[k]) for k in written)
        )
    if isinstance(written, list):
        return (
            isinstance(validated, list)
            and len(written) == len(validated)
            and all(_same_json(w, v) for w, v in zip(written, validated))
        )
    return type(written) is type(validated) and written == validated


def _free_strings(value: Any, schema: Mapping[str, Any], path: str) -> list[tuple[str, str]]:
    """(path, string) for every string in ``value`` whose schema node is not an enum."""
    if isinstance(value, str):
        branches = schema.get("anyOf") or [schema]
        if any(isinstance(b, Mapping) and value in (b.get("enum") or ()) for b in branches):
            return []
        return [(path, value)]
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        out = []
        for key, item in value.items():
            out += _free_strings(item, props.get(key) or {}, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list):
        items = schema.get("items") or {}
        out = []
        for i, item in enumerate(value):
            out += _free_strings(item, items, f"{path}[{i}]")
        return out
    return []


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


# ------------------------------------------------------------------------------- checking


def _tool_problems(specs: Sequence[Any], tools_file: str) -> list[str]:
    problems = []
    if not MIN_TOOLS <= len(specs) <= MAX_TOOLS:
        problems.append(f"{tools_file}:1: {len(specs)} tools, expected {MIN_TOOLS} to {MAX_TOOLS}")
    for spec in specs:
        line = _def_line(spec)
        if not spec.description:
            problems.append(f"{tools_file}:{line}: tool {spec.name!r} has no description")
        for pname, pschema in spec.parameters.get("properties", {}).items():
            if not pschema.get("description"):
                problems.append(f"{tools_file}:{line}: tool {spec.name!r}: parameter {pname!r} has no description")
    return problems


def _def_line(spec: Any) -> int:
    try:
        return inspect.getsourcelines(spec.func)[1]
    except (OSError, TypeError):
        return 1


def _check_line(
    raw: str, where: str, specs: Mapping[str, Any], seen: dict[str, str], report: RegistryReport
) -> None:
    problems = report.problems
    if not raw.strip():
        problems.append(f"{where}: blank line")
        return
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})")
        return
    if not isinstance(record, dict):
        problems.append(f"{where}: expected a JSON object, got {type(record).__name__}")
        return
    if set(record) != {"query", "calls"}:
        problems.append(f"{where}: keys must be exactly 'query' and 'calls', got {sorted(record)}")
    query, calls = record.get("query"), record.get("calls")
    if not isinstance(query, str) or not query.strip():
        problems.append(f"{where}: 'query' must be a non-empty string")
        query = None
    elif query != query.strip():
        problems.append(f"{where}: query has leading or trailing whitespace")
    if not isinstance(calls, list):
        problems.append(f"{where}: 'calls' must be a list")
        return
    report.queries += 1
    if len(calls) == 0:
        report.no_call += 1
    elif len(calls) == 1:
        report.single += 1
    else:
        report.parallel += 1
    if query is not None:
        key = _normalised(query)
        if key in seen:
            problems.append(f"{where}: duplicate query (first at line {seen[key]})")
        else:
            seen[key] = where.rsplit(":", 1)[1]

    called: set[str] = set()
    seen_calls: set[str] = set()
    for i, call in enumerate(calls):
        at = f"{where}: calls[{i}]"
        if not isinstance(call, dict) or set(call) != {"name", "arguments"}:
            problems.append(f"{at}: must be an object with exactly 'name' and 'arguments'")
            continue
        name, arguments = call["name"], call["arguments"]
        if not isinstance(arguments, dict):
            problems.append(f"{at}: 'arguments' must be an object")
            continue
        spec = specs.get(name) if isinstance(name, str) else None
        if spec is None:
            problems.append(f"{at}: unknown tool {name!r}")
            continue
        called.add(name)
        fingerprint = json.dumps(call, sort_keys=True)
        if fingerprint in seen_calls:
            problems.append(f"{at}: the same call appears twice in this query")
        seen_calls.add(fingerprint)
        if query is not None:
            folded = _normalised(query)
            for path, text in _free_strings(arguments, spec.parameters, ""):
                if _normalised(text) not in folded:
                    problems.append(f"{at}: {name}.{path} = {text!r} does not appear in the query")
        try:
            validated = spec.validate_arguments(arguments, fill_defaults=False)
        except ToolSpecError as exc:
            problems.append(f"{at}: {exc}")
            continue
        if not _same_json(arguments, validated):
            wrote, got = (json.dumps(a, ensure_ascii=False) for a in (arguments, validated))
            problems.append(f"{at}: {name} arguments change when validated: wrote {wrote}, validated {got}")
    for name in called:
        report.coverage[name] += 1


def check_registry(folder: str | os.PathLike) -> RegistryReport:
    """Check one registry folder; the report's ``problems`` are ``file:line: problem`` strings."""
    folder = Path(folder)
    report = RegistryReport(name=folder.name)
    tools_path, queries_path = folder / "tools.py", folder / "queries.jsonl"
    tools_file, queries_file = _shown(tools_path), _shown(queries_path)
    for required in (tools_path, queries_path, folder / "README.md"):
        if not required.is_file():
            report.problems.append(f"{_shown(required)}:0: missing")
    if not (tools_path.is_file() and queries_path.is_file()):
        return report
    try:
        specs = to_tool_specs(load_tools_file(tools_path))
    except Exception as exc:  # ToolsFileError, ToolSpecError, or the module's own error
        report.problems.append(f"{tools_file}:1: cannot load the tools: {exc}")
        return report
    report.tools = len(specs)
    report.problems += _tool_problems(specs, tools_file)
    by_name = {spec.name: spec for spec in specs}
    report.coverage = {spec.name: 0 for spec in specs}

    seen: dict[str, str] = {}
    text = queries_path.read_text(encoding="utf-8")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        _check_line(raw, f"{queries_file}:{lineno}", by_name, seen, report)
    if text and not text.endswith("\n"):
        report.problems.append(f"{queries_file}:{text.count(chr(10)) + 1}: no newline at the end of the file")
    readme = folder / "README.md"
    if readme.is_file():
        text = " ".join(readme.read_text(encoding="utf-8").split())
        for counts in (
            f"{report.tools} tools, {report.queries} queries",
            f"{report.single} single-call",
            f"{report.parallel} parallel",
            f"{report.no_call} no-call",
        ):
            if counts not in text:
                report.problems.append(f"{_shown(readme)}:0: counts out of date, expected the text {counts!r}")
    if report.queries < MIN_QUERIES:
        report.problems.append(f"{queries_file}:0: {report.queries} queries, expected at least {MIN_QUERIES}")
    for spec in specs:
        count = report.coverage[spec.name]
        if count < MIN_QUERIES_PER_TOOL:
            report.problems.append(
                f"{tools_file}:{_def_line(spec)}: tool {spec.name!r} answers {count} queries, "
                f"expected at least {MIN_QUERIES_PER_TOOL}"
            )
    return report


def check_all(folders: Sequence[str | os.PathLike] | None = None) -> list[RegistryReport]:
    """Reports for the given registry folders (default: every one next to this file)."""
    paths = [Path(f) for f in folders] if folders else registry_dirs()
    return [check_registry(p) for p in paths]


def summary_table(reports: Sequence[RegistryReport]) -> str:
    """The per-registry counts as a plain-text table."""
    header = ("registry", "tools", "queries", "single", "parallel", "no-call", "problems")
    rows = [header] + [
        (r.name, r.tools, r.queries, r.single, r.parallel, r.no_call, len(r.problems)) for r in reports
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folders = [a if Path(a).is_dir() else REGISTRIES_DIR / a for a in args]
    reports = check_all(folders or None)
    if not reports:
        print(f"no registry folders found under {_shown(REGISTRIES_DIR)}", file=sys.stderr)
        return 1
    print(summary_table(reports))
    problems = [p for r in reports for p in r.problems]
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    print("\nall registries OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
