"""What the tool grammar costs: compile time and size, decode-step overhead, routing with many tools.

Three tables, on synthetic tool sets (``synthetic_tools.make_tools``):

(a) grammar compile, cold (``grammar._build``, no cache; median of 3) for 5, 20 and 100 tools
    (and 1000 with ``--with-1000``): states, symbol classes, transition table size (as padded
    and sent to the device), compile ms, and the mean encoder tokens of one rendered tool.
(b) decode speed with and without the grammar constraint at batch 1 and 8, in ms per decode
    step (goal: constrained <= 15% slower). Every row must call (``require_call``), the
    budget is the whole output length (64 tokens) and the tools are ones whose calls fit in
    three quarters of it, so both modes decode as long as they can; the steps each ran are printed.
(c) routing with 10, 100 and 1000 bound tools (``top_k`` 8): router construction (grammar
    compile included), tool embedding (the first retrieval, compiles excluded), then
    steady-state ``route_sync`` latency p50 / p99 (a first, untimed pass over the same queries
    compiles every shape they reach). Routes pass ``require_call=True`` unless
    ``--no-require-call``: random weights would otherwise answer "no call" in 2 tokens.

    python benchmarks/bench_grammar.py [--preset needle-26m] [--with-1000]
    python benchmarks/bench_grammar.py --tables a --sizes 5,50,500
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from needle_router import NeedleRouter
from needle_router.decoding.grammar import ConstraintFactory, _build
from needle_router.engine import get_engine
from needle_router.model.decode import LENGTH_BUCKETS, NEW_TOKEN_BUCKETS, _bucket, generate_tokens, prefill
from needle_router.render import encoder_input, query_tokens, tool_tokens
from needle_router.tokenizer import default_tokenizer
from needle_router.tokenizer.specials import EOS_ID, PAD_ID
from needle_router.tools import assign_internal_names, to_tool_specs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decode import timed  # noqa: E402
from bench_router import machine_line  # noqa: E402
from synthetic_tools import make_queries, make_tools  # noqa: E402


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _specs(n: int, seed: int):
    return assign_internal_names(to_tool_specs(make_tools(n, seed=seed)))


# --- (a) compile ------------------------------------------------------------------------------

def grammar_table(sizes: list[int], reps: int, seed: int) -> list[tuple]:
    tok = default_tokenizer()
    rows = []
    for n in sizes:
        specs = _specs(n, seed)
        times, grammar = [], None
        for _ in range(reps):
            t = time.perf_counter()
            grammar = _build(specs)
            times.append(time.perf_counter() - t)
        classes = int(grammar.symbol_class.max()) + 1
        per_tool = float(np.mean([len(tool_tokens(tok, s)) for s in specs])) if specs else 0.0
        rows.append((n, grammar.num_states, classes, grammar.table.nbytes / 1024, 1e3 * float(np.median(times)),
                     per_tool, grammar.table.shape))
    print()
    print(f"(a) grammar compile, cold (median of {reps})")
    print("| tools | states | symbol classes | table KiB | compile ms | tokens per tool |")
    print("|---|---|---|---|---|---|")
    for n, states, classes, kib, ms, per_tool, _ in rows:
        print(f"| {n} | {states:,} | {classes} | {kib:,.0f} | {ms:,.1f} | {per_tool:.1f} |")
    print("table KiB is the device table after padding: " +
          ", ".join(f"{n} tools -> {shape[0]:,} x {shape[1]} int32" for n, *_, shape in rows))
    return rows


def _short_call_specs(count: int, max_call: int, seed: int):
    """``count`` synthetic tools whose shortest call fits in ``max_call`` symbols, so that
    ``require_call`` is honoured (a call that cannot fit the budget falls back to "no call")
    and the answer has room to run long."""
    pool = _specs(max(200, 4 * count), seed)
    grammar = _build(pool)
    length = dict(zip(grammar.tool_names, grammar.call_length.tolist()))
    picked = [s for s in pool if length[s.internal_name] <= max_call][:count]
    if len(picked) < count:
        raise SystemExit(f"only {len(picked)} synthetic tools have calls of <= {max_call} symbols: "
                         f"raise --decode-tokens or lower --decode-tools")
    return assign_internal_names(picked)


# --- (b) decode-step overhead -------------------------------------------------------------------

@functools.partial(jax.jit, static_argnames=("steps",))
def _mask_steps(constraint, logits, *, steps: int):
    """The grammar's per-step work alone (mask, pick, advance), ``steps`` times in one program."""
    def body(_, state):
        allowed = constraint.mask(state)
        return constraint.advance(state, jnp.argmax(jnp.where(allowed, logits, -1e30), -1).astype(jnp.int32))
    return jax.lax.fori_loop(0, steps, body, constraint.init(logits.shape[0]))


def decode_table(model: str, batches: list[int], new_tokens: int, repeats: int, n_tools: int,
                 seed: int) -> list[tuple]:
    """Per decode step = (generate time - prefill time) / steps the loop ran, each mode timed on
    the same bucketed arrays with the jitted programs the router runs (``generate_tokens`` and
    ``prefill``, the same chunked encoder pass). The steps are counted from the output (the
    loop stops when every row has produced EOS), so a mode that finishes early is not credited
    with steps it did not run."""
    engine = get_engine(model)
    cfg, params, tok = engine.config, engine.params, engine.tokenizer
    n = _bucket(new_tokens, NEW_TOKEN_BUCKETS, "max_new_tokens")
    specs = _short_call_specs(n_tools, 3 * n // 4, seed)
    grammar = _build(specs)
    factory = ConstraintFactory(grammar, tok)
    request = encoder_input(query_tokens(tok, make_queries(1, seed=seed)[0]), [tool_tokens(tok, s) for s in specs])
    length = _bucket(len(request), LENGTH_BUCKETS, "encoder input length")

    def steps(out) -> int:
        out = np.asarray(out)
        eos = out == EOS_ID
        per_row = np.where(eos.any(axis=1), eos.argmax(axis=1) + 1, out.shape[1])
        return int(per_row.max())

    rows = []
    for batch in batches:
        enc = np.full((batch, length), PAD_ID, np.int32)
        enc[:, : len(request)] = request
        enc = jnp.asarray(enc)
        constraint = factory(None, batch, n, [True] * batch)
        t_pre = float(np.median(timed(lambda: jax.block_until_ready(prefill(params, enc, cfg=cfg)), repeats)[0]))
        result = {}
        for mode, c in (("unconstrained", None), ("constrained", constraint)):
            lat, (out, _) = timed(lambda: jax.block_until_ready(
                generate_tokens(params, enc, c, cfg=cfg, max_new_tokens=n)), repeats)
            s = steps(out)
            result[mode] = (1e3 * (float(np.median(lat)) - t_pre) / s, s, 1e3 * float(np.median(lat)))
        logits = jnp.asarray(np.random.default_rng(seed).standard_normal((batch, cfg.vocab_size)), jnp.float32)
        lat, _ = timed(lambda: jax.block_until_ready(_mask_steps(constraint, logits, steps=n)), repeats)
        result["mask"] = 1e3 * float(np.median(lat)) / n
        rows.append((batch, result["unconstrained"], result["constrained"], 1e3 * t_pre, result["mask"]))
    print()
    print(f"(b) decode step, {engine.loaded.label}: {len(request)} encoder tokens (bucket {length}), "
          f"{n_tools} tools, budget {n} tokens, every row must call; median of {repeats}")
    print("ms per step = (generate ms - prefill ms) / steps run; steps counted from the output.")
    print("mask alone = the grammar's per-step work (mask + pick + advance) timed by itself, the")
    print("steadier measure of the overhead: the difference of two whole decodes is within noise.")
    print("| batch | unconstrained ms/step | constrained ms/step | overhead % | mask alone ms/step "
          "| mask / step % | steps (unc / con) | prefill ms | generate ms (unc / con) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for batch, unc, con, pre, mask in rows:
        overhead = 100.0 * (con[0] / unc[0] - 1.0)
        print(f"| {batch} | {unc[0]:.3f} | {con[0]:.3f} | {overhead:+.1f} | {mask:.3f} | {100 * mask / unc[0]:.1f} "
              f"| {unc[1]} / {con[1]} | {pre:.1f} | {unc[2]:.1f} / {con[2]:.1f} |")
    return rows


# --- (c) routing with many tools ------------------------------------------------------------------

def routing_table(model: str, sizes: list[int], requests: int, top_k: int, new_tokens: int,
                  seed: int, require_call: bool = True) -> list[tuple]:
    """bind = ``NeedleRouter(...)`` (specs, grammar compile unless cached, tool tokens, device
    upload); embed = the first ``tool_embeddings`` (every tool through the encoder), its XLA
    programs compiled beforehand by an untimed ``engine.embed`` of the same token lists; route =
    a second pass of ``route_sync`` over the queries, after an untimed first pass that compiles
    whatever decode/embedding shapes they reach."""
    queries = make_queries(requests, seed=seed)
    rows = []
    for n in sizes:
        tools = make_tools(n, seed=seed + n)
        t = time.perf_counter()
        router = NeedleRouter(tools, model, top_k=top_k, max_new_tokens=new_tokens)
        bind = time.perf_counter() - t
        grammar_ms = 1e3 * router._binding.grammar.compile_seconds
        engine = router.engine
        engine.embed(router._binding.tool_tokens)  # compile only; fills no cache
        t = time.perf_counter()
        engine.tool_embeddings(router._binding)
        embed = time.perf_counter() - t
        for q in queries:  # untimed first pass: compiles
            router.route_sync(q, require_call=require_call)
        lat, out = [], []
        for q in queries:
            t = time.perf_counter()
            result = router.route_sync(q, require_call=require_call)
            lat.append(time.perf_counter() - t)
            out.append(result.usage.output_tokens)
        lat = np.asarray(lat)
        rows.append((n, 1e3 * bind, grammar_ms, 1e3 * embed, 1e3 * np.percentile(lat, 50),
                     1e3 * np.percentile(lat, 99), float(np.mean(out))))
    label = get_engine(model).loaded.label
    print()
    print(f"(c) routing, {label}: top_k {top_k}, max_new_tokens {new_tokens}, require_call {require_call}, "
          f"{requests} sequential "
          f"route_sync calls per size (steady state); embed ms excludes XLA compiles")
    print("| tools | bind ms | of which grammar ms | embed ms | route p50 ms | route p99 ms | mean output tokens |")
    print("|---|---|---|---|---|---|---|")
    for n, bind, gms, emb, p50, p99, out in rows:
        print(f"| {n} | {bind:,.1f} | {gms:,.1f} | {emb:,.1f} | {p50:.1f} | {p99:.1f} | {out:.1f} |")
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--preset", default=None, help="model preset for (b) and (c); default needle-26m")
    src.add_argument("--model", default=None, help="weights directory instead of a preset")
    ap.add_argument("--tables", default="abc", help="which tables to print, e.g. 'ab'")
    ap.add_argument("--sizes", type=_ints, default=None, help="tool counts for (a) (default 5,20,100)")
    ap.add_argument("--with-1000", action="store_true", help="add 1000 tools to (a)")
    ap.add_argument("--compile-reps", type=int, default=None, help="cold compiles per size in (a) (default 3)")
    ap.add_argument("--batches", type=_ints, default=None, help="batch sizes for (b) (default 1,8)")
    ap.add_argument("--decode-tools", type=int, default=5, help="tools in the request and grammar of (b)")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per measurement in (b) (default 10)")
    ap.add_argument("--decode-tokens", type=int, default=None,
                    help="output length of (b), also the grammar budget (default 64)")
    ap.add_argument("--max-new-tokens", type=int, default=None, help="the routers' budget in (c) (default 64)")
    ap.add_argument("--route-sizes", type=_ints, default=None, help="tool counts for (c) (default 10,100,1000)")
    ap.add_argument("--requests", type=int, default=None, help="timed routes per size in (c) (default 32)")
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--require-call", action=argparse.BooleanOptionalAction, default=True,
                    help="(c) routes with require_call=True (default): random weights otherwise answer "
                         "'no call' in 2 tokens")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="small defaults for smoke tests: sizes 5,20; batches 1,2; route sizes 10,20; "
                         "1 compile, 2 repeats, 4 routes, 32 tokens")
    args = ap.parse_args(argv)
    q = args.quick
    sizes = args.sizes or ([5, 20] if q else [5, 20, 100])
    if args.with_1000 and 1000 not in sizes:
        sizes = sizes + [1000]
    reps = args.compile_reps or (1 if q else 3)
    batches = args.batches or ([1, 2] if q else [1, 8])
    repeats = args.repeats or (2 if q else 10)
    decode_tokens = args.decode_tokens or (32 if q else 64)
    new_tokens = args.max_new_tokens or (32 if q else 64)
    route_sizes = args.route_sizes or ([10, 20] if q else [10, 100, 1000])
    requests = args.requests or (4 if q else 32)
    model = args.model or args.preset or "needle-26m"

    print(machine_line())
    out = {}
    if "a" in args.tables:
        out["a"] = grammar_table(sizes, reps, args.seed)
    if "b" in args.tables:
        out["b"] = decode_table(model, batches, decode_tokens, repeats, args.decode_tools, args.seed)
    if "c" in args.tables:
        out["c"] = routing_table(model, route_sizes, requests, args.top_k, new_tokens, args.seed,
                                 args.require_call)
    return out


if __name__ == "__main__":
    main()
