"""Fine-tuning step speed by method: every weight, the encoder frozen, LoRA.

The step is the one ``needle-router finetune`` runs (``needle_trainer.finetune.train.make_step``)
on packed batches of a registry's synthesised examples, so the prompt length is the registry's
own (travel's many parameters make 1,536-token rows). Methods are timed in turn, round after
round, so that a busy machine slows each alike; the table gives each method's median step time
against full training's in the same run.

    python benchmarks/bench_finetune_step.py --tools examples/registries/travel/tools.py
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from needle_router.model.loading import load_model
from needle_router.tools import assign_internal_names, load_tools_file, to_tool_specs
from needle_trainer.data.encode import Encoder
from needle_trainer.finetune import data as ft_data
from needle_trainer.finetune.train import BatchPlan, initial_state, make_step, method_name

METHODS = {"full": (None, False), "frozen encoder": (None, True), "LoRA r16": (16, False)}


def build(loaded, base, lora_rank: int | None, freeze: bool):
    tx, state = initial_state(base, lora_rank, freeze)
    return make_step(loaded.config, base, lora_rank, 32.0, tx, freeze), state


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tools", default="examples/registries/travel/tools.py")
    ap.add_argument("--model", default=None, help="weights dir or preset (default: the shipped weights)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per method per round")
    args = ap.parse_args(argv)

    specs = assign_internal_names(to_tool_specs(load_tools_file(args.tools)))
    examples = ft_data.synthesize(list(specs), per_tool=20, seed=0)
    loaded = load_model(args.model)
    base = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), loaded.params)
    plan = BatchPlan(Encoder().encode_many(examples), 8, 0)
    batches = [plan.batch(i) for i in range(args.steps + 1)]
    print(f"{args.tools}: {len(specs)} tools, batches of 8 x {plan.enc_len} encoder + {plan.dec_len} decoder "
          f"tokens, {loaded.label}, {jax.default_backend()}")

    runs, compile_s = {}, {}
    for name, (rank, freeze) in METHODS.items():
        step, state = build(loaded, base, rank, freeze)
        t = time.perf_counter()
        state, metrics = step(state, batches[0], jnp.float32(1e-3))
        jax.block_until_ready(metrics)
        compile_s[name] = time.perf_counter() - t
        runs[name] = [step, state, []]
    for _ in range(args.rounds):
        for name, run in runs.items():
            step, state, times = run
            t = time.perf_counter()
            for batch in batches[1:]:
                state, metrics = step(state, batch, jnp.float32(1e-3))
            jax.block_until_ready(metrics)
            times.append((time.perf_counter() - t) / args.steps)
            run[1] = state

    full = float(np.median(runs["full"][2]))
    print(f"\n| method | metadata name | compile + 1st step (s) | step (s, median of {args.rounds}) | vs full |")
    print("|---|---|---|---|---|")
    for name, (rank, freeze) in METHODS.items():
        s = float(np.median(runs[name][2]))
        print(f"| {name} | {method_name(rank, freeze)} | {compile_s[name]:.1f} | {s:.2f} | {full / s:.2f}x |")


if __name__ == "__main__":
    main()
