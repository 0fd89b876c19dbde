"""One-command training on a single accelerator machine with no network (the GPU launcher).

    python -m needle_trainer.launch --config needle-26m --minutes 9 --out OUT [--resume-from DIR]

Generates data on all CPU cores but two while the accelerator trains, stops cleanly a little
before ``--minutes`` (leaving time for the final evaluation and the writes), then puts in OUT:

* ``checkpoint/``: the full train state as safetensors shards of <= 16 MB (pass it back as
  ``--resume-from`` next time: the run continues at the same step, schedule and data position);
* ``weights/``: the best checkpoint exported in the shipped INT4 format;
* ``summary.json``: steps, tokens, tokens/s, model FLOP utilisation, final evaluation;
* ``log.jsonl`` and ``curves.png`` of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import jax

from needle_trainer.config import load_config
from needle_trainer.loop import export_best, restore_run, train
from needle_trainer.shards import save_sharded

# dense bf16 peak FLOP/s per chip, for model FLOP utilisation
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "TPU v4": 275e12,
              "TPU v5 lite": 197e12, "TPU v5e": 197e12, "TPU v5p": 459e12, "TPU v6 lite": 918e12}
RESERVED_MINUTES = 1.5           # final evaluation, export and shard writing


def peak_flops() -> float | None:
    kind = jax.devices()[0].device_kind
    for name, flops in PEAK_FLOPS.items():
        if name.lower() in kind.lower():
            return flops * jax.device_count()
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="needle-26m")
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--resume-from", type=Path, default=None, help="a checkpoint/ folder from an earlier run")
    ap.add_argument("--run-dir", type=Path, default=Path("/tmp/needle-run"))
    ap.add_argument("--workers", type=int, default=None, help="data processes (default: cores - 2)")
    ap.add_argument("--eval-examples", type=int, default=None)
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    cfg = load_config(args.config)
    cfg.out_dir = str(args.run_dir)
    cfg.minutes = max(0.2, args.minutes - RESERVED_MINUTES)
    cfg.data.workers = args.workers if args.workers is not None else max(1, (os.cpu_count() or 4) - 2)
    if args.eval_examples is not None:
        cfg.eval_examples = args.eval_examples
    if args.run_dir.exists():
        shutil.rmtree(args.run_dir)
    summary = train(cfg, init_from=args.resume_from if args.resume_from and args.resume_from.exists() else None)

    args.out.mkdir(parents=True, exist_ok=True)
    state, record = restore_run(args.run_dir, cfg)
    save_sharded(state, args.out / "checkpoint", {**record, "step": int(jax.device_get(state.step))})
    export_best(args.run_dir, cfg, args.out / "weights", extra={"hardware": jax.devices()[0].device_kind})
    for name in ("log.jsonl", "curves.png"):
        if (args.run_dir / name).exists():
            shutil.copy(args.run_dir / name, args.out / name)
    peak = peak_flops()
    summary.update(device=jax.devices()[0].device_kind, device_count=jax.device_count(),
                   mfu=summary["model_flops_per_s"] / peak if peak else None,
                   wall_minutes=(time.monotonic() - t0) / 60, data_workers=cfg.data.workers)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps({k: summary[k] for k in ("steps", "tokens", "tokens_per_s", "mfu", "best_int4_exact_match")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
