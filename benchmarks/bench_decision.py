"""What the query-tool match in the no-call decision costs per route, against one bias.

A decision that weighs the match embeds each query with the retrieval head and scores it with
BM25 before decoding; a constant bias does neither. The baseline routes each query with a
constant bias equal to the offset the match gives that query, so both modes decide alike and
write the same answers: the difference is the match's own cost. Both run in the same process on
the same weights, tools and queries, one route at a time (`route_sync`), in alternating rounds
so that the machine's drift hits both alike. Prints p50 / p95 latency per mode, the ratio and
the mean output tokens (equal when the answers are).

    python benchmarks/bench_decision.py [--model DIR] [--tools examples/tools.py] [--rounds 5]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import jax
import numpy as np

from needle_router import NeedleRouter
from needle_router.decision import NoCallDecision
from needle_router.tools import load_tools_file

ROOT = Path(__file__).resolve().parents[1]
QUERIES = [
    "Send an email to bob@example.com saying hi",
    "What's the weather in Paris in celsius?",
    "Convert 20 USD to EUR",
    "remind me to call mom tomorrow at 9",
    "tell me a joke",
    "how tall is the eiffel tower",
    "search the web for jax tutorials",
    "set a timer for ten minutes",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="weights directory (default: the shipped weights)")
    ap.add_argument("--tools", default=str(ROOT / "examples" / "tools.py"))
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds over the queries per mode")
    args = ap.parse_args()

    router = NeedleRouter(load_tools_file(args.tools), model=args.model)
    stored = router.engine.decision
    if not stored.uses_match:
        raise SystemExit(f"{router.model_label}: its decision weighs no query-tool match; calibrate it first")
    constant = {}
    for q in QUERIES:                               # the offset the match gives each query
        cosine, bm25 = router.tool_match(q)
        constant[q] = NoCallDecision(stored.bias + stored.dense * cosine + stored.lexical * bm25)
    modes = {"match (stored)": lambda q: stored, "the same offsets, constant": lambda q: constant[q]}
    times: dict[str, list[float]] = {m: [] for m in modes}
    tokens: dict[str, list[int]] = {m: [] for m in modes}
    router.warmup()
    for rounds, timed in ((1, False), (args.rounds, True)):   # one untimed round compiles everything
        for _ in range(rounds):
            for mode, decision_for in modes.items():
                for q in QUERIES:
                    router.engine.decision = decision_for(q)
                    t = time.perf_counter()
                    result = router.route_sync(q)
                    if timed:
                        times[mode].append((time.perf_counter() - t) * 1000)
                        tokens[mode].append(result.usage.output_tokens)
    router.engine.decision = stored
    print(f"{platform.processor() or platform.machine()}, {jax.default_backend()}, {router.model_label}, "
          f"{len(router.specs)} tools, {len(QUERIES)} queries x {args.rounds} rounds per mode")
    print()
    print("| decision | routes | p50 ms | p95 ms | vs constant (p50) | mean output tokens |")
    print("|---|---|---|---|---|---|")
    base = float(np.median(times["the same offsets, constant"]))
    for mode, ms in times.items():
        p50, p95 = float(np.median(ms)), float(np.percentile(ms, 95))
        print(f"| {mode} | {len(ms)} | {p50:.1f} | {p95:.1f} | {p50 / base:.2f}x | {np.mean(tokens[mode]):.1f} |")


if __name__ == "__main__":
    main()
