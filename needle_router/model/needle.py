"""The Needle encoder-decoder: a Simple Attention Network (attention only, no FFN).

Read top to bottom: encoder layer, decoder layer, encoder, decoder, retrieval head, and
the `Needle` model whose methods are the entry points used by training (`__call__`) and
by cached decoding (`encode`, `cross_kv`, `decode_step`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from needle_router.model.config import ModelConfig
from needle_router.model.layers import Attention, TiedEmbedding, ZCRMSNorm, compute_dtype
from needle_router.tokenizer.specials import PAD_ID

Cache = tuple[tuple[jax.Array, jax.Array], ...]  # per decoder layer: (keys, values) [B,KV,T,D]


def _gate(module: nn.Module, name: str) -> jax.Array:
    """A gated residual's scalar logit a (init 0): the update is scaled by sigmoid(a)."""
    return jax.nn.sigmoid(module.param(name, nn.initializers.zeros_init(), (), jnp.float32))


class EncoderLayer(nn.Module):
    cfg: ModelConfig
    quant_bits: int | None = None
    dropout: float = 0.0

    def setup(self) -> None:
        self.norm = ZCRMSNorm(self.cfg.norm_eps)
        self.attn = Attention(self.cfg, use_rope=True, quant_bits=self.quant_bits)
        self.gate = _gate(self, "gate")
        self.drop = nn.Dropout(self.dropout)

    def __call__(self, x: jax.Array, positions: jax.Array, mask: jax.Array, train: bool = False) -> jax.Array:
        h = self.norm(x)
        out = self.drop(self.attn(h, h, positions, positions, mask), deterministic=not train)
        return x + (self.gate * out).astype(x.dtype)


class DecoderLayer(nn.Module):
    cfg: ModelConfig
    quant_bits: int | None = None
    dropout: float = 0.0

    def setup(self) -> None:
        c = self.cfg
        self.self_norm = ZCRMSNorm(c.norm_eps)
        self.self_attn = Attention(c, use_rope=True, quant_bits=self.quant_bits)
        self.self_gate = _gate(self, "self_gate")
        self.cross_norm = ZCRMSNorm(c.norm_eps)
        self.cross_attn = Attention(c, use_rope=False, quant_bits=self.quant_bits)
        self.cross_gate = _gate(self, "cross_gate")
        self.drop = nn.Dropout(self.dropout)

    def __call__(self, x, positions, self_mask, enc_out, cross_mask, train: bool = False) -> jax.Array:
        """Whole-sequence pass (training, and the no-cache reference decoder)."""
        h = self.self_norm(x)
        out = self.drop(self.self_attn(h, h, positions, positions, self_mask), deterministic=not train)
        x = x + (self.self_gate * out).astype(x.dtype)
        h = self.cross_norm(x)
        out = self.drop(self.cross_attn(h, enc_out, None, None, cross_mask), deterministic=not train)
        return x + (self.cross_gate * out).astype(x.dtype)

    def cross_kv(self, enc_out: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self.cross_attn.project_kv(enc_out, None)

    def step(self, x, pos, cache, cross, cross_mask):
        """One new token per row: write its K/V at `pos`, attend over the cache and the encoder."""
        positions = jnp.reshape(pos, (1,))
        h = self.self_norm(x)
        q = self.self_attn.project_q(h, positions)
        k, v = self.self_attn.project_kv(h, positions)
        cache_k = jax.lax.dynamic_update_slice(cache[0], k.astype(cache[0].dtype), (0, 0, pos, 0))
        cache_v = jax.lax.dynamic_update_slice(cache[1], v.astype(cache[1].dtype), (0, 0, pos, 0))
        self_mask = (jnp.arange(cache_k.shape[2]) <= pos)[None, None, :]
        x = x + (self.self_gate * self.self_attn.attend(q, cache_k, cache_v, self_mask)).astype(x.dtype)
        h = self.cross_norm(x)
        q = self.cross_attn.project_q(h, None)
        x = x + (self.cross_gate * self.cross_attn.attend(q, cross[0], cross[1], cross_mask)).astype(x.dtype)
        return x, (cache_k, cache_v)


class Encoder(nn.Module):
    cfg: ModelConfig
    quant_bits: int | None = None
    dropout: float = 0.0
    remat: bool = False

    def setup(self) -> None:
        # remat: keep only each layer's input for the backward pass and recompute the rest
        # (packed 2048-token rows make attention scores the largest activations by far)
        layer = nn.remat(EncoderLayer, static_argnums=(4,)) if self.remat else EncoderLayer
        self.layers = [layer(self.cfg, self.quant_bits, self.dropout) for _ in range(self.cfg.encoder_layers)]
        self.final_norm = ZCRMSNorm(self.cfg.norm_eps)

    def __call__(self, x: jax.Array, mask: jax.Array, positions: jax.Array | None = None,
                 attn_mask: jax.Array | None = None, train: bool = False) -> jax.Array:
        """x: embedded tokens [B,S,d]; mask: [B,S] True on real tokens (bidirectional).
        Packed rows pass per-row ``positions`` [B,S] and a block-diagonal ``attn_mask`` [B,S,S]."""
        positions = jnp.arange(x.shape[1]) if positions is None else positions
        attn_mask = mask[:, None, :] if attn_mask is None else attn_mask
        for layer in self.layers:
            x = layer(x, positions, attn_mask, train)
        return self.final_norm(x)


class Decoder(nn.Module):
    cfg: ModelConfig
    quant_bits: int | None = None
    dropout: float = 0.0
    remat: bool = False

    def setup(self) -> None:
        layer = nn.remat(DecoderLayer, static_argnums=(6,)) if self.remat else DecoderLayer
        self.layers = [layer(self.cfg, self.quant_bits, self.dropout) for _ in range(self.cfg.decoder_layers)]
        self.final_norm = ZCRMSNorm(self.cfg.norm_eps)

    def __call__(self, y: jax.Array, enc_out: jax.Array, enc_mask: jax.Array, positions: jax.Array | None = None,
                 self_mask: jax.Array | None = None, cross_mask: jax.Array | None = None,
                 train: bool = False) -> jax.Array:
        t = y.shape[1]
        positions = jnp.arange(t) if positions is None else positions
        self_mask = jnp.tril(jnp.ones((t, t), dtype=bool))[None] if self_mask is None else self_mask
        cross_mask = enc_mask[:, None, :] if cross_mask is None else cross_mask
        for layer in self.layers:
            y = layer(y, positions, self_mask, enc_out, cross_mask, train)
        return self.final_norm(y)

    def cross_kv(self, enc_out: jax.Array) -> Cache:
        return tuple(layer.cross_kv(enc_out) for layer in self.layers)

    def step(self, y, pos, cache: Cache, cross: Cache, enc_mask) -> tuple[jax.Array, Cache]:
        cross_mask = enc_mask[:, None, :]
        new_cache = []
        for layer, layer_cache, layer_cross in zip(self.layers, cache, cross):
            y, layer_cache = layer.step(y, pos, layer_cache, layer_cross, cross_mask)
            new_cache.append(layer_cache)
        return self.final_norm(y), tuple(new_cache)


class RetrievalHead(nn.Module):
    """Query/tool embedding: mean-pool -> Dense+ReLU -> Dense -> L2 norm, with a learnable
    temperature (CLIP-style logit scale, init 1/0.07) for the contrastive loss."""

    features: int

    @nn.compact
    def __call__(self, enc_out: jax.Array, mask: jax.Array) -> jax.Array:
        m = mask.astype(jnp.float32)[..., None]
        pooled = (enc_out.astype(jnp.float32) * m).sum(1) / jnp.maximum(m.sum(1), 1.0)
        h = nn.relu(nn.Dense(self.features, name="hidden")(pooled))
        e = nn.Dense(self.features, name="out")(h)
        self.param("log_temperature", nn.initializers.constant(jnp.log(1 / 0.07)), (), jnp.float32)
        return e * jax.lax.rsqrt(jnp.sum(e * e, axis=-1, keepdims=True) + 1e-12)


class Needle(nn.Module):
    cfg: ModelConfig
    # None: float weights. 4 or 8: fake-quantize every kernel and the embedding (QAT).
    quant_bits: int | None = None
    # dropout on every attention output (training only; `train=True` and a "dropout" rng)
    dropout: float = 0.0
    # recompute each layer in the backward pass instead of storing its activations (training)
    remat: bool = False

    def setup(self) -> None:
        c, dt = self.cfg, compute_dtype(self.cfg)
        self.embed = TiedEmbedding(c.vocab_size, c.d_model, dt, self.quant_bits)
        self.encoder = Encoder(c, self.quant_bits, self.dropout, self.remat)
        self.decoder = Decoder(c, self.quant_bits, self.dropout, self.remat)
        self.retrieval = RetrievalHead(c.retrieval_dim)

    def __call__(self, enc_tokens: jax.Array, dec_tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Teacher-forced logits [B,T,V] and the query's retrieval embedding [B,r]."""
        enc_out, enc_mask = self.encode(enc_tokens)
        return self.decode(dec_tokens, enc_out, enc_mask), self.retrieval(enc_out, enc_mask)

    def packed_logits(self, enc_tokens, enc_segments, enc_positions, dec_tokens, dec_segments, dec_positions,
                      train: bool = False, freeze_encoder: bool = False) -> jax.Array:
        """Teacher-forced logits [B,T,V] for packed rows: several examples per row, told apart
        by segment ids (0 = padding); attention never crosses a segment. ``freeze_encoder``:
        no gradient flows into the encoder (nor its backward pass is computed)."""
        enc_self = (enc_segments[:, :, None] == enc_segments[:, None, :]) & (enc_segments[:, None, :] > 0)
        t = dec_tokens.shape[1]
        dec_self = (dec_segments[:, :, None] == dec_segments[:, None, :]) & jnp.tril(jnp.ones((t, t), bool))[None]
        cross = (dec_segments[:, :, None] == enc_segments[:, None, :]) & (enc_segments[:, None, :] > 0)
        enc_out = self.encoder(self.embed(enc_tokens), enc_segments > 0, enc_positions, enc_self, train)
        if freeze_encoder:
            enc_out = jax.lax.stop_gradient(enc_out)
        y = self.decoder(self.embed(dec_tokens), enc_out, enc_segments > 0, dec_positions, dec_self, cross, train)
        return self.embed.attend(y)

    def embed_for_retrieval(self, tokens: jax.Array, train: bool = False) -> jax.Array:
        """L2-normalised retrieval embeddings [B,r] of token sequences (a query, or one tool)."""
        mask = tokens != PAD_ID
        return self.retrieval(self.encoder(self.embed(tokens), mask, train=train), mask)

    def encode(self, enc_tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
        mask = enc_tokens != PAD_ID
        return self.encoder(self.embed(enc_tokens), mask), mask

    def decode(self, dec_tokens: jax.Array, enc_out: jax.Array, enc_mask: jax.Array) -> jax.Array:
        return self.embed.attend(self.decoder(self.embed(dec_tokens), enc_out, enc_mask))

    def retrieve(self, enc_out: jax.Array, enc_mask: jax.Array) -> jax.Array:
        return self.retrieval(enc_out, enc_mask)

    def cross_kv(self, enc_out: jax.Array) -> Cache:
        return self.decoder.cross_kv(enc_out)

    def decode_step(self, tokens, pos, cache: Cache, cross: Cache, enc_mask):
        """tokens: [B] ids at position `pos` -> (logits [B,V], updated cache)."""
        y, cache = self.decoder.step(self.embed(tokens[:, None]), pos, cache, cross, enc_mask)
        return self.embed.attend(y[:, 0]), cache


def empty_cache(cfg: ModelConfig, batch: int, max_len: int) -> Cache:
    shape = (batch, cfg.num_kv_heads, max_len, cfg.head_dim)
    dt = compute_dtype(cfg)
    return tuple((jnp.zeros(shape, dt), jnp.zeros(shape, dt)) for _ in range(cfg.decoder_layers))
