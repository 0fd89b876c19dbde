"""Routing each clause of a multi-request query on its own: what it gives and costs.

Accuracy, with the router's clause routing off and on (``NeedleRouter(split_clauses=...)``), on
the dining development registry's 60 hand-written queries (its own fine-tuned folder with
``--model DIR``, else the shipped weights) and on training-split queries of the data engine
(its own seed, never the held-out set). Speed: the dining queries routed one at a time, off
(the baseline) and on, in the same process, rounds interleaved; multi-clause queries apart.

    python benchmarks/bench_clauses.py                      # shipped weights
    python benchmarks/bench_clauses.py --model runs/dining --n 0

Prints one table per part.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "trainer"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench_retrieval import tuning_examples  # noqa: E402
from needle_router import NeedleRouter  # noqa: E402
from needle_router.clauses import request_clauses, tool_verbs  # noqa: E402
from needle_router.engine import get_engine  # noqa: E402
from needle_router.tools import load_tools_file, to_tool_specs  # noqa: E402
from needle_trainer.evaluation.run import evaluate_model  # noqa: E402
from needle_trainer.evaluation.suites import from_examples  # noqa: E402

DINING = ROOT / "trainer" / "dev_registries" / "dining"


def dining_examples() -> list[dict]:
    tools = [s.to_openai() for s in to_tool_specs(load_tools_file(DINING / "tools.py"))]
    rows = [json.loads(line) for line in (DINING / "queries.jsonl").read_text().splitlines() if line.strip()]
    return [{"query": r["query"], "tools": tools, "calls": r["calls"]} for r in rows]


def accuracy_table(engine, suites: dict[str, list[dict]]) -> Table:
    table = Table(title="clause routing off -> on: accuracy")
    for col in ("queries", "n", "exact %", "parallel exact %", "tool name F1", "argument accuracy"):
        table.add_column(col, justify="right")
    for name, examples in suites.items():
        cases = from_examples(examples, name + "_")
        off, on = (evaluate_model(engine, cases, name, split_clauses=s, recall_k=0) for s in (False, True))

        def pair(key: str, category: str = "all") -> str:
            a, b = (r["metrics"].get(category, {}).get(key) for r in (off, on))
            return "-" if a is None else f"{a:.1f} -> {b:.1f}"

        table.add_row(name, str(len(cases)), f"{off['overall']['accuracy']:.1f} -> {on['overall']['accuracy']:.1f}",
                      pair("exact_match", "parallel"), pair("tool_name_f1"), pair("argument_accuracy"))
    return table


def speed_table(engine, rounds: int) -> Table:
    tools = load_tools_file(DINING / "tools.py")
    queries = [ex["query"] for ex in dining_examples()]
    verbs = tool_verbs(s.name for s in to_tool_specs(tools))
    several = {q for q in queries if request_clauses(q, verbs)}
    routers = {"off (baseline)": NeedleRouter(tools, model=engine, split_clauses=False, batch_wait_ms=0),
               "on (default)": NeedleRouter(tools, model=engine, batch_wait_ms=0)}
    for router in routers.values():                  # compile every shape the queries use
        for q in queries:
            router.route_sync(q)
    times: dict[str, dict[bool, list[float]]] = {name: {True: [], False: []} for name in routers}
    for _ in range(rounds):
        for name, router in routers.items():
            for q in queries:
                t0 = time.perf_counter()
                router.route_sync(q)
                times[name][q in several].append((time.perf_counter() - t0) * 1000)
    table = Table(title=f"routing {len(queries)} queries one at a time ({len(several)} with several clauses), "
                        f"{len(tools)} tools, {rounds} rounds")
    for col in ("clause routing", "p50 ms, one clause", "p50 ms, several", "p90 ms, several", "all, vs baseline"):
        table.add_column(col, justify="right")
    base = sum(sum(v) for v in times["off (baseline)"].values())
    for name, by_kind in times.items():
        multi = sorted(by_kind[True])
        table.add_row(name, f"{statistics.median(by_kind[False]):.1f}", f"{statistics.median(multi):.1f}",
                      f"{multi[int(0.9 * (len(multi) - 1))]:.1f}", f"{sum(sum(v) for v in by_kind.values()) / base:.2f}x")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="weights dir or preset (default: the shipped weights)")
    ap.add_argument("--n", type=int, default=400, help="training-split queries (0: none)")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds over the dining queries (0: no timing)")
    args = ap.parse_args()
    engine = get_engine(args.model)
    console = Console(width=150)
    if args.rounds:
        console.print(speed_table(engine, args.rounds))
    suites = {"dining hand-written": dining_examples()}
    if args.n:
        suites["training-split"] = tuning_examples(args.n)
    console.print(accuracy_table(engine, suites))


if __name__ == "__main__":
    main()
