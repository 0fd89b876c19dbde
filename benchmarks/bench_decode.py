"""Decoding speed of needle-26m (random weights) on this machine, against a no-cache baseline.

Request: a ~20-token query plus 5 tools rendered compactly (real text through the shipped
tokenizer), ~30 output tokens. Prints prefill tokens/s, decode tokens/s and end-to-end
latency p50/p95 at batch 1 and batch 32; then the cached decoder against the baseline that
re-runs the whole decoder over the growing prefix every step (how the original Needle
reference decodes), both at 64 output tokens, in the same run.

    python benchmarks/bench_decode.py [--preset needle-26m] [--repeats 20]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from needle_router.model import get_config, init_params
from needle_router.model.decode import Generator, generate_tokens, naive_generate, prefill
from needle_router.tokenizer import default_tokenizer
from needle_router.tokenizer.specials import TOOL_ID, TOOLS_ID

QUERY = "Hey, can you check what the weather will be like in Lisbon this Saturday afternoon?"
TOOLS = [
    "get_weather: Current weather and forecast for a place. location: string, required, city or address; "
    "date: string, ISO date; units: enum[metric, imperial]",
    "create_event: Add an event to the user's calendar. title: string, required; start: string, required, "
    "ISO datetime; duration_minutes: integer",
    "send_message: Send a text message to a contact. recipient: string, required; body: string, required",
    "search_flights: Find flights between two airports. origin: string, required, IATA code; "
    "destination: string, required; date: string, required",
    "set_thermostat: Set the target temperature of a room. room: string, required; temperature: number, required",
]


def request_tokens() -> list[int]:
    tok = default_tokenizer()
    ids = tok.encode(QUERY) + [TOOLS_ID]
    for tool in TOOLS:
        ids += [TOOL_ID] + tok.encode(tool)
    return ids


def timed(fn, repeats: int) -> tuple[np.ndarray, object]:
    """Seconds per call after one warm-up (compile) call, and the last call's result."""
    result = fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t)
    return np.asarray(out), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="needle-26m")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--baseline-batches", type=lambda s: [int(b) for b in s.split(",")], default=[1],
                    help="batch sizes for the cached-vs-baseline table (each compiles 64 baseline programs)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                    help="compute dtype (bfloat16 for accelerators)")
    ap.add_argument("--baseline-tokens", type=int, default=64, help="output tokens in the baseline table")
    args = ap.parse_args()

    cfg = get_config(args.preset).replace(dtype=args.dtype)
    params = jax.device_put(init_params(cfg, seed=0))
    gen = Generator(params, cfg)
    req = request_tokens()
    print(f"{args.preset} on {jax.default_backend()} ({jax.devices()[0].device_kind}), jax {jax.__version__}; "
          f"request: {len(req)} encoder tokens (query + 5 tools), {args.new_tokens} output tokens, {args.dtype} (weights: random)")

    rows = []
    for batch in (1, 32):
        reps = args.repeats if batch == 1 else max(3, args.repeats // 4)
        reqs = [req] * batch
        enc = np.zeros((batch, gen.length_buckets[np.searchsorted(gen.length_buckets, len(req))]), np.int32)
        enc[:, : len(req)] = req
        enc = jnp.asarray(enc)
        t_prefill = np.median(timed(lambda: jax.block_until_ready(prefill(params, enc, cfg=cfg)), reps)[0])
        lat, gens = timed(lambda: gen.generate(reqs, max_new_tokens=args.new_tokens), reps)
        n_out = sum(len(g.tokens) + g.finished for g in gens)
        decode_s = np.median(lat) - t_prefill
        rows.append((batch, len(req) * batch / t_prefill, n_out / decode_s,
                     1e3 * np.percentile(lat, 50), 1e3 * np.percentile(lat, 95)))

    print()
    print("| batch | prefill tok/s | decode tok/s | latency p50 ms | latency p95 ms |")
    print("|---|---|---|---|---|")
    for batch, pf, dc, p50, p95 in rows:
        print(f"| {batch} | {pf:,.0f} | {dc:,.0f} | {p50:.1f} | {p95:.1f} |")

    # Cached vs no-cache baseline (random weights never stop early, so both run every step).
    n = args.baseline_tokens
    print()
    print("| batch | output tokens | cached ms | no-cache baseline ms | speed-up |")
    print("|---|---|---|---|---|")
    for batch in args.baseline_batches:
        enc = np.zeros((batch, len(req)), np.int32)
        enc[:] = req
        enc = jnp.asarray(enc)
        cached = np.median(timed(lambda: jax.block_until_ready(
            generate_tokens(params, enc, None, cfg=cfg, max_new_tokens=n)), 3)[0])
        naive = np.median(timed(lambda: naive_generate(params, cfg, enc, n), 1)[0])
        print(f"| {batch} | {n} | {cached * 1e3:.1f} | {naive * 1e3:.1f} | {naive / cached:.1f}x |")


if __name__ == "__main__":
    main()
