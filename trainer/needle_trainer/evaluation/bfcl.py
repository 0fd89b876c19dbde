"""The Berkeley Function Calling Leaderboard, offline, scored by BFCL's own AST checker.

Data and checker come from the PyPI package ``bfcl-eval`` (install it with ``--no-deps``: its
declared dependencies pin an old numpy and pull in API clients and torch that the checker does
not use). The checker module imports the leaderboard's model registry, which imports every
vendor's client; :func:`checker` puts a stand-in registry in its place first, so scoring needs
no API keys, no network and none of those packages. The stand-in answers the one question the
checker asks of a model (does it rename ``a.b`` tools to ``a_b``?): no, Needle keeps names.
"""

from __future__ import annotations

import functools
import json
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
MODEL_NAME = "needle-router"
INSTALL_HINT = 'pip install --no-deps "bfcl-eval==2026.3.23"'


class BfclMissing(RuntimeError):
    """bfcl-eval is not installed."""


def _package_dir() -> Path:
    try:
        import bfcl_eval
    except ImportError:
        raise BfclMissing(f"the BFCL suite needs the bfcl-eval package: {INSTALL_HINT}") from None
    return Path(bfcl_eval.__file__).parent


class _Registry(dict):
    """Stand-in for ``bfcl_eval.constants.model_config.MODEL_CONFIG_MAPPING``."""

    def __missing__(self, name: str) -> Any:
        return types.SimpleNamespace(model_name=name, underscore_to_dot=False, is_fc_model=True)


@functools.lru_cache(maxsize=1)
def checker() -> Any:
    """BFCL's ``ast_checker`` function, imported without the model registry."""
    _package_dir()
    name = "bfcl_eval.constants.model_config"
    real = sys.modules.get(name)
    if real is None:
        stub = types.ModuleType(name)
        stub.MODEL_CONFIG_MAPPING = _Registry()  # type: ignore[attr-defined]
        sys.modules[name] = stub
    from bfcl_eval.eval_checker.ast_eval import ast_checker as module

    return module.ast_checker


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    query: str
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, Any]] | None  # None for irrelevance: the answer is no call


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _user_text(question: Any) -> str:
    """The (single-turn) user request: the last user message of the first turn."""
    turn = question[0]
    users = [m["content"] for m in turn if m.get("role") == "user"]
    return users[-1] if users else turn[-1]["content"]


def load(categories: Sequence[str] = CATEGORIES, limit: int | None = None) -> list[Entry]:
    """BFCL entries of ``categories`` in file order (the first ``limit`` of each)."""
    root = _package_dir() / "data"
    entries: list[Entry] = []
    for cat in categories:
        if cat not in CATEGORIES:
            raise ValueError(f"unknown BFCL category {cat!r} (choose from {', '.join(CATEGORIES)})")
        rows = _read_jsonl(root / f"BFCL_v4_{cat}.json")[:limit]
        answers: dict[str, Any] = {}
        if cat != "irrelevance":
            answers = {a["id"]: a["ground_truth"] for a in _read_jsonl(root / "possible_answer" / f"BFCL_v4_{cat}.json")}
        for row in rows:
            entries.append(Entry(row["id"], cat, _user_text(row["question"]), row["function"],
                                 answers.get(row["id"]) if cat != "irrelevance" else None))
    return entries


def to_bfcl_output(calls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Router calls -> BFCL's decoded-AST form ``[{name: {param: value}}]``."""
    return [{c["name"]: dict(c.get("arguments") or {})} for c in calls]


def score(entry: Entry, calls: Sequence[Mapping[str, Any]]) -> tuple[bool, str]:
    """(passed, BFCL's error text) for our calls on one entry, as the leaderboard scores it:
    irrelevance passes when there is no call; the others go through BFCL's AST checker."""
    output = to_bfcl_output(calls)
    if entry.ground_truth is None:
        return (not output, "" if not output else "called a tool where none applies")
    from bfcl_eval.constants.enums import Language

    result = checker()(entry.functions, output, entry.ground_truth, Language.PYTHON, entry.category, MODEL_NAME)
    return bool(result["valid"]), "; ".join(map(str, result.get("error", [])))


def reference_answer(entry: Entry) -> list[dict[str, Any]]:
    """A correct answer built from the ground truth (the first accepted value of each argument;
    optional ones left out): what a perfect router returns. Used to test the scoring."""
    if entry.ground_truth is None:
        return []
    calls = []
    for call in entry.ground_truth:
        (name, params), = call.items()
        args = {k: v[0] for k, v in params.items() if v and v[0] != ""}
        calls.append({"name": name, "arguments": args})
    return calls
