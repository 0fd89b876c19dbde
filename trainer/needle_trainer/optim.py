"""Optimizer: Muon for the 2-D attention kernels, AdamW for everything else.

Muon orthogonalises each kernel's momentum (Newton-Schulz), which suits the square-ish
projection matrices that make up almost all of a Simple Attention Network; embeddings, norms,
gates and the retrieval head (vectors, or a table indexed sparsely) get AdamW. Both follow one
warmup-stable-decay schedule; gradients are clipped to a global norm first.
"""

from __future__ import annotations

from typing import Any

import jax
import optax

from needle_trainer.config import OptimSection


def wsd_schedule(peak: float, total_steps: int, warmup: int, decay_fraction: float) -> optax.Schedule:
    """Linear warmup to ``peak``, flat, then a linear decay to 0 over the last fraction."""
    warmup = max(1, min(warmup, total_steps))
    decay = max(1, int(total_steps * decay_fraction))
    stable = max(0, total_steps - warmup - decay)
    return optax.join_schedules(
        [optax.linear_schedule(0.0, peak, warmup), optax.constant_schedule(peak),
         optax.linear_schedule(peak, 0.0, decay)],
        [warmup, warmup + stable])


def _path_names(path) -> list[str]:
    return [str(getattr(k, "key", k)) for k in path]


def param_labels(params: Any, use_muon: bool = True) -> Any:
    """'muon' for 2-D kernels inside attention blocks, 'adamw' for the rest."""
    def label(path, leaf):
        names = _path_names(path)
        is_attn_kernel = names[-1] == "kernel" and leaf.ndim == 2 and any("attn" in n for n in names)
        return "muon" if use_muon and is_attn_kernel else "adamw"
    return jax.tree_util.tree_map_with_path(label, params)


def decay_mask(params: Any) -> Any:
    """Weight decay on matrices (kernels, the embedding), not on norms, gates or temperatures."""
    return jax.tree_util.tree_map(lambda leaf: leaf.ndim >= 2, params)


def make_optimizer(cfg: OptimSection, total_steps: int, params: Any) -> tuple[optax.GradientTransformation, dict]:
    """The optimizer and its schedules (for logging the learning rate)."""
    adam_lr = wsd_schedule(cfg.lr, total_steps, cfg.warmup_steps, cfg.decay_fraction)
    muon_lr = wsd_schedule(cfg.muon_lr, total_steps, cfg.warmup_steps, cfg.decay_fraction)
    adamw = optax.adamw(adam_lr, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay, mask=decay_mask)
    transforms = {"adamw": adamw}
    if cfg.use_muon:
        transforms["muon"] = optax.contrib.muon(muon_lr, weight_decay=cfg.weight_decay)
    tx = optax.chain(optax.clip_by_global_norm(cfg.clip_norm),
                     optax.multi_transform(transforms, param_labels(params, cfg.use_muon)))
    return tx, {"lr": adam_lr, "muon_lr": muon_lr}
