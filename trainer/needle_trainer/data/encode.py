"""Examples -> token arrays in the model's format, with a loss class for every target token.

The encoder input and the decoder target are produced by the very functions the router uses
(:mod:`needle_router.render`, :mod:`needle_router.decoding.calls`), so training and serving
cannot drift apart. Loss classes (:data:`STRUCTURE`, :data:`NAME`, :data:`KEY`, :data:`VALUE`)
are assigned per *byte* of a call's text, then per token from the bytes it covers
(SentencePiece's ``▁`` is a space byte, byte-fallback pieces one byte each), so alignment is exact
for any text; a token that straddles classes takes the most important one (value > name > key >
structure).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from needle_router.decoding.calls import order_like_schema
from needle_router.render import MAX_INPUT_TOKENS, MAX_QUERY_TOKENS, encoder_input, tool_tokens
from needle_router.tokenizer import NeedleTokenizer, default_tokenizer
from needle_router.tokenizer.specials import BOS_ID, CALL_ID, EOS_ID, NO_CALL_ID, TOOLS_ID
from needle_router.tools import ToolSpec
from needle_router.tools.spec import assign_internal_names

IGNORE, STRUCTURE, NAME, KEY, VALUE = 0, 1, 2, 3, 4
CLASS_NAMES = {STRUCTURE: "structure", NAME: "name", KEY: "key", VALUE: "value"}
_PRIORITY = {IGNORE: 0, STRUCTURE: 1, KEY: 2, NAME: 3, VALUE: 4}


@dataclass
class Encoded:
    """One example as token ids. ``dec_input`` is BOS + targets[:-1]."""

    enc: np.ndarray              # int32 [n_enc]
    dec_input: np.ndarray        # int32 [n_dec]
    target: np.ndarray           # int32 [n_dec]
    loss_class: np.ndarray       # int8  [n_dec]
    query: np.ndarray            # int32: the query alone (retrieval head)
    tools: list[np.ndarray]      # each tool alone (<|tool|> + rendering)
    positives: list[int]         # indices in ``tools`` of the called tools


def json_with_classes(value: Any, out: list[tuple[str, int]]) -> None:
    """Append (text, class) runs for ``value`` as compact JSON (same text as ``json.dumps``
    with ``separators=(",", ":"), ensure_ascii=False``)."""
    if isinstance(value, Mapping):
        out.append(("{", STRUCTURE))
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append((",", STRUCTURE))
            out.append((json.dumps(k, ensure_ascii=False), KEY))
            out.append((":", STRUCTURE))
            json_with_classes(v, out)
        out.append(("}", STRUCTURE))
    elif isinstance(value, list):
        out.append(("[", STRUCTURE))
        for i, v in enumerate(value):
            if i:
                out.append((",", STRUCTURE))
            json_with_classes(v, out)
        out.append(("]", STRUCTURE))
    elif isinstance(value, str):
        out += [('"', STRUCTURE), (json.dumps(value, ensure_ascii=False)[1:-1], VALUE), ('"', STRUCTURE)]
    else:
        out.append((json.dumps(value, ensure_ascii=False, allow_nan=False), VALUE))


def byte_classes(runs: Sequence[tuple[str, int]]) -> tuple[str, np.ndarray]:
    """The text of the runs and the class of each of its UTF-8 bytes."""
    text = "".join(t for t, _ in runs)
    lengths = [len(t) if t.isascii() else len(t.encode("utf-8")) for t, _ in runs]
    return text, np.repeat(np.array([c for _, c in runs], np.int8), lengths)


_PRIORITY_OF = np.array([_PRIORITY[c] for c in range(5)], np.int8)
_CLASS_OF = np.array([IGNORE, STRUCTURE, KEY, NAME, VALUE], np.int8)       # priority -> class


def token_classes(ids: Sequence[int], classes: np.ndarray, token_lengths: np.ndarray) -> np.ndarray:
    """The class of each token: the most important class among the bytes it covers."""
    lengths = token_lengths[np.asarray(ids, np.int64)]
    if int(lengths.sum()) != len(classes):
        raise ValueError(f"token bytes ({int(lengths.sum())}) do not cover the text ({len(classes)} bytes)")
    prio = _PRIORITY_OF[classes]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    nonempty = lengths > 0
    out = np.full(len(lengths), STRUCTURE, np.int8)
    if nonempty.any():
        out[nonempty] = _CLASS_OF[np.maximum.reduceat(prio, starts[nonempty])]
    return out


def _encoder_array(query: list[int], tools: list[np.ndarray]) -> np.ndarray:
    """:func:`needle_router.render.encoder_input` on arrays (same result, without list copies)."""
    if len(query) + 1 + sum(len(t) for t in tools) > MAX_INPUT_TOKENS:
        return np.asarray(encoder_input(query, [t.tolist() for t in tools]), np.int32)
    return np.concatenate([np.asarray(query + [TOOLS_ID], np.int32), *tools])


class Encoder:
    """Turns examples into :class:`Encoded` arrays; caches each tool's spec and tokens."""

    def __init__(self, tokenizer: NeedleTokenizer | None = None, cache_size: int = 100_000):
        self.tokenizer = tokenizer or default_tokenizer()
        self.vocab_bytes = self.tokenizer.vocab_bytes()
        self.token_lengths = np.array([len(b) for b in self.vocab_bytes], np.int64)
        self._specs: dict[str, ToolSpec] = {}
        self._tokens: dict[tuple[str, str], np.ndarray] = {}
        self._cache_size = cache_size

    def spec(self, tool: Mapping[str, Any], key: str | None = None) -> ToolSpec:
        fn = tool.get("function", tool)
        key = key or json.dumps(fn, sort_keys=True, ensure_ascii=False)
        spec = self._specs.get(key)
        if spec is None:
            if len(self._specs) >= self._cache_size:
                self._specs.clear()
                self._tokens.clear()
            spec = ToolSpec(name=fn["name"], description=fn.get("description") or "",
                            parameters=fn.get("parameters"))
            self._specs[key] = spec
        return spec

    def _tool_tokens(self, spec: ToolSpec, key: str) -> np.ndarray:
        k = (key, spec.internal_name)
        ids = self._tokens.get(k)
        if ids is None:
            ids = self._tokens[k] = np.asarray(tool_tokens(self.tokenizer, spec), np.int32)
        return ids

    def specs(self, example: Mapping[str, Any], keys: Sequence[str] | None = None) -> tuple[list[str], list[ToolSpec]]:
        """The example's tools as specs with the router's internal names, and their cache keys
        (``meta["tool_keys"]`` from the generator, else the tools' JSON)."""
        tools = example["tools"]
        if keys is None:
            keys = (example.get("meta") or {}).get("tool_keys")
        if keys is None:
            keys = [json.dumps(t.get("function", t), sort_keys=True, ensure_ascii=False) for t in tools]
        return list(keys), assign_internal_names([self.spec(t, k) for t, k in zip(tools, keys)])

    @staticmethod
    def call_text(name: str, args: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[str, np.ndarray]:
        """A call's output text (``name{json}``, keys in schema order) and its bytes' loss classes."""
        runs: list[tuple[str, int]] = [(name, NAME)]
        json_with_classes(order_like_schema(dict(args), params), runs)
        return byte_classes(runs)

    def _assemble(self, texts, token_lists) -> tuple[list[int], np.ndarray]:
        if not texts:
            return [NO_CALL_ID, EOS_ID], np.array([STRUCTURE, STRUCTURE], np.int8)
        ids: list[int] = []
        parts = []
        for (_, classes), toks in zip(texts, token_lists):
            ids += [CALL_ID] + toks
            parts += [np.array([STRUCTURE], np.int8), token_classes(toks, classes, self.token_lengths)]
        return ids + [EOS_ID], np.concatenate(parts + [np.array([STRUCTURE], np.int8)])

    def encode(self, example: Mapping[str, Any], tool_keys: Sequence[str] | None = None) -> Encoded:
        return self.encode_many([example], None if tool_keys is None else [tool_keys])[0]

    def encode_many(self, examples: Sequence[Mapping[str, Any]],
                    tool_keys: Sequence[Sequence[str] | None] | None = None) -> list[Encoded]:
        """Encode a batch (one tokenizer call for all queries and call texts: much faster)."""
        prepared = []
        texts: list[str] = []
        for n, example in enumerate(examples):
            keys, specs = self.specs(example, tool_keys[n] if tool_keys is not None else None)
            by_name = {s.name: (i, s) for i, s in enumerate(specs)}
            tool_ids = [self._tool_tokens(s, k) for s, k in zip(specs, keys)]
            calls, positives = [], []
            for call in example["calls"]:
                i, spec = by_name[call["name"]]
                calls.append(self.call_text(spec.internal_name, call.get("arguments") or {}, spec.parameters))
                if i not in positives:
                    positives.append(i)
            prepared.append((len(texts), tool_ids, calls, positives))
            texts.append(example["query"])
            texts += [t for t, _ in calls]
        tokens = self.tokenizer.encode_batch(texts)
        out = []
        for start, tool_ids, calls, positives in prepared:
            q = tokens[start][:MAX_QUERY_TOKENS]
            target, classes = self._assemble(calls, tokens[start + 1:start + 1 + len(calls)])
            out.append(Encoded(
                enc=_encoder_array(q, tool_ids),
                dec_input=np.asarray([BOS_ID] + target[:-1], np.int32),
                target=np.asarray(target, np.int32),
                loss_class=classes,
                query=np.asarray(q, np.int32),
                tools=tool_ids,
                positives=positives,
            ))
        return out
