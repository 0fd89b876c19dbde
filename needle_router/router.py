"""NeedleRouter: which tool(s) to call for a query, with typed, validated arguments.

    router = NeedleRouter(tools=[get_weather, send_email])
    result = await router.route("what's the weather in Paris?")
    result.calls  # [ToolCall(name='get_weather', arguments={'location': 'Paris'})]

Queries from many coroutines or threads are micro-batched into one decode (see
:mod:`needle_router.batching`); weights load once per process (see :mod:`needle_router.engine`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import math
import os
import threading
import time
import uuid
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, validate_call

from needle_router.calibration import Calibration
from needle_router.clauses import request_clauses, tool_verbs
from needle_router.decoding.calls import OutputParseError, parse_call, split_calls
from needle_router.decoding.grounding import ground_answer
from needle_router.decoding.grammar import ConstraintFactory, compile_grammar
from needle_router.decoding.whitespace import strip_free_text
from needle_router.engine import TOOL_PRIOR_WEIGHT, Binding, Decoded, Engine, Request, get_engine
from needle_router.model.decode import NEW_TOKEN_BUCKETS
from needle_router.parallel import clause_calls
from needle_router.render import MAX_QUERY_TOKENS, tool_tokens
from needle_router.tokenizer.specials import CALL_ID, NO_CALL_ID
from needle_router.tools.errors import ToolSpecError
from needle_router.tools.from_schema import to_tool_specs
from needle_router.tools.spec import ToolSpec, assign_internal_names, registry_fingerprint

__all__ = ["InvokedCall", "NeedleRouter", "QueryError", "RouteResult", "ToolCall", "Usage", "parse_answer"]


class QueryError(ValueError):
    """The query cannot be routed (not text, or empty)."""


class ToolCall(BaseModel):
    """One call the model chose. ``name`` is exactly the user's tool name."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any]


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int


class RouteResult(BaseModel):
    """``calls`` is empty when no tool applies (or confidence was below ``min_confidence``)."""

    query: str
    calls: list[ToolCall]
    confidence: float = Field(ge=0.0, le=1.0)
    usage: Usage
    latency_ms: float        # submit to result, including any wait for a batch slot
    compute_ms: float = 0.0  # the model's share: the decode of this query's batch
    abstained: bool = False  # calls were dropped for low confidence
    truncated: bool = False  # the query was longer than MAX_QUERY_TOKENS and was cut
    errors: list[str] = Field(default_factory=list)  # calls dropped as invalid (unconstrained only)
    # The model's probability that no tool applies, at its call / no-call decision (None where
    # it had no choice: require_call, or unconstrained decoding). Uncalibrated.
    no_call_probability: float | None = None

    @property
    def called(self) -> bool:
        return bool(self.calls)


class InvokedCall(BaseModel):
    """A call and what running it gave: ``result``, or ``error`` (the exception raised)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    call: ToolCall
    result: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _clean_query(query: Any) -> str:
    """Text to route. Bytes are decoded as UTF-8 and invalid sequences (and lone surrogates in
    str) become U+FFFD; empty or whitespace-only queries are refused."""
    if isinstance(query, (bytes, bytearray)):
        query = bytes(query).decode("utf-8", errors="replace")
    if not isinstance(query, str):
        raise QueryError(f"query must be a string, got {type(query).__name__}")
    query = query.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")
    if not query.strip():
        raise QueryError("query is empty (or only whitespace): there is nothing to route")
    return query


DEFAULT_TOP_K = 8


def _warn_other_tools(source: str, tuned: dict[str, Any], specs: Sequence[ToolSpec]) -> None:
    bound, known = {s.name for s in specs}, set(tuned.get("tools", []))
    new, missing = sorted(bound - known), sorted(known - bound)
    detail = "; ".join(part for part in (
        f"not tuned on: {', '.join(new)}" if new else "",
        f"tuned on but not bound: {', '.join(missing)}" if missing else "",
        "" if new or missing else "same names, different definitions") if part)
    warnings.warn(f"model {source} was fine-tuned on another tool set ({detail}); routing may be "
                  "less accurate for these tools", stacklevel=3)


def _budget(max_new_tokens: int) -> int:
    if not isinstance(max_new_tokens, int) or not 16 <= max_new_tokens <= NEW_TOKEN_BUCKETS[-1]:
        raise ValueError(f"max_new_tokens must be an int in [16, {NEW_TOKEN_BUCKETS[-1]}], got {max_new_tokens!r}")
    return max_new_tokens


class NeedleRouter:
    """Routes queries to ``tools`` (functions, pydantic models, LangChain tools, JSON schemas).

    Args:
        tools: the tool set; ``[]`` is valid and always routes to no call.
        model: ``None`` for the shipped default weights, a weights directory, or a preset name.
        top_k: with more tools than this, the retrieval head fused with word overlap (BM25)
            picks the ``top_k`` most relevant tools per query; only those are shown to the model
            and allowed by the grammar.
            ``None``: 8, or for a model fine-tuned on a registry, that registry's size.
        constrained: decode under the tool set's grammar (every call parses and validates).
        min_confidence: calls whose confidence is below this become "no call".
        max_batch: most queries decoded together.
        max_new_tokens: answer budget in tokens (the grammar always finishes within it).
        batch_wait_ms: how long a query waits for others to share its batch.
        ground_optional: drop optional arguments the query gives no ground for (a mode, a
            flag or a text it never mentions), complete a name the model cut short from the
            query's words around it, and fill an optional enum parameter the answer left out
            whose one value the query names (:mod:`needle_router.decoding.grounding`).
        tool_prior: how much the query's match with each tool (the retrieval head and word
            overlap, as retrieval ranks them) adds to the model's choice of tool name, in
            logits per unit of score; 0 leaves the choice to the model alone. ``None``:
            :data:`needle_router.engine.TOOL_PRIOR_WEIGHT`.
        split_clauses: also route each clause of a query that asks for several things, and
            answer with the clauses' calls when two or more of them call different tools
            (:mod:`needle_router.parallel`); costs one more decode per clause, for such
            queries only.
    """

    def __init__(
        self,
        tools: Iterable[Any] = (),
        model: str | os.PathLike | None = None,
        *,
        top_k: int | None = None,
        constrained: bool = True,
        min_confidence: float | None = None,
        max_batch: int = 32,
        max_new_tokens: int = 256,
        batch_wait_ms: float = 2.0,
        ground_optional: bool = True,
        tool_prior: float | None = None,
        split_clauses: bool = True,
    ) -> None:
        if isinstance(tools, (str, bytes)) or not isinstance(tools, Iterable):
            raise ToolSpecError(f"tools must be a list, got {type(tools).__name__}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        tool_prior = TOOL_PRIOR_WEIGHT if tool_prior is None else tool_prior
        if isinstance(tool_prior, bool) or not isinstance(tool_prior, (int, float)) \
                or not 0.0 <= float(tool_prior) <= 100.0:
            raise ValueError(f"tool_prior must be a number in [0, 100], got {tool_prior!r}")
        if min_confidence is not None and not 0.0 <= float(min_confidence) <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence!r}")
        if not isinstance(max_batch, int) or not 1 <= max_batch <= 128:
            raise ValueError(f"max_batch must be an int in [1, 128], got {max_batch!r}")
        specs = assign_internal_names(to_tool_specs(list(tools)))
        self.specs: list[ToolSpec] = specs
        self._by_name = {s.name: s for s in specs}
        self.min_confidence = min_confidence
        self.ground_optional = bool(ground_optional)
        self.split_clauses = bool(split_clauses)
        self._verbs = tool_verbs(s.name for s in specs)
        self.max_batch = max_batch
        self.engine: Engine = get_engine(model)
        # Raw answer probability -> P(right), as fitted on held-out data for these weights.
        self.calibration: Calibration = Calibration.from_info(self.engine.loaded.info)
        tuned = self.engine.loaded.info.get("extra", {}).get("finetune") or {}
        if top_k is None:
            top_k = max(DEFAULT_TOP_K, int(tuned.get("top_k", 0)))
        if tuned and specs and registry_fingerprint(specs) != tuned.get("tools_fingerprint"):
            _warn_other_tools(self.engine.loaded.source, tuned, specs)
        self.batch_wait_s = max(0.0, float(batch_wait_ms)) / 1000.0
        grammar = compile_grammar(specs)
        by_name = {s.internal_name: s for s in specs}
        ordered = [by_name[n] for n in grammar.tool_names]
        index = {n: i for i, n in enumerate(grammar.tool_names)}
        tokenizer = self.engine.tokenizer
        budget = _budget(max_new_tokens)
        for name, length in zip(grammar.tool_names, grammar.call_length):
            if constrained and length + 1 > budget:
                warnings.warn(
                    f"tool {by_name[name].name!r}: its shortest call takes {int(length) + 1} tokens, more "
                    f"than max_new_tokens={budget}; it can never be called (raise max_new_tokens)",
                    stacklevel=2)
        self._binding = Binding(
            specs=ordered,
            user_order=[index[s.internal_name] for s in specs],
            tool_tokens=[tool_tokens(tokenizer, s) for s in ordered],
            grammar=grammar,
            constraints=ConstraintFactory(grammar, tokenizer),
            top_k=top_k,
            constrained=constrained,
            max_new_tokens=budget,
            tool_prior=float(tool_prior),
        )

    # --- introspection -----------------------------------------------------------------------
    @property
    def tools(self) -> list[ToolSpec]:
        return list(self.specs)

    @property
    def top_k(self) -> int:
        """How many tools the model sees per query; with more bound, retrieval picks these."""
        return self._binding.top_k

    @property
    def model_label(self) -> str:
        return self.engine.loaded.label

    def __repr__(self) -> str:
        return f"NeedleRouter({len(self.specs)} tools, model={self.model_label!r})"

    def warmup(self) -> None:
        """Compile the decode program (and embed the tools when retrieval or the no-call
        decision needs them) now."""
        if len(self.specs) > self._binding.top_k or self.engine.decision.uses_match:
            self.engine.tool_embeddings(self._binding)
        self.route_sync("warm up")

    def tool_match(self, query: str) -> tuple[float, float]:
        """How well ``query`` matches the best bound tool: (retrieval cosine, BM25 score), what
        the weights' no-call decision weighs; (-1, 0) with no tools bound."""
        text = _clean_query(query)
        request = Request(self._binding, self.engine.tokenizer.encode(text)[:MAX_QUERY_TOKENS], text=text)
        cosine, bm25 = self.engine.tool_match(self._binding, [request])[0]
        return float(cosine), float(bm25)

    # --- routing -----------------------------------------------------------------------------
    def _submit(self, query: Any, *, allowed: Sequence[str] | None = None,
                require_call: bool = False) -> tuple[str, bool, float, concurrent.futures.Future]:
        text = _clean_query(query)
        ids = self.engine.tokenizer.encode(text)
        truncated = len(ids) > MAX_QUERY_TOKENS
        mask = None
        if allowed is not None:
            names = {s.name: i for i, s in enumerate(self._binding.specs)}
            mask = np.zeros(len(self._binding.specs), bool)
            for name in allowed:
                if name not in names:
                    raise ToolSpecError(f"unknown tool {name!r} in allowed tools", tool=name)
                mask[names[name]] = True
        request = Request(self._binding, ids[:MAX_QUERY_TOKENS], mask, require_call, text)
        fut = self.engine.batcher.submit(self._binding.constrained, request, max_batch=self.max_batch,
                                         max_wait_s=self.batch_wait_s)
        return text, truncated, time.perf_counter(), fut

    def _submit_all(self, query: Any, **options: Any) -> tuple[tuple, list[tuple[str, concurrent.futures.Future]]]:
        """The whole query's submission and, when it has several clauses, each clause's."""
        whole = self._submit(query, **options)
        parts = request_clauses(whole[0], self._verbs) if self.split_clauses and len(self.specs) > 1 else []
        if parts and not self._clauses_match_several_tools(parts):
            parts = []
        # a clause may ask for nothing ("too lazy to cook tonight"): only the whole query is made to call
        clause_options = {k: v for k, v in options.items() if k != "require_call"}
        return whole, [(part, self._submit(part, **clause_options)[3]) for part in parts]

    def _clauses_match_several_tools(self, parts: Sequence[str]) -> bool:
        """Whether the clauses' best-matching tools (head and BM25, as the tool prior ranks
        them) differ. Clauses that all match one tool best nearly always call it, and then the
        whole query's answer stands anyway: their decodes would be spent for nothing."""
        requests = [Request(self._binding, self.engine.tokenizer.encode(p)[:MAX_QUERY_TOKENS], text=p) for p in parts]
        rows = self.engine.match_rows(self._binding, requests, with_clauses=False)
        scores = self.engine.tool_scores(self._binding, requests, rows=rows)
        return len({int(np.argmax(row)) for row in scores}) > 1

    async def route(self, query: str, **options: Any) -> RouteResult:
        """The calls for ``query`` (awaitable; concurrent calls share batches)."""
        return (await self.route_many([query], **options))[0]

    def route_sync(self, query: str, **options: Any) -> RouteResult:
        """Blocking :meth:`route` (safe from any thread; threads share batches too)."""
        (text, truncated, t0, fut), parts = self._submit_all(query, **options)
        return self._answer(text, truncated, t0, fut.result(), [(p, f.result()) for p, f in parts])

    async def route_many(self, queries: Iterable[str], **options: Any) -> list[RouteResult]:
        """Route several queries at once (one or a few batched decodes), results in order."""
        submitted = [self._submit_all(q, **options) for q in queries]

        async def answer(whole: tuple, parts: list[tuple[str, concurrent.futures.Future]]) -> RouteResult:
            decoded = await asyncio.wrap_future(whole[3])
            clause_decoded = [await asyncio.wrap_future(f) for _, f in parts]
            return self._answer(*whole[:3], decoded, [(p, d) for (p, _), d in zip(parts, clause_decoded)])

        return list(await asyncio.gather(*(answer(w, parts) for w, parts in submitted)))

    async def invoke(self, query: str, **options: Any) -> list[InvokedCall]:
        """Route ``query``, then run each chosen tool's Python callable (sync ones in a thread)."""
        result = await self.route(query, **options)
        return list(await asyncio.gather(*(self._execute(c) for c in result.calls)))

    async def _execute(self, call: ToolCall) -> InvokedCall:
        spec = self._by_name[call.name]
        if spec.func is None:
            err = ToolSpecError("tool has no Python callable to invoke (it was declared as a schema)", tool=spec.name)
            return InvokedCall(call=call, error=err)
        func = _typed(spec.func)
        try:
            if spec.is_async:
                value = await func(**call.arguments)
            else:
                value = await asyncio.to_thread(func, **call.arguments)
                if inspect.isawaitable(value):
                    value = await value
        except Exception as exc:  # the caller decides what a failed tool means
            return InvokedCall(call=call, error=exc)
        return InvokedCall(call=call, result=value)

    # --- decoding the answer -------------------------------------------------------------------
    def _answer(self, text: str, truncated: bool, t0: float, decoded: Decoded,
                parts: Sequence[tuple[str, Decoded]]) -> RouteResult:
        """The whole query's result, or its clauses' calls where they ask for several tools."""
        result = self._result(text, truncated, t0, decoded)
        if not parts:
            return result
        answers = [self._result(part, False, t0, d) for part, d in parts]
        calls = clause_calls([a.calls for a in answers])
        if calls is None:
            return result
        confidence = math.prod(a.confidence for a in answers if a.calls)
        abstained = self.min_confidence is not None and confidence < self.min_confidence
        return result.model_copy(update={
            "calls": [] if abstained else calls,
            "confidence": confidence,
            "usage": Usage(input_tokens=result.usage.input_tokens + sum(a.usage.input_tokens for a in answers),
                           output_tokens=result.usage.output_tokens + sum(a.usage.output_tokens for a in answers)),
            "latency_ms": (time.perf_counter() - t0) * 1000.0,
            "compute_ms": result.compute_ms + sum(a.compute_ms for a in answers),
            "abstained": abstained,
            "errors": result.errors + [e for a in answers for e in a.errors],
        })

    def _result(self, text: str, truncated: bool, t0: float, decoded: Decoded) -> RouteResult:
        gen = decoded.generation
        calls, errors = self._parse(gen.tokens, text)
        confidence = self.calibration.apply(
            _confidence(gen.tokens, gen.logprobs, self.engine.tokenizer.vocab_bytes()))
        abstained = False
        if calls and self.min_confidence is not None and confidence < self.min_confidence:
            calls, abstained = [], True
        return RouteResult(
            query=text,
            calls=calls,
            confidence=confidence,
            usage=Usage(input_tokens=decoded.input_tokens, output_tokens=len(gen.tokens) + int(gen.finished)),
            latency_ms=(time.perf_counter() - t0) * 1000.0,
            compute_ms=decoded.compute_ms,
            abstained=abstained,
            truncated=truncated,
            errors=errors if gen.finished else errors + ["answer did not finish within max_new_tokens"],
            no_call_probability=decoded.no_call_probability,
        )

    def _parse(self, tokens: Sequence[int], query: str) -> tuple[list[ToolCall], list[str]]:
        return parse_answer(tokens, self.specs, self.engine.tokenizer.vocab_bytes(),
                            query if self.ground_optional else None)


def parse_answer(tokens: Sequence[int], specs: Sequence[ToolSpec], vocab_bytes: Sequence[bytes],
                 query: str | None = None) -> tuple[list[ToolCall], list[str]]:
    """Generated ids -> (validated calls with the users' tool names, why other calls were
    dropped). Under the grammar nothing is ever dropped; without it, malformed or invalid
    calls are reported instead of raised. With ``query``, optional arguments it gives no
    ground for are left out, names cut short are completed from it and optional enum values
    it names are added (:func:`~needle_router.decoding.grounding.ground_answer`)."""
    errors: list[str] = []
    try:
        _, raw_calls = split_calls(tokens, vocab_bytes)
    except OutputParseError as exc:
        return [], [str(exc)]
    by_internal = {s.internal_name: s for s in specs}
    parsed: list[tuple[ToolSpec, dict[str, Any]]] = []
    for raw in raw_calls:
        try:
            call = parse_call(raw)
            spec = by_internal.get(call.internal_name)
            if spec is None:
                raise OutputParseError(f"unknown tool {call.internal_name!r}")
            args = spec.validate_arguments(strip_free_text(call.arguments, spec.parameters), fill_defaults=False)
        except (OutputParseError, ToolSpecError) as exc:
            errors.append(str(exc))
            continue
        parsed.append((spec, args))
    if query is not None and parsed:
        grounded = ground_answer([(args, spec.parameters) for spec, args in parsed], query)
        parsed = [(spec, args) for (spec, _), args in zip(parsed, grounded)]
    calls = [ToolCall(id=f"call_{uuid.uuid4().hex[:24]}", name=spec.name, arguments=args) for spec, args in parsed]
    return calls, errors


_TYPED: dict[int, Any] = {}
_TYPED_LOCK = threading.Lock()


def _typed(func: Any) -> Any:
    """``func`` with pydantic coercion of its arguments to its own hints (dict -> model...)."""
    with _TYPED_LOCK:
        hit = _TYPED.get(id(func))
        if hit is not None and hit[0] is func:
            return hit[1]
    try:
        wrapped = validate_call(func)
    except Exception:  # builtins, odd callables: call as is
        wrapped = func
    with _TYPED_LOCK:
        _TYPED[id(func)] = (func, wrapped)
    return wrapped


def _confidence(tokens: Sequence[int], logprobs: Sequence[float], vocab_bytes: Sequence[bytes]) -> float:
    """Probability of the decision (call or not, and which tools) times the geometric mean
    probability of the argument tokens. Under the grammar these are the renormalised
    probabilities over allowed tokens, so forced tokens count as certain."""
    if not tokens:
        return 0.0
    decision, args = 0.0, []
    in_name = False
    for tok, lp in zip(tokens, logprobs):
        if tok in (CALL_ID, NO_CALL_ID):
            decision += lp
            in_name = tok == CALL_ID
        elif in_name:
            decision += lp
            if b"{" in vocab_bytes[tok]:
                in_name = False
        else:
            args.append(lp)
    value = math.exp(decision) * (math.exp(sum(args) / len(args)) if args else 1.0)
    return float(min(1.0, max(0.0, value)))
