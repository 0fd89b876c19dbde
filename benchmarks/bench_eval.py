"""How long `needle-router eval --suite bfcl` takes, batched vs one request at a time.

Untrained weights mostly answer "no call" in two tokens, which would time only the encoder.
To time answers as long as a trained model's, every request here must call a tool and gets
a token budget equal to its BFCL reference answer's length: the grammar's length guard ends
each answer exactly there (irrelevance entries answer "no call", as a right model would).

    python benchmarks/bench_eval.py                      # all 1,240 entries, needle-26m
    python benchmarks/bench_eval.py --model needle-tiny --subset 3 --no-full

On a subset, each max_batch runs twice: cold (compiling its shapes) and warm; the baseline is
max_batch 1 with one request in flight. Then the whole suite runs once the way `eval` runs it.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trainer"))

import jax  # noqa: E402

from needle_router.decoding import arguments_json, target_tokens  # noqa: E402
from needle_router.engine import get_engine  # noqa: E402
from needle_router.model.decode import compile_count  # noqa: E402
from needle_router.tools import assign_internal_names, to_tool_specs  # noqa: E402
from needle_router.tools.errors import ToolSpecError  # noqa: E402
from needle_trainer.evaluation import bfcl  # noqa: E402
from needle_trainer.evaluation.routing import default_batch, predict  # noqa: E402


def timed_items(entries, tokenizer):
    """Items whose budget is the reference answer's length in tokens (EOS included)."""
    items = []
    for e in entries:
        item = {"query": e.query, "tools": e.functions}
        if e.ground_truth is not None:
            try:
                specs = {s.name: s for s in assign_internal_names(to_tool_specs(e.functions))}
                ids = target_tokens(tokenizer, [(specs[c["name"]].internal_name,
                                                 arguments_json(c["arguments"], specs[c["name"]].parameters))
                                                for c in bfcl.reference_answer(e)])
            except (ToolSpecError, KeyError):
                continue
            item.update(max_new_tokens=max(16, len(ids)), require_call=True)
        items.append(item)
    return items


def run(engine, items, **kwargs):
    c0, t0 = compile_count(), time.perf_counter()
    preds = predict(engine, items, **kwargs)
    wall = time.perf_counter() - t0
    return wall, compile_count() - c0, sum(p.output_tokens for p in preds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="weights dir or preset (default: the shipped weights)")
    ap.add_argument("--limit", type=int, default=None, help="entries per category for the full run (default: all)")
    ap.add_argument("--subset", type=int, default=20, help="entries per category for the batch-size comparison")
    ap.add_argument("--batches", default="1,4,16", help="max_batch values compared on the subset")
    ap.add_argument("--batch", type=int, default=None, help="max_batch of the full run (default: eval's)")
    ap.add_argument("--no-full", action="store_true", help="skip the full run")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    engine = get_engine(args.model)
    subset = timed_items(bfcl.load(limit=args.subset), engine.tokenizer)
    print(f"machine: {platform.machine()}, {len(jax.devices())} {jax.default_backend()} device(s), "
          f"jax {jax.__version__}; model: {engine.loaded.label}")
    print("answer lengths = the reference answers' (irrelevance: no call)\n")
    print("| run | entries | mean answer tokens | max_batch | cold s (compiles) | warm s | warm entries/s | warm vs max_batch 1 |")
    print("|---|---|---|---|---|---|---|---|")
    mean_len = sum(i.get("max_new_tokens", 2) for i in subset) / len(subset)
    base = None
    for b in [int(x) for x in args.batches.split(",")]:
        cold, compiles, _ = run(engine, subset, max_batch=b, in_flight=1 if b == 1 else 64)
        warm, _, _ = run(engine, subset, max_batch=b, in_flight=1 if b == 1 else 64)
        base = base or warm
        print(f"| subset ({args.subset} per category) | {len(subset)} | {mean_len:.1f} | {b} | {cold:.1f} ({compiles}) | "
              f"{warm:.1f} | {len(subset) / warm:.2f} | {base / warm:.2f}x |", flush=True)
    if not args.no_full:
        items = timed_items(bfcl.load(limit=args.limit), engine.tokenizer)
        mean_full = sum(i.get("max_new_tokens", 2) for i in items) / len(items)
        wall, compiles, _ = run(engine, items, max_batch=args.batch)
        print(f"| whole suite, as `eval` runs it | {len(items)} | {mean_full:.1f} | {args.batch or default_batch()} | "
              f"{wall:.1f} ({compiles}, after the subset runs' compiles) | - | {len(items) / wall:.2f} | - |")
        print("\ngoal: the whole suite in < 600 s on the 2-core CPU")


if __name__ == "__main__":
    main()
