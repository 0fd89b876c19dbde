"""Evaluation suites: the held-out synthetic set, BFCL, or any JSONL file of examples.

Every suite becomes a list of :class:`Case`: a query, its tool set, a category and what is
expected (our examples' calls, or a BFCL entry scored by BFCL's checker).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from needle_trainer.evaluation import bfcl

SUITES = ("heldout", "bfcl")


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    query: str
    tools: list[Any]
    calls: list[dict[str, Any]]  # expected calls (for BFCL: a reference answer, for reports)
    bfcl: bfcl.Entry | None = None

    def item(self) -> dict[str, Any]:
        return {"query": self.query, "tools": self.tools}


def category_of(example: dict[str, Any]) -> str:
    """An example's category: its own ``category``, else the data engine's kind, else the
    shape of its answer (no call / single / parallel)."""
    if isinstance(example.get("category"), str):
        return example["category"]
    meta = example.get("meta") or {}
    if meta.get("kind") == "no_call":
        return f"no_call/{meta['no_call']}" if meta.get("no_call") else "no_call"
    if meta.get("kind"):
        return str(meta["kind"])
    calls = example.get("calls") or []
    return "no_call" if not calls else "single" if len(calls) == 1 else "parallel"


def _limited(cases: list[Case], categories: Sequence[str] | None, limit: int | None) -> list[Case]:
    if categories:
        known = sorted({c.category for c in cases})
        unknown = [c for c in categories if c not in known]
        if unknown:
            raise ValueError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
                             f"(this suite has: {', '.join(known)})")
        cases = [c for c in cases if c.category in categories]
    if limit is not None:
        seen: dict[str, int] = {}
        kept = []
        for c in cases:
            seen[c.category] = seen.get(c.category, 0) + 1
            if seen[c.category] <= limit:
                kept.append(c)
        cases = kept
    return cases


def from_examples(examples: Sequence[dict[str, Any]], prefix: str) -> list[Case]:
    return [Case(f"{prefix}{i}", category_of(ex), ex["query"], ex["tools"], list(ex["calls"]))
            for i, ex in enumerate(examples)]


def load_suite(suite: str, categories: Sequence[str] | None = None, limit: int | None = None,
               heldout_n: int = 500) -> tuple[str, list[Case]]:
    """(suite label, cases). ``suite``: "heldout", "bfcl" or a path to a JSONL file;
    ``limit``: at most this many cases per category."""
    if suite == "bfcl":
        cats = list(categories) if categories else list(bfcl.CATEGORIES)
        entries = bfcl.load(cats, limit)
        return "bfcl", [Case(e.id, e.category, e.query, e.functions, bfcl.reference_answer(e), e) for e in entries]
    if suite == "heldout":
        from needle_trainer.data.heldout import HELDOUT_SEED, heldout_examples

        cases = from_examples(heldout_examples(heldout_n), "heldout_")
        return f"heldout (seed {HELDOUT_SEED}, {heldout_n} examples)", _limited(cases, categories, limit)
    path = Path(os.path.expanduser(suite))
    if not path.exists():
        raise FileNotFoundError(f"--suite {suite}: not 'heldout' or 'bfcl', and no such file")
    from needle_trainer.data.jsonl import read_examples

    cases = from_examples(list(read_examples(path)), f"{path.name}:")
    return str(path), _limited(cases, categories, limit)
