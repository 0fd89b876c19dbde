"""Low-rank adapters on the attention projections, merged into the weights functionally.

``W' = W + (alpha / r) * A @ B`` for every q/k/v/o kernel: ``A`` [in, r] random, ``B`` [r, out]
zero, so training starts from the base model exactly. The model code is untouched: the loss
merges the adapters into a copy of the parameter tree, and the exported weights are merged
once, so a tuned model loads and runs like any other weights directory.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


def _is_target(path: tuple[str, ...]) -> bool:
    return len(path) >= 2 and path[-1] == "kernel" and path[-2] in TARGETS


def _paths(params: Any) -> list[tuple[tuple[str, ...], Any]]:
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    return [(tuple(k.key for k in path), leaf) for path, leaf in flat]


def init_lora(params: Any, rank: int, seed: int = 0) -> dict[str, dict[str, jax.Array]]:
    """Adapters ``{"a__b__kernel": {"a": [in, r], "b": [r, out]}}`` for every target kernel."""
    if rank < 1:
        raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    key = jax.random.PRNGKey(seed)
    out = {}
    for path, leaf in _paths(params):
        if _is_target(path):
            key, sub = jax.random.split(key)
            fan_in, fan_out = leaf.shape
            out["__".join(path)] = {
                "a": jax.random.normal(sub, (fan_in, rank), jnp.float32) / jnp.sqrt(fan_in),
                "b": jnp.zeros((rank, fan_out), jnp.float32),
            }
    return out


def merge(params: Any, lora: dict[str, dict[str, jax.Array]], alpha: float) -> Any:
    """``params`` with every adapter added (a new tree; ``params`` is not modified)."""
    if not lora:
        return params
    rank = next(iter(lora.values()))["a"].shape[1]
    scale = alpha / rank

    def add(path, leaf):
        name = "__".join(k.key for k in path)
        ad = lora.get(name)
        return leaf if ad is None else leaf + scale * (ad["a"] @ ad["b"]).astype(leaf.dtype)

    return jax.tree_util.tree_map_with_path(add, params)


def count(lora: dict[str, dict[str, jax.Array]]) -> int:
    return sum(v["a"].size + v["b"].size for v in lora.values())
