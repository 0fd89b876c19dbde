"""Retrieval recall@k: does the router's shortlist hold the expected tools in its top k when a
query's right tools sit among ``pool`` tools (DESIGN.md: recall@5 with 100 tools bound)?

Reported on the same draws: the retrieval head alone, BM25 alone, their fusion over the whole
query, and the ranking the router uses (that fusion's best over the whole query and its clauses,
:func:`needle_router.lexical.fuse_clauses`), plus any other rankers a benchmark passes.
Distractors are tools of the suite's other examples (deterministic draw), shuffled among the
expected tools so that tied scores favour neither. Each tool is embedded once, rendered exactly
as the router renders it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from needle_router.engine import Engine
from needle_router.lexical import LEXICAL_WEIGHT, LexicalIndex, clause_rows, fuse, fuse_clauses, tool_terms
from needle_router.render import query_tokens, tool_tokens
from needle_router.tools import assign_internal_names, to_tool_specs
from needle_router.tools.errors import ToolSpecError
from needle_trainer.evaluation.suites import Case

DISTRACTOR_UNIVERSE = 400  # distinct tools drawn from; keeps embedding cost bounded


def tool_name(tool: Any) -> str | None:
    """A tool's name in any of the accepted forms (OpenAI dict, bare schema, callable)."""
    if isinstance(tool, dict):
        fn = tool.get("function", tool)
        return fn.get("name") if isinstance(fn, dict) else None
    return getattr(tool, "__name__", None)


def recall_at_k(engine: Engine, cases: Sequence[Case], k: int = 5, pool: int = 100, seed: int = 0,
                max_queries: int = 300, lexical_weights: Sequence[float] = (LEXICAL_WEIGHT,),
                rankers: Mapping[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] | None = None,
                ) -> dict[str, Any] | None:
    """Mean fraction of expected tools in the top ``k`` of ``pool`` candidates, over cases
    with calls (at most ``max_queries``); None when the suite has no such cases. ``recall`` is
    the router's fused ranking (at the first of ``lexical_weights``), ``recall_head`` the
    retrieval head alone, ``recall_lexical`` BM25 alone, ``recall_by_weight`` every weight,
    ``recall_by_ranker`` each of ``rankers`` (name -> f(head scores, BM25 scores))."""
    rankers = dict(rankers or {})
    rng = random.Random(seed)
    tools: dict[str, Any] = {}
    for c in cases:
        for t in c.tools:
            name = tool_name(t)
            if name and name not in tools:
                tools[name] = t
    with_calls = [c for c in cases if c.calls][:max_queries]
    if not with_calls or len(tools) < 2:
        return None
    universe = list(tools)
    rng.shuffle(universe)
    universe = universe[:DISTRACTOR_UNIVERSE]
    tok = engine.tokenizer
    needed = dict.fromkeys(universe)
    for c in with_calls:
        needed.update(dict.fromkeys(call["name"] for call in c.calls))
    names, rendered, words = [], [], {}
    for name in needed:
        try:
            (spec,) = assign_internal_names(to_tool_specs([tools[name]]))
        except (ToolSpecError, KeyError):
            continue
        names.append(name)
        rendered.append(tool_tokens(tok, spec))
        words[name] = tool_terms(spec)
    emb = dict(zip(names, engine.embed(rendered)))
    queries = engine.embed([query_tokens(tok, c.query) for c in with_calls])
    parts = engine.clause_embeddings([c.query for c in with_calls])
    hits: dict[str | float, list[float]] = {"head": [], "lexical": [], **{w: [] for w in lexical_weights},
                                            **{f"whole:{w}": [] for w in lexical_weights},
                                            **{f"ranker:{n}": [] for n in rankers}}
    several: list[bool] = []   # the query needs two or more tools
    for c, q, (texts, clause_embeddings) in zip(with_calls, queries, parts):
        expected = [n for n in dict.fromkeys(call["name"] for call in c.calls) if n in emb]
        if not expected:
            continue
        others = [n for n in universe if n in emb and n not in expected]
        candidates = expected + rng.sample(others, min(len(others), pool - len(expected)))
        rng.shuffle(candidates)
        dense_rows, lexical_rows = clause_rows(q, clause_embeddings, np.stack([emb[n] for n in candidates]),
                                               LexicalIndex([words[n] for n in candidates]), (c.query, *texts))
        dense, lexical = dense_rows[0], lexical_rows[0]
        ranked = {"head": dense, "lexical": lexical,
                  **{w: fuse_clauses(dense_rows, lexical_rows, w) for w in lexical_weights},
                  **{f"whole:{w}": fuse(dense, lexical, w) for w in lexical_weights},
                  **{f"ranker:{n}": f(dense, lexical) for n, f in rankers.items()}}
        for method, scores in ranked.items():
            top = {candidates[i] for i in np.argsort(-scores, kind="stable")[:k]}
            hits[method].append(sum(n in top for n in expected) / len(expected))
        several.append(len(expected) > 1)
    if not hits["head"]:
        return None
    pct = {m: 100.0 * float(np.mean(v)) for m, v in hits.items()}
    mask = np.array(several)
    multi = {m: 100.0 * float(np.mean(np.array(v)[mask])) if mask.any() else None for m, v in hits.items()}
    return {"k": k, "pool": pool, "queries": len(hits["head"]), "recall": pct[lexical_weights[0]],
            "lexical_weight": lexical_weights[0], "recall_head": pct["head"], "recall_lexical": pct["lexical"],
            "recall_by_weight": {w: pct[w] for w in lexical_weights},
            "recall_whole_by_weight": {w: pct[f"whole:{w}"] for w in lexical_weights},
            "queries_several_tools": int(mask.sum()), "recall_several_tools": multi[lexical_weights[0]],
            "recall_several_tools_whole": multi[f"whole:{lexical_weights[0]}"],
            "recall_by_ranker": {n: pct[f"ranker:{n}"] for n in rankers}}
