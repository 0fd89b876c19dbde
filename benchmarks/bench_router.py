"""Routing throughput and latency of NeedleRouter under concurrent callers, against one-at-a-time.

For each level of concurrency (default 1, 8 and 64 callers) asyncio tasks call
``await router.route(q)`` in a loop until ``--requests`` routes are done between them; each
request's latency is timed from submit to result. The baseline, in the same run, routes the
same queries one at a time through a router with ``max_batch=1`` (sequential ``route_sync``).
Every batch size and encoder-length bucket the run can use is compiled before timing, and
each level first runs an untimed warm-up round.

Prints: mode | callers | requests | routes/s | p50 ms | p99 ms | speedup vs baseline | mean
batch size (from the micro-batcher's counters) | mean output tokens. Weights from a preset are
random: by default every route passes ``require_call=True`` so that the answer is a call (a
random model otherwise answers "no call" in 2 tokens) and runs long, towards the token budget;
keep ``--max-new-tokens`` fixed and compare the output tokens column between runs.

    python benchmarks/bench_router.py [--preset needle-26m] [--requests 64] [--callers 1,8,64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np

from needle_router import NeedleRouter
from needle_router.engine import Request
from needle_router.model.decode import BATCH_BUCKETS, LENGTH_BUCKETS, _bucket
from needle_router.render import MAX_QUERY_TOKENS, encoder_input
from needle_router.tools import load_tools_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_tools import make_queries  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TOOLS = ROOT / "examples" / "tools.py"


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def machine_line() -> str:
    dev = jax.devices()[0]
    cpu = platform.processor() or platform.machine()
    return (f"machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
            f"jax {jax.__version__} on {jax.default_backend()} ({dev.device_kind})")


def compile_buckets(router: NeedleRouter, queries: list[str], max_batch: int, require_call: bool = False) -> int:
    """Run one batch of every (batch bucket <= max_batch) x (encoder length bucket the queries
    reach) through the engine directly, so no timed request pays for an XLA compile.
    Returns how many batches were run."""
    engine, binding = router.engine, router._binding
    by_length: dict[int, list[int]] = {}
    for q in queries:
        ids = engine.tokenizer.encode(q)[:MAX_QUERY_TOKENS]
        if len(binding.specs) <= binding.top_k:  # every tool is shown: the input length is known
            length = len(encoder_input(ids, binding.tool_tokens))
            key = _bucket(length, LENGTH_BUCKETS, "encoder input length")
        else:  # retrieval picks the tools: the length depends on which; bucket by query length
            key = _bucket(len(ids), LENGTH_BUCKETS, "query length")
        by_length.setdefault(key, ids)
    runs = 0
    for ids in by_length.values():
        for b in BATCH_BUCKETS:
            if b > max_batch:
                break
            engine.run_batch(binding.constrained, [Request(binding, ids, None, require_call)] * b)
            runs += 1
    return runs


async def _run_level(router: NeedleRouter, queries: list[str], callers: int, requests: int, require_call: bool):
    """``callers`` tasks share ``requests`` routes; returns (wall s, latencies s, output tokens)."""
    next_index = 0
    latencies: list[float] = []
    out_tokens: list[int] = []

    async def caller() -> None:
        nonlocal next_index
        while next_index < requests:
            i = next_index
            next_index += 1
            t = time.perf_counter()
            result = await router.route(queries[i % len(queries)], require_call=require_call)
            latencies.append(time.perf_counter() - t)
            out_tokens.append(result.usage.output_tokens)

    t0 = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return time.perf_counter() - t0, np.asarray(latencies), out_tokens


def _baseline(router: NeedleRouter, queries: list[str], requests: int, require_call: bool):
    latencies, out_tokens = [], []
    t0 = time.perf_counter()
    for i in range(requests):
        t = time.perf_counter()
        result = router.route_sync(queries[i % len(queries)], require_call=require_call)
        latencies.append(time.perf_counter() - t)
        out_tokens.append(result.usage.output_tokens)
    return time.perf_counter() - t0, np.asarray(latencies), out_tokens


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--preset", default=None, help="model preset (random weights); default needle-26m")
    src.add_argument("--model", default=None, help="weights directory instead of a preset")
    ap.add_argument("--tools", default=str(DEFAULT_TOOLS), help="tools file (.py with TOOLS, .json, .yaml)")
    ap.add_argument("--requests", type=int, default=64, help="timed routes per concurrency level")
    ap.add_argument("--callers", type=_ints, default=[1, 8, 64], help="concurrency levels, e.g. 1,8,64")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--max-batch", type=int, default=32, help="the batched router's max_batch")
    ap.add_argument("--batch-wait-ms", type=float, default=2.0)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed routes per level before timing it (default: 2 x callers; the "
                         "baseline gets 2); every batch/length bucket is compiled first regardless")
    ap.add_argument("--require-call", action=argparse.BooleanOptionalAction, default=True,
                    help="route with require_call=True (default), so that random weights answer with a "
                         "call, as a trained model mostly would, not with a 2-token 'no call'")
    ap.add_argument("--seed", type=int, default=0, help="seed of the synthetic queries")
    args = ap.parse_args(argv)
    model = args.model or args.preset or "needle-26m"

    tools = load_tools_file(args.tools)
    queries = make_queries(max(args.requests, 32), seed=args.seed)
    common = dict(top_k=args.top_k, max_new_tokens=args.max_new_tokens, batch_wait_ms=args.batch_wait_ms)
    baseline_router = NeedleRouter(tools, model, max_batch=1, **common)
    router = NeedleRouter(tools, model, max_batch=args.max_batch, **common)
    batcher = router.engine.batcher

    print(machine_line())
    print(f"model: {router.model_label}")
    print(f"tools: {len(tools)} from {args.tools}; top_k {args.top_k}; max_new_tokens {args.max_new_tokens}; "
          f"max_batch {args.max_batch}; batch_wait_ms {args.batch_wait_ms}; require_call {args.require_call}; "
          f"{args.requests} requests per level")

    t = time.perf_counter()
    runs = compile_buckets(router, queries, min(max(max(args.callers), 1), args.max_batch), args.require_call)
    print(f"warm-up: compiled {runs} batch/length buckets in {time.perf_counter() - t:.1f} s")

    rows = []

    # Baseline: the same queries one at a time, nothing batched.
    for i in range(2 if args.warmup is None else args.warmup):
        baseline_router.route_sync(queries[i % len(queries)], require_call=args.require_call)
    b0 = batcher.batches_run
    wall, lat, out = _baseline(baseline_router, queries, args.requests, args.require_call)
    base_rps = args.requests / wall
    rows.append(dict(mode="baseline (max_batch=1, sequential)", callers=1, requests=args.requests, rps=base_rps,
                     p50=1e3 * np.percentile(lat, 50), p99=1e3 * np.percentile(lat, 99),
                     speedup=1.0, batch=args.requests / max(1, batcher.batches_run - b0),
                     out=float(np.mean(out))))

    async def levels() -> None:
        for callers in args.callers:
            warm = 2 * callers if args.warmup is None else args.warmup
            if warm:
                await _run_level(router, queries, callers, warm, args.require_call)
            b0 = batcher.batches_run
            wall, lat, out = await _run_level(router, queries, callers, args.requests, args.require_call)
            rps = args.requests / wall
            rows.append(dict(mode="batched", callers=callers, requests=args.requests, rps=rps,
                             p50=1e3 * np.percentile(lat, 50), p99=1e3 * np.percentile(lat, 99),
                             speedup=rps / base_rps, batch=args.requests / max(1, batcher.batches_run - b0),
                             out=float(np.mean(out))))

    asyncio.run(levels())

    print()
    print("| mode | callers | requests | routes/s | p50 ms | p99 ms | speedup vs baseline | mean batch size "
          "| mean output tokens |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['callers']} | {r['requests']} | {r['rps']:,.1f} | {r['p50']:.1f} | "
              f"{r['p99']:.1f} | {r['speedup']:.2f}x | {r['batch']:.1f} | {r['out']:.1f} |")
    return rows


if __name__ == "__main__":
    main()
