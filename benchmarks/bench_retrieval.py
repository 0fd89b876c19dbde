"""Shortlist recall@5 among 100 bound tools: the retrieval head, BM25, and their fusion.

The router sums z-scores (``needle_router.lexical.fuse``) and takes each tool's best such score
over the whole query and its clauses (``needle_router.clauses``, ``fuse_clauses``); the fusion of
the whole query alone and reciprocal-rank fusion are measured beside it. Weights are chosen on
*training-split* tools (the data engine's train split, its own seed) and then reported on the
held-out set (tools never seen in training), so the held-out number is not tuned on:

    python benchmarks/bench_retrieval.py                     # shipped weights
    python benchmarks/bench_retrieval.py --model DIR --n 300

Prints one table: recall@5 per method on each set; then what BM25 and the clauses' embeddings
add per query, beside the whole query's embedding (the baseline every route pays).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trainer"))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from needle_router.clauses import clauses  # noqa: E402
from needle_router.engine import get_engine  # noqa: E402
from needle_router.lexical import LEXICAL_WEIGHT, LexicalIndex, tool_terms  # noqa: E402
from needle_router.render import query_tokens  # noqa: E402
from needle_router.tools import to_tool_specs  # noqa: E402
from needle_trainer.data.generate import ExampleMaker  # noqa: E402
from needle_trainer.data.heldout import HELDOUT_CONFIG, heldout_examples  # noqa: E402
from needle_trainer.evaluation.retrieval import recall_at_k, tool_name  # noqa: E402
from needle_trainer.evaluation.suites import from_examples  # noqa: E402

TUNING_SEED = 4242          # not a training seed, not the held-out seed
WEIGHTS = (0.5, 1.0, 2.0)               # BM25's weight in the router's z-score sum


def reciprocal_rank_fusion(dense: np.ndarray, lexical: np.ndarray, k: float, weight: float) -> np.ndarray:
    """1/(k + rank by the head) + weight/(k + rank by BM25); tied scores share their best rank."""
    def ranks(x: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.sort(-x), -x, side="left")
    return 1.0 / (k + ranks(dense)) + weight / (k + ranks(lexical))


RANKERS = {f"RRF k={k:g} w={w:g}": (lambda d, l, k=k, w=w: reciprocal_rank_fusion(d, l, k, w))
           for k, w in ((3, 1.5), (8, 2.0), (15, 3.0))}


def tuning_examples(n: int) -> list[dict]:
    maker = ExampleMaker(HELDOUT_CONFIG, use_harvest=False)
    return maker.make_chunk(TUNING_SEED, "train", 0, n)


def bm25_ms_per_query(cases, pool: int = 100) -> float:
    unique = {tool_name(t): t for c in cases for t in c.tools}
    specs = to_tool_specs(list(unique.values())[:pool])
    index = LexicalIndex([tool_terms(s) for s in specs])
    t0 = time.perf_counter()
    for c in cases:
        index.scores(c.query)
    return (time.perf_counter() - t0) * 1000 / max(len(cases), 1)


def clause_ms_per_query(engine, cases, repeats: int = 3) -> tuple[float, float, float]:
    """Mean ms per query to embed the whole query (one at a time, as a lone route does) and
    to split and embed its clauses; and the share of queries that have clauses. Best of
    ``repeats`` after a warm-up pass (compilation excluded)."""
    texts = [c.query for c in cases]
    ids = [query_tokens(engine.tokenizer, t) for t in texts]
    for t, i in zip(texts, ids):   # warm-up: compile every shape
        engine.embed([i])
        engine.clause_embeddings([t])
    whole = clause = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in ids:
            engine.embed([i])
        t1 = time.perf_counter()
        for t in texts:
            engine.clause_embeddings([t])
        t2 = time.perf_counter()
        whole, clause = min(whole, t1 - t0), min(clause, t2 - t1)
    share = 100.0 * sum(bool(clauses(t)) for t in texts) / max(len(texts), 1)
    return 1000 * whole / len(texts), 1000 * clause / len(texts), share


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="weights directory or preset (default: shipped weights)")
    ap.add_argument("--n", type=int, default=500, help="examples per set (300 with calls are scored)")
    args = ap.parse_args()
    engine = get_engine(args.model)
    sets = {"training-split (tuning)": from_examples(tuning_examples(args.n), "tune_"),
            "held-out": from_examples(heldout_examples(args.n), "heldout_")}
    results = {label: recall_at_k(engine, cases, lexical_weights=tuple(dict.fromkeys((LEXICAL_WEIGHT, *WEIGHTS))),
                                  rankers=RANKERS) for label, cases in sets.items()}
    rows: list[tuple[str, str]] = [("queries", "queries"), ("recall_head", "head alone"), ("recall_lexical", "BM25 alone")]
    rows += [(f"whole:{w}", f"whole query, z-sum w={w:g}") for w in WEIGHTS]
    rows += [(f"clauses:{w}", f"clauses, z-sum w={w:g}" + (" (router)" if w == LEXICAL_WEIGHT else "")) for w in WEIGHTS]
    rows += [(f"ranker:{n}", f"whole query, {n}") for n in RANKERS]
    rows += [("queries_several_tools", "2+ tools: queries"),
             ("recall_several_tools_whole", f"2+ tools: whole query, w={LEXICAL_WEIGHT:g}"),
             ("recall_several_tools", f"2+ tools: clauses, w={LEXICAL_WEIGHT:g} (router)")]

    def cell(r: dict, key: str) -> str:
        kind, _, arg = key.partition(":")
        value = {"whole": lambda: r["recall_whole_by_weight"][float(arg)],
                 "clauses": lambda: r["recall_by_weight"][float(arg)],
                 "ranker": lambda: r["recall_by_ranker"][arg]}.get(kind, lambda: r[key])()
        return str(value) if isinstance(value, int) else f"{value:.1f}"

    table = Table(title=f"recall@5 among 100 tools ({engine.config.name})")
    for col in ("ranking", *results):
        table.add_column(col, justify="right")
    for key, label in rows:
        table.add_row(label, *(cell(r, key) for r in results.values()))
    console = Console(width=120)
    console.print(table)
    ms = bm25_ms_per_query(sets["held-out"])
    whole_ms, clause_ms, share = clause_ms_per_query(engine, sets["held-out"])
    console.print(f"router's ranking: clauses z-sum, LEXICAL_WEIGHT = {LEXICAL_WEIGHT:g}; BM25 over 100 tools adds "
                  f"{ms:.2f} ms per query (numpy, this machine); embedding the clauses adds {clause_ms:.2f} ms "
                  f"per query ({share:.0f}% of held-out queries have clauses) beside {whole_ms:.2f} ms for "
                  f"the whole query's embedding")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
