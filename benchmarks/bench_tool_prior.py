"""The tool prior: what adding the query's retrieval match to each tool name's logits gives and costs.

Accuracy: exact match and tool-name F1 at several prior weights on *training-split* queries (the
data engine's train split, its own seed, never the held-out set), which is where the router's
default weight (``needle_router.engine.TOOL_PRIOR_WEIGHT``) was chosen. Speed: routing a
10-tool registry's queries one at a time, with the prior off (the baseline) and at the default
weight, in the same process, rounds interleaved.

    python benchmarks/bench_tool_prior.py                 # shipped weights, 400 queries
    python benchmarks/bench_tool_prior.py --model DIR --n 200 --weights 0,3

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
from needle_router.engine import TOOL_PRIOR_WEIGHT, get_engine  # noqa: E402
from needle_router.tools import load_tools_file  # noqa: E402
from needle_trainer.evaluation.run import evaluate_model  # noqa: E402
from needle_trainer.evaluation.suites import from_examples  # noqa: E402

SPEED_REGISTRY = ROOT / "trainer" / "dev_registries" / "dining"


def accuracy_table(engine, n: int, weights: list[float]) -> Table:
    cases = from_examples(tuning_examples(n), "tune_")
    table = Table(title=f"training-split queries ({len(cases)}): prior weight -> accuracy")
    for col in ("weight", "exact %", "single %", "tool name F1", "argument accuracy"):
        table.add_column(col, justify="right")
    for w in weights:
        report = evaluate_model(engine, cases, "tuning", tool_prior=w, recall_k=0)
        every = report["metrics"]["all"]
        table.add_row(f"{w:g}" + (" (default)" if w == TOOL_PRIOR_WEIGHT else ""), f"{report['overall']['accuracy']:.1f}",
                      f"{report['metrics']['single']['exact_match']:.1f}", f"{every['tool_name_f1']:.1f}",
                      f"{every['argument_accuracy']:.1f}")
    return table


def speed_table(engine, rounds: int) -> Table:
    tools = load_tools_file(SPEED_REGISTRY / "tools.py")
    queries = [json.loads(line)["query"] for line in (SPEED_REGISTRY / "queries.jsonl").read_text().splitlines()]
    routers = {"off (baseline)": NeedleRouter(tools, model=engine, tool_prior=0.0, batch_wait_ms=0),
               f"weight {TOOL_PRIOR_WEIGHT:g}": NeedleRouter(tools, model=engine, batch_wait_ms=0)}
    for router in routers.values():                  # compile every shape the queries use
        for q in queries:
            router.route_sync(q)
    times: dict[str, list[float]] = {name: [] for name in routers}
    for _ in range(rounds):
        for name, router in routers.items():
            for q in queries:
                t0 = time.perf_counter()
                router.route_sync(q)
                times[name].append((time.perf_counter() - t0) * 1000)
    table = Table(title=f"routing {len(queries)} queries one at a time, {len(tools)} tools, {rounds} rounds")
    for col in ("prior", "p50 ms", "p90 ms", "vs baseline p50"):
        table.add_column(col, justify="right")
    base = statistics.median(times["off (baseline)"])
    for name, ms in times.items():
        ms = sorted(ms)
        p50, p90 = statistics.median(ms), ms[int(0.9 * (len(ms) - 1))]
        table.add_row(name, f"{p50:.1f}", f"{p90:.1f}", f"{p50 / base:.2f}x")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="weights dir or preset (default: the shipped weights)")
    ap.add_argument("--n", type=int, default=400, help="training-split queries for the accuracy sweep")
    ap.add_argument("--weights", default="0,1,2,3,4,6", help="prior weights to sweep")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds over the registry's queries")
    args = ap.parse_args()
    engine = get_engine(args.model)
    console = Console()
    console.print(speed_table(engine, args.rounds))
    if args.n:
        console.print(accuracy_table(engine, args.n, [float(w) for w in args.weights.split(",")]))


if __name__ == "__main__":
    main()
