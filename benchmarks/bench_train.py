"""Training throughput of the real train step: tokens/s and model FLOP utilisation.

    python benchmarks/bench_train.py [--presets needle-tiny,needle-26m] [--examples 16] [--steps 3]

One batch of real data-engine examples is trained on repeatedly with the trainer's own step
(class-weighted CE, z-loss, contrastive retrieval loss, Muon + AdamW). For every preset it compares
float32 vs bfloat16 and packed rows (several examples per row, segment masks) vs unpacked rows (one
example per row, padded) in the same run. Tokens/s counts real (non-pad) tokens only. MFU is the
model's FLOPs per token (6 x matmul parameters) x tokens/s over the accelerator's peak; on a CPU the
peak is a float32 matmul measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np


def measured_peak(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a large float32 matmul on this backend (the CPU's practical peak)."""
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    t = time.perf_counter()
    for _ in range(repeats):
        f(a).block_until_ready()
    return 2 * n**3 * repeats / (time.perf_counter() - t)


def make_batches(examples, enc_len: int, dec_len: int, rows: int):
    from needle_trainer.batches import pack_rows, retrieval_pairs

    packed, dropped = pack_rows(examples, rows, enc_len, dec_len)
    longest = max(len(e.enc) for e in examples)
    longest_dec = max(len(e.target) for e in examples)
    unpacked, _ = pack_rows(examples, len(examples), -(-longest // 128) * 128, -(-longest_dec // 32) * 32)
    return {"packed": packed, "unpacked": unpacked}, retrieval_pairs(examples, 16), dropped


def run_case(preset: str, dtype: str, batch: dict, pairs: dict, steps: int) -> dict:
    from needle_trainer.config import load_config
    from needle_trainer.loop import flops_per_token, model_config
    from needle_trainer.optim import make_optimizer
    from needle_trainer.step import init_state, make_train_step
    from needle_router.model import init_params

    cfg = load_config("needle-tiny")
    cfg.model.preset, cfg.model.dtype = preset, dtype
    mcfg = model_config(cfg)
    params = init_params(mcfg, seed=0)
    tx, _ = make_optimizer(cfg.optim, 1000, params)
    state = init_state(params, tx, 0)
    step = make_train_step(mcfg, cfg, tx, None)
    t = time.perf_counter()
    state, m = step(state, batch, pairs)
    jax.block_until_ready(m["loss"])
    compile_s = time.perf_counter() - t
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        state, m = step(state, batch, pairs)
        jax.block_until_ready(m["loss"])
        times.append(time.perf_counter() - t)
    sec = float(np.median(times))
    real = int((batch["enc_segments"] > 0).sum() + (batch["dec_segments"] > 0).sum())
    slots = batch["enc_tokens"].size + batch["dec_targets"].size
    return {"step_s": sec, "tokens_per_s": real / sec, "fill": real / slots, "compile_s": compile_s,
            "flops": flops_per_token(mcfg) * real / sec, "rows": batch["enc_tokens"].shape[0],
            "shape": f"{batch['enc_tokens'].shape[1]}+{batch['dec_targets'].shape[1]}"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="needle-tiny,needle-26m")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--examples", type=int, default=16)
    ap.add_argument("--enc-len", type=int, default=1024)
    ap.add_argument("--dec-len", type=int, default=192)
    ap.add_argument("--rows", type=int, default=0, help="packed rows (default: what the examples need)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--peak", type=float, default=0.0, help="peak FLOP/s for MFU (default: measured matmul)")
    args = ap.parse_args(argv)

    from needle_trainer.data.encode import Encoder
    from needle_trainer.data.generate import DataConfig, ExampleMaker

    maker = ExampleMaker(DataConfig(source={"catalogue": 0.7, "generic": 0.3, "harvest": 0.0}, max_tools=6),
                         use_harvest=False)
    examples = [e for e in Encoder().encode_many(maker.make_chunk(0, "train", 0, args.examples * 2))
                if len(e.enc) <= args.enc_len and len(e.target) <= args.dec_len][:args.examples]
    total_enc = sum(len(e.enc) for e in examples)
    rows = args.rows or max(1, -(-total_enc // int(args.enc_len * 0.85)))
    batches, pairs, dropped = make_batches(examples, args.enc_len, args.dec_len, rows)
    peak = args.peak or measured_peak()
    device = jax.devices()[0]
    print(f"backend {jax.default_backend()} ({device.device_kind}), {jax.device_count()} device(s); "
          f"{len(examples)} examples ({dropped} dropped by packing); peak {peak / 1e9:,.1f} GFLOP/s "
          f"({'given' if args.peak else 'measured f32 matmul'})")
    rows_out = []
    for preset in args.presets.split(","):
        for dtype in args.dtypes.split(","):
            for layout in ("unpacked", "packed"):
                r = run_case(preset, dtype, batches[layout], pairs, args.steps)
                rows_out.append((preset, dtype, layout, r))
                print(f"  done {preset} {dtype} {layout}: {r['step_s'] * 1e3:.0f} ms/step", flush=True)
    print()
    print("| preset | dtype | layout | rows x (enc+dec) | real tokens | step ms | tokens/s | GFLOP/s | MFU | vs unpacked f32 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for preset, dtype, layout, r in rows_out:
        base = next(x for p, d, lay, x in rows_out if p == preset and d == "float32" and lay == "unpacked")
        print(f"| {preset} | {dtype} | {layout} | {r['rows']} x {r['shape']} | {100 * r['fill']:.0f}% | "
              f"{r['step_s'] * 1e3:.0f} | {r['tokens_per_s']:,.0f} | {r['flops'] / 1e9:,.1f} | "
              f"{100 * r['flops'] / peak:.1f}% | {r['tokens_per_s'] / base['tokens_per_s']:.2f}x |")


if __name__ == "__main__":
    main()
