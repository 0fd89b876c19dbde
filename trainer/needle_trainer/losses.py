"""Losses: token-class-weighted cross-entropy with z-loss, and the retrieval head's
CLIP-style contrastive loss.

Mistakes are not equal: a wrong argument value is a wrong call even when the JSON around it is
perfect, so value tokens weigh 4x structure tokens (name 2x, key 1.5x). The z-loss keeps the
softmax normaliser near 1 (log Z near 0), which keeps bfloat16 logits well-behaved.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from needle_trainer.config import LossSection
from needle_trainer.data.encode import KEY, NAME, STRUCTURE, VALUE


def class_weights(cfg: LossSection) -> jax.Array:
    """Weight per loss class id (0 = padding weighs 0)."""
    w = [0.0] * 5
    w[STRUCTURE], w[NAME], w[KEY], w[VALUE] = cfg.structure, cfg.name, cfg.key, cfg.value
    return jnp.asarray(w, jnp.float32)


def weighted_cross_entropy(logits: jax.Array, targets: jax.Array, loss_class: jax.Array,
                           weights: jax.Array, z_loss: float) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean class-weighted CE + z_loss * mean(log Z^2) over real tokens; and metrics."""
    logits = logits.astype(jnp.float32)
    lse = jax.nn.logsumexp(logits, axis=-1)
    target_logit = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    ce = lse - target_logit
    w = weights[loss_class.astype(jnp.int32)]
    real = (loss_class > 0).astype(jnp.float32)
    n_real = jnp.maximum(real.sum(), 1.0)
    loss = (w * ce).sum() / jnp.maximum(w.sum(), 1e-9)
    z = (real * lse**2).sum() / n_real
    correct = (jnp.argmax(logits, -1) == targets).astype(jnp.float32)
    metrics = {"ce": (real * ce).sum() / n_real, "z": z, "token_acc": (real * correct).sum() / n_real}
    for name, cid in (("value", VALUE), ("name", NAME)):
        m = (loss_class == cid).astype(jnp.float32)
        metrics[f"{name}_acc"] = (m * correct).sum() / jnp.maximum(m.sum(), 1.0)
    return loss + z_loss * z, metrics


def contrastive_loss(query_emb: jax.Array, tool_emb: jax.Array, log_temperature: jax.Array,
                     valid: jax.Array, same_tool: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Symmetric InfoNCE over in-batch negatives: query i's positive is tool i.

    ``valid`` [N] marks real pairs; ``same_tool`` [N,N] marks pairs whose tools are identical
    (not negatives of each other). Returns (loss, recall@1 within the batch).
    """
    scale = jnp.exp(jnp.clip(log_temperature, 0.0, jnp.log(100.0)))
    logits = scale * query_emb @ tool_emb.T
    n = logits.shape[0]
    eye = jnp.eye(n, dtype=bool)
    keep = (valid[:, None] & valid[None, :]) & (eye | ~same_tool)
    logits = jnp.where(keep, logits, -1e9)
    diag = jnp.diagonal(logits)
    lq = jax.nn.logsumexp(logits, axis=1) - diag
    lt = jax.nn.logsumexp(logits, axis=0) - diag
    v = valid.astype(jnp.float32)
    count = jnp.maximum(v.sum(), 1.0)
    loss = 0.5 * ((lq * v).sum() + (lt * v).sum()) / count
    top1 = (jnp.argmax(logits, axis=1) == jnp.arange(n)).astype(jnp.float32)
    return loss, (top1 * v).sum() / count
