"""The train step and its placement on devices (``jax.sharding``).

A 1-D device mesh with axis ``data``: every batch array is split along its rows, parameters
and optimizer state are replicated (``mesh: {data: -1, fsdp: true}`` shards the large
parameter matrices over the same axis instead, ZeRO-3 style); XLA inserts the gradient
all-reduce. The same code runs on one CPU, 8 simulated CPU devices, a GPU, or every chip of a
TPU slice after :func:`maybe_initialize_distributed`.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from needle_router.model import Needle
from needle_router.model.config import ModelConfig
from needle_trainer.config import TrainConfig
from needle_trainer.losses import class_weights, contrastive_loss, weighted_cross_entropy


class TrainState(NamedTuple):
    params: Any
    opt_state: Any
    step: jax.Array
    rng: jax.Array


def maybe_initialize_distributed() -> None:
    """Join a multi-host run (TPU pod slice, multi-node GPU) when the environment says so."""
    if os.environ.get("NEEDLE_DISTRIBUTED") == "1" or os.environ.get("JAX_COORDINATOR_ADDRESS"):
        jax.distributed.initialize()


def make_mesh(spec: dict[str, Any] | None = None) -> Mesh:
    devices = np.array(jax.devices())
    n = int((spec or {}).get("data", -1))
    n = len(devices) if n in (-1, 0) else n
    if len(devices) % n:
        raise ValueError(f"mesh data={n} does not divide the {len(devices)} devices")
    return Mesh(devices[:n].reshape(n), ("data",))


def param_sharding(mesh: Mesh, params: Any, fsdp: bool = False) -> Any:
    """Replicated parameters, or (fsdp) each matrix split along a dimension the mesh divides."""
    n = mesh.devices.size

    def spec(leaf):
        if fsdp and leaf.ndim == 2 and leaf.size >= 2**16:
            for axis in (0, 1):
                if leaf.shape[axis] % n == 0:
                    parts = [None, None]
                    parts[axis] = "data"
                    return NamedSharding(mesh, P(*parts))
        return NamedSharding(mesh, P())
    return jax.tree.map(spec, params)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P("data"))


def make_train_step(model_cfg: ModelConfig, cfg: TrainConfig, tx: optax.GradientTransformation,
                    quant_bits: int | None):
    """A jitted ``step(state, batch, pairs) -> (state, metrics)`` for one QAT setting."""
    model = Needle(model_cfg, quant_bits=quant_bits, dropout=cfg.model.dropout, remat=cfg.model.remat)
    weights = class_weights(cfg.loss)
    z_loss, c_weight = cfg.loss.z_loss, cfg.loss.contrastive
    train = cfg.model.dropout > 0

    def loss_fn(params, batch, pairs, rng):
        rngs = {"dropout": rng} if train else {}
        logits = model.apply({"params": params}, batch["enc_tokens"], batch["enc_segments"],
                             batch["enc_positions"], batch["dec_inputs"], batch["dec_segments"],
                             batch["dec_positions"], train, method=Needle.packed_logits, rngs=rngs)
        loss, metrics = weighted_cross_entropy(logits, batch["dec_targets"], batch["loss_class"], weights, z_loss)
        if c_weight > 0:
            q = model.apply({"params": params}, pairs["queries"], train, method=Needle.embed_for_retrieval, rngs=rngs)
            t = model.apply({"params": params}, pairs["tools"], train, method=Needle.embed_for_retrieval, rngs=rngs)
            c_loss, recall = contrastive_loss(q, t, params["retrieval"]["log_temperature"], pairs["valid"],
                                              pairs["same_tool"])
            loss = loss + c_weight * c_loss
            metrics.update(contrastive=c_loss, retrieval_top1=recall)
        metrics["loss"] = loss
        return loss, metrics

    def step(state: TrainState, batch: dict, pairs: dict) -> tuple[TrainState, dict]:
        rng, sub = jax.random.split(state.rng)
        grads, metrics = jax.grad(loss_fn, has_aux=True)(state.params, batch, pairs, sub)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics["grad_norm"] = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads)))
        return TrainState(params, opt_state, state.step + 1, rng), metrics

    return jax.jit(step, donate_argnums=(0,))


def make_eval_step(model_cfg: ModelConfig, cfg: TrainConfig):
    """Teacher-forced metrics (CE, token / name / value accuracy) of a packed batch."""
    model = Needle(model_cfg)
    weights = class_weights(cfg.loss)

    def evaluate(params, batch):
        logits = model.apply({"params": params}, batch["enc_tokens"], batch["enc_segments"],
                             batch["enc_positions"], batch["dec_inputs"], batch["dec_segments"],
                             batch["dec_positions"], method=Needle.packed_logits)
        _, metrics = weighted_cross_entropy(logits, batch["dec_targets"], batch["loss_class"], weights, 0.0)
        return metrics

    return jax.jit(evaluate)


def pad_rows(batch: dict[str, np.ndarray], multiple: int) -> dict[str, np.ndarray]:
    """Add all-padding rows so the row count divides over the devices (they carry no loss)."""
    rows = next(iter(batch.values())).shape[0]
    extra = (-rows) % multiple
    if not extra:
        return batch
    return {k: np.concatenate([v, np.zeros((extra, *v.shape[1:]), v.dtype)]) for k, v in batch.items()}


def init_state(params: Any, tx: optax.GradientTransformation, seed: int) -> TrainState:
    return TrainState(params, tx.init(params), jnp.zeros((), jnp.int32), jax.random.PRNGKey(seed))
