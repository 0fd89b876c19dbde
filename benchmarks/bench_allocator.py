"""CPU training-step speed with glibc's default malloc against ``keep_freed_memory``.

Each setting runs in its own process (malloc settings are per process): the same jitted
training step (``bench_train_step.make_step``) of the model a training config describes, on
random tokens, timed after a warm-up. The table gives the median step time, tokens/s, and the
kernel time and minor page faults per step, which is where the default loses: XLA's per-step
buffers are fresh ``mmap`` pages every step. "keep_freed_memory" keeps every freed block (as
``needle-router finetune`` does); "+trim" hands back what exceeds 2 GiB (as a server's jobs do),
which at long inputs is most of a step. "hugepages" is glibc's own transparent-huge-page
tunable (``GLIBC_TUNABLES=glibc.malloc.hugetlb=1``, read only at process start), for reference.

    python benchmarks/bench_allocator.py                              # needle-2m, the CPU training shape
    python benchmarks/bench_allocator.py --enc-len 1536 --modes default,keep_freed_memory,keep_freed_memory+trim
    python benchmarks/bench_allocator.py --config needle-tiny --batch 4 --enc-len 256 --dec-len 64
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "trainer"))


MODES = ("default", "keep_freed_memory", "keep_freed_memory+trim", "hugepages", "keep_freed_memory+hugepages")


def child(args: argparse.Namespace) -> None:
    if args.child.startswith("keep_freed_memory"):     # "+trim": keep 2 GiB at most (a server's jobs)
        from needle_router.allocator import keep_freed_memory
        assert keep_freed_memory(keep_all="+trim" not in args.child), "glibc's mallopt did not take"
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from bench_train_step import make_step
    from needle_router.model import init_params
    from needle_trainer.config import load_config
    from needle_trainer.loop import model_config

    cfg = model_config(load_config(args.config))
    rng = np.random.default_rng(0)
    enc = jnp.asarray(rng.integers(16, cfg.vocab_size, (args.batch, args.enc_len)), jnp.int32)
    dec = jnp.asarray(rng.integers(16, cfg.vocab_size, (args.batch, args.dec_len + 1)), jnp.int32)
    params = init_params(cfg, seed=0)
    optimizer = optax.adamw(1e-3)
    opt_state = optimizer.init(params)
    step = make_step(cfg, None, optimizer)
    params, opt_state, loss = step(params, opt_state, enc, dec[:, :-1], dec[:, 1:])   # compile + warm-up
    jax.block_until_ready(loss)
    before = resource.getrusage(resource.RUSAGE_SELF)
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        params, opt_state, loss = step(params, opt_state, enc, dec[:, :-1], dec[:, 1:])
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - t)
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"step_ms": 1e3 * float(np.median(times)), "tokens": args.batch * (args.enc_len + args.dec_len),
                      "sys_s_per_step": (after.ru_stime - before.ru_stime) / args.steps,
                      "user_s_per_step": (after.ru_utime - before.ru_utime) / args.steps,
                      "faults_per_step": (after.ru_minflt - before.ru_minflt) / args.steps}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="needle-2m", help="training config whose model is timed")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--enc-len", type=int, default=1024)
    ap.add_argument("--dec-len", type=int, default=192)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated, from: " + ", ".join(MODES))
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    rows = {}
    modes = args.modes.split(",")
    for mode in modes:
        cmd = [sys.executable, __file__, "--child", mode, "--config", args.config, "--batch", str(args.batch),
               "--enc-len", str(args.enc_len), "--dec-len", str(args.dec_len), "--steps", str(args.steps)]
        env = dict(os.environ)
        if mode.endswith("hugepages"):
            env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        rows[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{args.config}: batch {args.batch}, encoder {args.enc_len} + decoder {args.dec_len} tokens, "
          f"median of {args.steps} steps\n")
    print("| malloc | step ms | tokens/s | kernel s / step | user s / step | page faults / step | speed-up |")
    print("|---|---|---|---|---|---|---|")
    base = rows["default"]["step_ms"] if "default" in rows else float("nan")
    for mode in modes:
        r = rows[mode]
        print(f"| {mode} | {r['step_ms']:.0f} | {r['tokens'] / r['step_ms'] * 1e3:,.0f} | {r['sys_s_per_step']:.2f} "
              f"| {r['user_s_per_step']:.2f} | {r['faults_per_step']:,.0f} | {base / r['step_ms']:.2f}x |")


if __name__ == "__main__":
    main()
