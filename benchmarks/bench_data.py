"""Data engine throughput: examples/s per core for generation + validation + tokenization.

    python benchmarks/bench_data.py [--examples 4000] [--warm-chunks 40] [--workers 2]

Stages are measured in one process after a warm-up (caches of tool specs and token ids fill
during the first chunks of a long stream; a training run lives in the warm regime), then the
multi-process stream is timed with ``--workers`` processes. Tokens per example and the packing
efficiency (share of non-pad tokens, packed vs one example per row) are printed too.

The baseline in the same run is the cold first chunk: what a short ``data generate`` sees.
Goal: >= 2,000 examples/s per core for generation + validation + tokenization.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=4000, help="examples per timed stage")
    ap.add_argument("--warm-chunks", type=int, default=120, help="chunks of 256 to warm the caches")
    ap.add_argument("--workers", type=int, default=2, help="processes for the stream stage (0 skips it)")
    ap.add_argument("--no-harvest", action="store_true", help="leave harvested API tools out")
    args = ap.parse_args(argv)

    from needle_trainer.data.encode import Encoder
    from needle_trainer.data.generate import ExampleMaker
    from needle_trainer.data.pack import pack_stream
    from needle_trainer.data.stream import chunk_stream

    maker = ExampleMaker(use_harvest=not args.no_harvest)
    encoder = Encoder()
    rows = []

    t = time.perf_counter()
    cold = maker.make_chunk(0, "train", 0, 256)
    encoder.encode_many(cold)
    rows.append(("cold first chunk (baseline): generate + validate + tokenize", len(cold), time.perf_counter() - t))

    for k in range(1, args.warm_chunks + 1):
        encoder.encode_many(maker.make_chunk(0, "train", k, 256))

    k0 = args.warm_chunks + 1
    n_chunks = max(1, args.examples // 256)
    t = time.perf_counter()
    examples = [e for k in range(k0, k0 + n_chunks) for e in maker.make_chunk(0, "train", k, 256)]
    gen = time.perf_counter() - t
    t = time.perf_counter()
    encoded = encoder.encode_many(examples)
    enc = time.perf_counter() - t
    rows.append(("warm: generate + validate", len(examples), gen))
    rows.append(("warm: tokenize (encoder + targets + loss classes)", len(examples), enc))
    rows.append(("warm: generate + validate + tokenize", len(examples), gen + enc))
    t = time.perf_counter()
    batches = list(pack_stream(encoded))
    rows.append(("warm: pack into buckets", len(encoded), time.perf_counter() - t))

    if args.workers:
        n = 0
        stream = chunk_stream(0, "train", workers=args.workers, encode=True, max_chunks=n_chunks + 2 * args.workers)
        next(stream)                                  # process start-up and cold caches excluded
        t = time.perf_counter()
        for _, items in stream:
            n += len(items)
        rows.append((f"stream, {args.workers} processes, encoded (total; cold caches)", n, time.perf_counter() - t))

    print(f"cores: {os.cpu_count()}; harvest: {'off' if args.no_harvest else 'on'}")
    print("| stage | examples | seconds | examples/s |")
    print("|---|---|---|---|")
    for name, n, s in rows:
        print(f"| {name} | {n:,} | {s:.2f} | {_rate(n, s)} |")

    enc_len = np.array([len(e.enc) for e in encoded])
    dec_len = np.array([len(e.target) for e in encoded])
    print()
    print("| tokens per example | mean | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    for name, a in (("encoder", enc_len), ("decoder", dec_len)):
        print(f"| {name} | {a.mean():.1f} | {np.median(a):.0f} | {np.percentile(a, 95):.0f} | {a.max()} |")

    def fill(bs):
        real = sum(int((b["enc_segments"] > 0).sum()) for b in bs)
        total = sum(b["enc_tokens"].size for b in bs)
        return real / total, sum(b["enc_tokens"].shape[0] for b in bs)

    packed, packed_rows = fill(batches)
    unpacked, unpacked_rows = fill(list(pack_stream(encoded, pack=False)))
    print()
    print("| layout | rows | encoder tokens that are real (not pad) |")
    print("|---|---|---|")
    print(f"| one example per row (bucketed) | {unpacked_rows:,} | {100 * unpacked:.1f}% |")
    print(f"| packed with segment ids | {packed_rows:,} | {100 * packed:.1f}% |")


if __name__ == "__main__":
    main()
