"""A low-level API that mirrors the original Needle project's, for users coming from it.

The original Needle code is driven by four functions; the same four exist here, with the same
shapes, on top of this package's model, tokenizer, tool normalisation, grammar and decoder::

    from needle_router import SimpleAttentionNetwork, load_checkpoint, get_tokenizer, generate

    params, config = load_checkpoint(path)      # weights dir, preset name, or None (default)
    model = SimpleAttentionNetwork(config)
    tokenizer = get_tokenizer()
    text = generate(model, params, tokenizer,
                    query="What's the weather in Paris?",
                    tools='[{"name": "get_weather", "description": "Current weather",'
                          ' "parameters": {"location": {"type": "string", "required": true}}}]',
                    stream=False)
    # '[{"name": "get_weather", "arguments": {"location": "Paris"}}]'

    for piece in generate(model, params, tokenizer, query=..., tools=..., stream=True):
        print(piece, end="")                    # the pieces join to the stream=False string

``tools`` is a JSON string (or an already parsed list) of tool dicts. Parameters may be written
in the original flat format, ``{"param": {"type": ..., "description": ..., "required": true,
"enum": [...]}}``, or as a JSON Schema object (``{"type": "object", "properties": ...}``); any
other declaration :class:`NeedleRouter` accepts (OpenAI-style dicts, functions, pydantic models,
:class:`~needle_router.tools.ToolSpec`) works too when ``tools`` is a Python list.

The answer is a JSON list of ``{"name": <the tool's name as given>, "arguments": {...}}``, ``[]``
when no tool applies. For anything beyond this (async batching, retrieval over large tool sets,
confidences, running the tools) use :class:`needle_router.NeedleRouter`.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from needle_router.decoding.grammar import ConstraintFactory, compile_grammar
from needle_router.model.config import ModelConfig
from needle_router.model.decode import Generator, _bucket
from needle_router.model.loading import load_model
from needle_router.model.needle import Needle
from needle_router.render import encoder_input, query_tokens, tool_tokens
from needle_router.router import _budget, _clean_query, parse_answer
from needle_router.tokenizer import NeedleTokenizer, default_tokenizer
from needle_router.tools.errors import ToolSpecError
from needle_router.tools.from_schema import to_tool_specs
from needle_router.tools.spec import ToolSpec

__all__ = ["SimpleAttentionNetwork", "generate", "get_tokenizer", "load_checkpoint"]


class SimpleAttentionNetwork(Needle):
    """The Needle encoder-decoder under the original project's class name.

    It *is* :class:`needle_router.model.Needle` (a thin subclass, same parameters), so
    ``SimpleAttentionNetwork(config).apply({"params": params}, enc_tokens, dec_tokens)`` and the
    ``method=Needle.encode`` / ``decode_step`` entry points work with the params returned by
    :func:`load_checkpoint`.
    """


# ------------------------------------------------------------------------------- loading


def load_checkpoint(path: str | os.PathLike | None = None) -> tuple[Any, ModelConfig]:
    """``(params, config)``, as the original ``load_checkpoint`` returns them.

    ``path``: a weights directory written by :func:`needle_router.model.weights.save_weights`,
    a preset name (``"needle-26m"``, ``"needle-tiny"``: seeded random weights), or ``None`` for
    the shipped default weights. ``params`` is the nested parameter dict (no outer ``"params"``
    key); ``config`` the :class:`~needle_router.model.config.ModelConfig`. Raises
    :class:`~needle_router.model.weights.WeightsError` for a missing or corrupt directory.
    A :class:`UserWarning` says so when the weights are untrained (random).
    """
    loaded = load_model(path)
    if loaded.untrained:
        warnings.warn(f"load_checkpoint: {loaded.label}", UserWarning, stacklevel=2)
    return loaded.params, loaded.config


def get_tokenizer(path: str | os.PathLike | None = None) -> NeedleTokenizer:
    """The Needle tokenizer: the shipped one (loaded once per process), or the SentencePiece
    model file at ``path``."""
    return default_tokenizer() if path is None else NeedleTokenizer(path)


# --------------------------------------------------------------------------------- tools


def _is_json_schema(parameters: Mapping[str, Any]) -> bool:
    """True when ``parameters`` is a JSON Schema object rather than the flat format.

    A flat parameter's value is always an object, so a string (or list) ``type``, a ``required``
    list, an ``anyOf``/``$ref``-style keyword or a ``properties`` object whose entries are all
    objects (or a BFCL-style list) can only be JSON Schema. An empty dict means "no
    parameters" either way.
    """
    if not parameters:
        return True
    if isinstance(parameters.get("type"), (str, list)):
        return True
    if isinstance(parameters.get("required"), (list, tuple)):
        return True
    if any(k in parameters for k in ("$ref", "$defs", "definitions", "anyOf", "oneOf", "allOf")):
        return True
    props = parameters.get("properties")
    if isinstance(props, list):
        return True
    return isinstance(props, Mapping) and all(isinstance(v, Mapping) for v in props.values())


def _from_flat(fn: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    """``fn`` with flat-format ``parameters`` wrapped into a JSON Schema object. Per-parameter
    ``"required": true`` flags stay where they are: schema normalisation folds them into the
    object's ``required`` list."""
    parameters = fn.get("parameters")
    if not isinstance(parameters, Mapping) or _is_json_schema(parameters):
        return fn  # JSON Schema, None, or something ToolSpec will reject with a precise message
    name = fn.get("name") if isinstance(fn.get("name"), str) else None
    for pname, pschema in parameters.items():
        if not isinstance(pschema, Mapping):
            raise ToolSpecError(
                "unknown parameters format: expected a JSON Schema object "
                '({"type": "object", "properties": {...}}) or the flat format '
                '({"param": {"type": "string", "required": true}}), but this parameter is a '
                f"{type(pschema).__name__}, not an object",
                tool=name, parameter=str(pname), index=index)
    return {**fn, "parameters": {"type": "object", "properties": dict(parameters)}}


def _tool_dict(tool: Any, index: int) -> Any:
    """One tool declaration with flat parameters converted (OpenAI-style wrappers included)."""
    if not isinstance(tool, Mapping):
        return tool
    inner = tool.get("function")
    if isinstance(inner, Mapping):
        return {**tool, "function": _from_flat(inner, index)}
    return _from_flat(tool, index)


def parse_tools(tools: Any) -> list[ToolSpec]:
    """ToolSpecs (with unique internal names) from ``tools``: a JSON string / bytes or a list.

    ``None`` means no tools; a single tool object is taken as a one-tool list. Invalid JSON
    raises :class:`ValueError` with the position of the error; a tool that cannot be understood
    raises :class:`~needle_router.tools.ToolSpecError` naming it (and its index).
    """
    if isinstance(tools, (bytes, bytearray)):
        tools = bytes(tools).decode("utf-8", errors="replace")
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except json.JSONDecodeError as exc:
            raise ValueError(f"tools is not valid JSON: {exc.msg} at line {exc.lineno} column "
                             f"{exc.colno} (char {exc.pos})") from None
    if tools is None:
        return []
    if isinstance(tools, Mapping):
        tools = [tools]
    if not isinstance(tools, (list, tuple)):
        raise ToolSpecError(f"tools must be a JSON list of tool objects, got {type(tools).__name__}")
    return to_tool_specs([_tool_dict(t, i) for i, t in enumerate(tools)])


# ------------------------------------------------------------------------------ decoding

_GENERATORS: OrderedDict[tuple[int, ModelConfig], tuple[Any, Generator]] = OrderedDict()
_GENERATORS_LOCK = threading.Lock()
_GENERATORS_SIZE = 2


def _generator(params: Any, config: ModelConfig) -> Generator:
    """A Generator for ``params`` (weights put on the device once per params object)."""
    key = (id(params), config)
    with _GENERATORS_LOCK:
        hit = _GENERATORS.get(key)
        if hit is not None and hit[0] is params:
            _GENERATORS.move_to_end(key)
            return hit[1]
    gen = Generator(params, config)
    with _GENERATORS_LOCK:
        _GENERATORS[key] = (params, gen)
        _GENERATORS.move_to_end(key)
        while len(_GENERATORS) > _GENERATORS_SIZE:
            _GENERATORS.popitem(last=False)
    return gen


def _calls(tokens: Sequence[int], specs: Sequence[ToolSpec], tokenizer: NeedleTokenizer,
           query: str | None = None) -> list[dict[str, Any]]:
    """The decoded calls as ``{"name": user name, "arguments": validated dict}``, parsed exactly
    as :class:`NeedleRouter` parses them by default (malformed or invalid calls, possible only
    without the grammar, are dropped; so are optional arguments the query gives no ground for)."""
    calls, _errors = parse_answer(tokens, specs, tokenizer.vocab_bytes(), query)
    return [{"name": c.name, "arguments": c.arguments} for c in calls]


def _pieces(calls: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """The answer's JSON text in pieces: ``[``, each call (``, ``-separated), ``]``; joined they
    equal ``json.dumps(calls, ensure_ascii=False)``. A call whose arguments cannot be written as
    strict JSON (a number that overflowed to infinity) is left out."""
    yield "["
    first = True
    for call in calls:
        try:
            text = json.dumps(call, ensure_ascii=False, allow_nan=False)
        except ValueError:
            continue
        yield text if first else ", " + text
        first = False
    yield "]"


class _Request:
    """One validated generate() request; :meth:`pieces` runs the decode."""

    def __init__(self, model: Any, params: Any, tokenizer: Any, query: Any, tools: Any,
                 max_new_tokens: int, constrained: bool) -> None:
        if not isinstance(model, Needle):
            raise TypeError(f"model must be a SimpleAttentionNetwork (Needle) module, got {type(model).__name__}")
        if model.quant_bits:
            raise ValueError("generate decodes with float weights; use a model without quant_bits "
                             "(fake quantization is a training-time option)")
        if not isinstance(tokenizer, NeedleTokenizer):
            raise TypeError("tokenizer must be a NeedleTokenizer (see get_tokenizer()), "
                            f"got {type(tokenizer).__name__}")
        self.config: ModelConfig = model.cfg
        self.params = params
        self.tokenizer = tokenizer
        self.max_new_tokens = _budget(max_new_tokens)
        self.constrained = bool(constrained)
        self.specs = parse_tools(tools)
        text = self.query = _clean_query(query)
        self.encoder_ids = encoder_input(query_tokens(tokenizer, text),
                                         [tool_tokens(tokenizer, s) for s in self.specs])

    def decode(self) -> list[int]:
        generator = _generator(self.params, self.config)
        constraint = None
        if self.constrained:
            factory = ConstraintFactory(compile_grammar(self.specs), self.tokenizer)
            batch = _bucket(1, generator.batch_buckets, "batch size")
            constraint = factory(None, batch, self.max_new_tokens)
        (gen,) = generator.generate([self.encoder_ids], max_new_tokens=self.max_new_tokens,
                                    constraint=constraint)
        return gen.tokens

    def pieces(self) -> Iterator[str]:
        yield from _pieces(_calls(self.decode(), self.specs, self.tokenizer, self.query))


def generate(
    model: Needle,
    params: Any,
    tokenizer: NeedleTokenizer,
    query: str,
    tools: str | Sequence[Any] | None = "[]",
    stream: bool = False,
    *,
    max_new_tokens: int = 256,
    constrained: bool = True,
) -> str | Iterator[str]:
    """The tool calls for ``query`` as JSON text, like the original ``generate``.

    Args:
        model: a :class:`SimpleAttentionNetwork` (any :class:`~needle_router.model.Needle`);
            its ``cfg`` must be the config ``params`` were loaded with.
        params: the parameters from :func:`load_checkpoint`.
        tokenizer: from :func:`get_tokenizer`.
        query: the user's request.
        tools: a JSON string or a list of tools (flat or JSON Schema parameters, see the
            module docstring); ``[]`` / ``None`` for no tools.
        stream: return an iterator of text pieces instead of one string.
        max_new_tokens: answer budget in tokens, 16 to 512 (under the grammar the answer
            always finishes within it).
        constrained: decode under the tool set's grammar, so every call names a given tool
            and has valid arguments. Without it, calls that do not parse or validate are
            dropped from the answer.

    Returns:
        ``'[{"name": ..., "arguments": {...}}, ...]'`` (``"[]"`` when no tool applies); with
        ``stream=True`` an iterator yielding ``"["``, each call's JSON (after the first,
        prefixed with ``", "``) and ``"]"``, whose concatenation is exactly that string.
        Greedy decoding runs as one fused device loop, so the pieces become available together
        when the decode ends (on the first ``next()``); input errors are raised by the call
        itself, before any iteration.

    Raises:
        ValueError: ``tools`` is not valid JSON (the message gives the position), the query is
            empty (:class:`~needle_router.QueryError`), or ``max_new_tokens`` is out of range.
        ToolSpecError: a tool cannot be understood (the message names it).
    """
    request = _Request(model, params, tokenizer, query, tools, max_new_tokens, constrained)
    if stream:
        return request.pieces()
    return "".join(request.pieces())
