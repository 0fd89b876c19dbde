"""One loaded model per process, shared by every router that names it.

An :class:`Engine` owns the weights on the device, the jitted generation and embedding
programs, a cache of tool embeddings (by tool fingerprint) and the micro-batcher's worker.
Building a router for a new tool set therefore costs its grammar and, when it has more tools
than ``top_k`` or the weights' no-call decision weighs the query-tool match, its tools'
embeddings and word index; never a weight reload.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from needle_router.batching import MicroBatcher
from needle_router.clauses import clauses
from needle_router.decision import NoCallDecision, no_call_decision
from needle_router.decoding.grammar import ConstraintFactory, ConstraintRows, Grammar, batch_constraint
from needle_router.lexical import LexicalIndex, clause_rows, fuse_clauses
from needle_router.model.config import PRESETS, ModelConfig
from needle_router.model.decode import (
    BATCH_BUCKETS,
    LENGTH_BUCKETS,
    Generation,
    Generator,
    _bucket,
)
from needle_router.model.loading import DEFAULT_WEIGHTS_DIR, LoadedModel, load_model
from needle_router.model.needle import Needle
from needle_router.render import encoder_input, query_tokens
from needle_router.tokenizer import NeedleTokenizer, default_tokenizer
from needle_router.tokenizer.specials import NO_CALL_ID, PAD_ID
from needle_router.tools.spec import ToolSpec

EMBED_CHUNK = 32  # rows per embedding call
#: logits per unit of fused retrieval score added to each tool's name while decoding; chosen on
#: training-split queries (400, base weights: exact 36.0 at 0, 39.0 at 1, 40.0 at 2, 40.2 at 3-6)
TOOL_PRIOR_WEIGHT = 3.0


@functools.partial(jax.jit, static_argnames=("cfg",))
def _embed(params, tokens, *, cfg: ModelConfig):
    model = Needle(cfg)
    enc, mask = model.apply({"params": params}, tokens, method=Needle.encode)
    return model.apply({"params": params}, enc, mask, method=Needle.retrieve)


@dataclass
class Binding:
    """A tool set bound for routing: specs in grammar order, their tokens, grammar, options."""

    specs: list[ToolSpec]  # grammar order (sorted internal names)
    user_order: list[int]  # grammar index of each tool in the user's order
    tool_tokens: list[list[int]]
    grammar: Grammar
    constraints: ConstraintFactory
    top_k: int
    constrained: bool
    max_new_tokens: int
    tool_prior: float = 0.0  # logit weight of the retrieval scores on the tool name (0: none)
    embeddings: np.ndarray | None = None  # [T, r], computed on first use
    lexical: LexicalIndex | None = None  # BM25 over the tools, built on first use
    lock: threading.Lock = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass(frozen=True)
class Request:
    binding: Binding
    query_ids: list[int]
    allowed: np.ndarray | None = None  # [T] bool in grammar order, None = all tools
    require_call: bool = False
    text: str = ""  # the query's text, for the word-overlap half of retrieval ("" = head only)


@dataclass(frozen=True)
class Decoded:
    generation: Generation
    shown: list[int]  # grammar indices of the tools rendered into the input, in order
    input_tokens: int
    compute_ms: float  # the decode of this request's batch (tool selection + generation)
    no_call_probability: float | None = None  # at the decision step; None where there was no choice


class Engine:
    def __init__(self, loaded: LoadedModel, tokenizer: NeedleTokenizer | None = None) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.tokenizer = tokenizer or default_tokenizer()
        self.generator = Generator(loaded.params, loaded.config)
        self.decision: NoCallDecision = no_call_decision(loaded.info, str(loaded.source))
        self.params = self.generator.params
        self.batcher = MicroBatcher(self.run_batch)
        self._embeddings: dict[str, np.ndarray] = {}
        self._embed_lock = threading.Lock()

    def update_params(self, params: Any) -> None:
        """Swap in new weights of the same config (a model being trained, evaluated between
        steps); tool embeddings computed with the old weights are dropped. Not while routing."""
        with self._embed_lock:
            self.generator.params = jax.device_put(params)
            self.params = self.generator.params
            self._embeddings.clear()

    # --- embeddings ------------------------------------------------------------------------
    def embed(self, token_lists: Sequence[Sequence[int]]) -> np.ndarray:
        """Retrieval embeddings [N, r] of encoder inputs (one row per token list)."""
        out = []
        for start in range(0, len(token_lists), EMBED_CHUNK):
            chunk = token_lists[start:start + EMBED_CHUNK]
            length = _bucket(max(len(t) for t in chunk), LENGTH_BUCKETS, "embedding input length")
            batch = _bucket(len(chunk), BATCH_BUCKETS, "batch size")
            arr = np.full((batch, length), PAD_ID, np.int32)
            for i, t in enumerate(chunk):
                arr[i, : len(t)] = t
            emb = _embed(self.params, jnp.asarray(arr), cfg=self.config)
            out.append(np.asarray(emb, np.float32)[: len(chunk)])
        return np.concatenate(out) if out else np.zeros((0, self.config.retrieval_dim), np.float32)

    def tool_embeddings(self, binding: Binding) -> np.ndarray:
        """[T, r] in grammar order, each tool computed once per process (by fingerprint)."""
        if binding.embeddings is not None:
            return binding.embeddings
        with binding.lock:
            if binding.embeddings is None:
                keys = [f"{s.fingerprint()}:{s.internal_name}" for s in binding.specs]
                with self._embed_lock:
                    missing = [i for i, k in enumerate(keys) if k not in self._embeddings]
                if missing:
                    fresh = self.embed([binding.tool_tokens[i] for i in missing])
                    with self._embed_lock:
                        for i, e in zip(missing, fresh):
                            self._embeddings[keys[i]] = e
                with self._embed_lock:
                    binding.embeddings = np.stack([self._embeddings[k] for k in keys])
        return binding.embeddings

    # --- batched routing -------------------------------------------------------------------
    def lexical_index(self, binding: Binding) -> LexicalIndex:
        """BM25 over the binding's tools, built once."""
        with binding.lock:
            if binding.lexical is None:
                binding.lexical = LexicalIndex.for_tools(binding.specs)
            return binding.lexical

    def match_rows(self, binding: Binding, requests: Sequence[Request], queries: np.ndarray | None = None,
                   with_clauses: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per request, (head cosines, BM25 scores) [1 + C, T] of the whole query (row 0) and
        its clauses (none unless ``with_clauses``) against each tool (grammar order); cosines
        are ``-inf`` for tools the request may not call, BM25 has no rows without a query text.
        What both the no-call decision's match and the tool scores read, computed once."""
        if not binding.specs:
            return [(np.full((1, 0), -np.inf, np.float32), np.zeros((0, 0), np.float32)) for _ in requests]
        tools = self.tool_embeddings(binding)
        if queries is None:
            queries = self.embed([req.query_ids for req in requests])
        empty = np.zeros((0, self.config.retrieval_dim), np.float32)
        parts = self.clause_embeddings([req.text for req in requests]) if with_clauses \
            else [([], empty) for _ in requests]
        lexical = self.lexical_index(binding)
        out = []
        for r, req in enumerate(requests):
            texts, clause_embeddings = parts[r]
            dense, words = clause_rows(queries[r], clause_embeddings, tools, lexical,
                                       (req.text, *texts) if req.text else ())
            if req.allowed is not None:
                dense[:, ~req.allowed] = -np.inf
            out.append((dense, words))
        return out

    def tool_match(self, binding: Binding, requests: Sequence[Request], queries: np.ndarray | None = None,
                   rows: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
        """[R, 2]: each query's best retrieval cosine and best BM25 score over the tools it may
        call, what the no-call decision weighs; (-1, 0) where it may call none. ``queries``:
        the requests' embeddings, ``rows``: their :meth:`match_rows`, when already computed."""
        out = np.tile(np.array([-1.0, 0.0]), (len(requests), 1))
        if not binding.specs or not requests:
            return out
        rows = rows if rows is not None else self.match_rows(binding, requests, queries, with_clauses=False)
        for r, (req, (dense, words)) in enumerate(zip(requests, rows)):
            allowed = np.isfinite(dense[0])
            if not allowed.any():
                continue
            out[r, 0] = dense[0][allowed].max()
            if len(words):
                out[r, 1] = words[0][allowed].max()
        return out

    def tool_scores(self, binding: Binding, requests: Sequence[Request], queries: np.ndarray | None = None,
                    rows: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
        """[R, T] how well each request matches each tool (grammar order): the retrieval head
        and BM25 fused over the whole query and its clauses (:func:`fuse_clauses`), ``-inf``
        for tools a request may not call. ``queries`` / ``rows`` as in :meth:`tool_match`."""
        out = np.full((len(requests), len(binding.specs)), -np.inf, np.float32)
        if not requests or not binding.specs:
            return out
        rows = rows if rows is not None else self.match_rows(binding, requests, queries)
        for r, (dense, words) in enumerate(rows):
            out[r] = fuse_clauses(dense, words) if len(words) else dense[0]
        return out

    def _select(self, binding: Binding, requests: Sequence[Request], queries: np.ndarray | None = None,
                scores: np.ndarray | None = None) -> list[list[int]]:
        """Which tools each request shows the model (grammar indices, in render order): all it
        may call, or with more than ``top_k`` the best ``top_k`` by ``scores`` (computed here
        when not given)."""
        shown: list[list[int] | None] = [None] * len(requests)
        need = []
        for r, req in enumerate(requests):
            pool = binding.user_order if req.allowed is None else [i for i in binding.user_order if req.allowed[i]]
            if len(pool) <= binding.top_k:
                shown[r] = pool
            else:
                need.append(r)
        if need:
            if scores is None:
                scores = np.full((len(requests), len(binding.specs)), -np.inf, np.float32)
                scores[need] = self.tool_scores(binding, [requests[r] for r in need],
                                                None if queries is None else queries[need])
            for r in need:
                top = np.argsort(-scores[r], kind="stable")[: binding.top_k]
                shown[r] = [int(i) for i in top]
        return shown  # type: ignore[return-value]

    def clause_embeddings(self, texts: Sequence[str]) -> list[tuple[list[str], np.ndarray]]:
        """Each text's clauses (:func:`needle_router.clauses.clauses`; none for a single
        request) and their retrieval embeddings [C, r], embedded together in one pass."""
        split = [clauses(t) if t else [] for t in texts]
        flat = [query_tokens(self.tokenizer, c) for parts in split for c in parts]
        rows = self.embed(flat) if flat else np.zeros((0, self.config.retrieval_dim), np.float32)
        out, start = [], 0
        for parts in split:
            out.append((parts, rows[start:start + len(parts)]))
            start += len(parts)
        return out

    def run_batch(self, constrained: bool, requests: Sequence[Request]) -> list[Decoded]:
        """Decode requests of any tool sets together; each row follows its own grammar (when
        ``constrained``), sees its own tools and keeps to its own token budget."""
        t0 = time.perf_counter()
        by_binding: dict[Binding, list[int]] = {}
        for i, req in enumerate(requests):
            by_binding.setdefault(req.binding, []).append(i)
        shown: list[list[int]] = [[] for _ in requests]
        decision = self.decision
        offsets = np.full(len(requests), decision.bias, np.float32)
        priors: dict[Binding, np.ndarray] = {}
        for binding, rows in by_binding.items():
            group = [requests[i] for i in rows]
            queries, matched, scores = None, None, None
            use_prior = constrained and binding.tool_prior > 0 and len(binding.specs) > 1
            use_match = decision.uses_match and bool(binding.specs) and not all(req.require_call for req in group)
            if use_prior or use_match:   # embedded once: the match, the prior and retrieval read them
                queries = self.embed([req.query_ids for req in group])
            if use_prior:            # the rows over the query and its clauses, for the prior and the match
                matched = self.match_rows(binding, group, queries)
                scores = self.tool_scores(binding, group, rows=matched)
            if use_match:
                match = self.tool_match(binding, group, queries, rows=matched)
                offsets[rows] = decision.bias + match @ np.array([decision.dense, decision.lexical])
            if constrained:          # a zero prior still: every routed batch runs one decode program
                priors[binding] = binding.tool_prior * scores if use_prior \
                    else np.zeros((len(group), len(binding.specs)), np.float32)
            for i, tools in zip(rows, self._select(binding, group, queries, scores)):
                shown[i] = tools
        inputs = [encoder_input(req.query_ids, [req.binding.tool_tokens[i] for i in tools])
                  for req, tools in zip(requests, shown)]
        constraint = None
        if constrained:
            parts = []
            for binding, rows in by_binding.items():
                allowed = np.zeros((len(rows), len(binding.specs)), bool)
                for j, i in enumerate(rows):
                    allowed[j, shown[i]] = True
                parts.append(ConstraintRows(binding.constraints, rows, allowed,
                                            [requests[i].require_call for i in rows], binding.max_new_tokens,
                                            priors.get(binding)))
            batch = _bucket(len(requests), self.generator.batch_buckets, "batch size")
            constraint = batch_constraint(parts, batch)
        budget = max(req.binding.max_new_tokens for req in requests)
        gens = self.generator.generate(inputs, max_new_tokens=budget, constraint=constraint,
                                       no_call_bias=offsets)
        ms = (time.perf_counter() - t0) * 1000.0
        return [Decoded(_within(g, req.binding.max_new_tokens), tools, len(x), ms,
                        _no_call_probability(g, req, constrained))
                for g, req, tools, x in zip(gens, requests, shown, inputs)]


def _no_call_probability(gen: Generation, req: Request, constrained: bool) -> float | None:
    """P(no call) at the first step. Under the grammar the first token is ``<|call|>`` or
    ``<|no_call|>``, so the chosen one's probability gives both; unconstrained (a full-vocabulary
    choice) or with ``require_call`` (no choice) there is none to report."""
    if not constrained or req.require_call or not gen.tokens:
        return None
    p = math.exp(float(gen.logprobs[0]))
    return p if gen.tokens[0] == NO_CALL_ID else 1.0 - p


def _within(gen: Generation, budget: int) -> Generation:
    """An unconstrained row decoded beside rows with larger budgets, cut to its own."""
    if len(gen.tokens) < budget or (len(gen.tokens) == budget and not gen.finished):
        return gen
    return Generation(gen.tokens[:budget], gen.logprobs[:budget], False)


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine_key(model: Any) -> str:
    if model is None:
        return "default"
    if isinstance(model, str) and model in PRESETS:
        return f"preset:{model}"
    if isinstance(model, (str, os.PathLike)):
        # A folder rewritten in place (new best weights, a stored calibration) is a new model.
        folder = Path(model).resolve()
        stamps = []
        for name in ("config.json", "model.safetensors"):
            try:
                st = (folder / name).stat()
                stamps.append(f"{st.st_mtime_ns}:{st.st_size}")
            except OSError:
                stamps.append("-")
        return f"{folder}@{','.join(stamps)}"
    raise TypeError(f"model must be None, a preset name or a weights directory, got {type(model).__name__}")


def get_engine(model: "str | os.PathLike | LoadedModel | Engine | None" = None) -> Engine:
    """The process-wide engine for ``model`` (loaded on first use). An :class:`Engine` is used as
    it is and a :class:`LoadedModel` (in-memory weights, e.g. a model being trained) gets a new,
    uncached engine."""
    if isinstance(model, Engine):
        return model
    if isinstance(model, LoadedModel):
        return Engine(model)
    key = _engine_key(model)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = Engine(load_model(model))
            folder = key.rsplit("@", 1)[0] + "@"
            for stale in [k for k in _ENGINES if k.startswith(folder)]:
                del _ENGINES[stale]  # an older version of the same folder
            _ENGINES[key] = engine
        return engine


__all__ = ["Binding", "Decoded", "Engine", "Request", "get_engine", "DEFAULT_WEIGHTS_DIR"]
