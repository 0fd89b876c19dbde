"""Training-step speed of Needle on whatever backend JAX finds (CPU here, GPU on a lease).

A plain teacher-forced cross-entropy step with AdamW on random tokens: it measures the
model's compute, not the data pipeline or the final loss recipe (those belong to the
trainer). Prints one row per (batch, precision, QAT) setting with step time, tokens/s and
model FLOP/s from XLA's own cost analysis, against the float32 step as the in-run baseline.

    python benchmarks/bench_train_step.py --preset needle-26m --batch 8 --steps 3
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from needle_router.model import Needle, get_config, init_params
from needle_router.tokenizer.specials import PAD_ID


def make_step(cfg, quant_bits, optimizer):
    model = Needle(cfg, quant_bits=quant_bits)

    def loss_fn(params, enc, dec_in, dec_out):
        logits, _ = model.apply({"params": params}, enc, dec_in)
        mask = (dec_out != PAD_ID).astype(jnp.float32)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, dec_out)
        return (ce * mask).sum() / mask.sum()

    @jax.jit
    def step(params, opt_state, enc, dec_in, dec_out):
        loss, grads = jax.value_and_grad(loss_fn)(params, enc, dec_in, dec_out)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def run(preset: str, batch: int, enc_len: int, dec_len: int, dtype: str, quant_bits, steps: int):
    cfg = get_config(preset).replace(dtype=dtype)
    rng = np.random.default_rng(0)
    enc = jnp.asarray(rng.integers(16, cfg.vocab_size, (batch, enc_len)), jnp.int32)
    dec = jnp.asarray(rng.integers(16, cfg.vocab_size, (batch, dec_len + 1)), jnp.int32)
    params = init_params(cfg, seed=0)
    optimizer = optax.adamw(1e-3)
    opt_state = optimizer.init(params)
    step = make_step(cfg, quant_bits, optimizer)
    args = (params, opt_state, enc, dec[:, :-1], dec[:, 1:])
    t0 = time.perf_counter()
    compiled = step.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float(cost.get("flops", 0.0)) if cost else 0.0
    params, opt_state, loss = compiled(*args)  # warm-up
    jax.block_until_ready(loss)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        params, opt_state, loss = compiled(params, opt_state, *args[2:])
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - t)
    sec = float(np.median(times))
    tokens = batch * (enc_len + dec_len)
    return {"batch": batch, "dtype": dtype, "qat": f"int{quant_bits}" if quant_bits else "off",
            "step_ms": sec * 1e3, "tokens_per_s": tokens / sec, "tflops": flops / sec / 1e12,
            "compile_s": compile_s, "loss": float(loss)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="needle-26m")
    ap.add_argument("--batch", default="8", help="comma-separated batch sizes")
    ap.add_argument("--enc-len", type=int, default=256)
    ap.add_argument("--dec-len", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--qat", default="off,4", help="comma-separated: off and/or 4, 8")
    args = ap.parse_args()

    print(f"backend: {jax.default_backend()} ({jax.devices()[0].device_kind}), jax {jax.__version__}, "
          f"preset {args.preset}, encoder {args.enc_len} + decoder {args.dec_len} tokens per example")
    rows = []
    for batch in [int(b) for b in args.batch.split(",")]:
        for dtype in args.dtypes.split(","):
            for q in args.qat.split(","):
                rows.append(run(args.preset, batch, args.enc_len, args.dec_len, dtype,
                                None if q == "off" else int(q), args.steps))
                r = rows[-1]
                print(f"  done batch={r['batch']} {r['dtype']} qat={r['qat']}: {r['step_ms']:.1f} ms", flush=True)
    base = {r["batch"]: r for r in rows if r["dtype"] == "float32" and r["qat"] == "off"}
    print()
    print(f"| batch | dtype | QAT | step ms | tokens/s | model TFLOP/s | vs f32 | compile s |")
    print(f"|---|---|---|---|---|---|---|---|")
    for r in rows:
        b = base.get(r["batch"])
        ratio = f"{b['step_ms'] / r['step_ms']:.2f}x" if b else "-"
        print(f"| {r['batch']} | {r['dtype']} | {r['qat']} | {r['step_ms']:.1f} | {r['tokens_per_s']:,.0f} "
              f"| {r['tflops']:.1f} | {ratio} | {r['compile_s']:.1f} |")


if __name__ == "__main__":
    main()
