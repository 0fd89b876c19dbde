"""A deterministic automaton over bytes (plus three control symbols) for valid answers.

The automaton is built right to left: every builder takes the state to continue in
(``cont``) and returns the state where its own text starts, so sequencing is function
composition and loops (array items) are a state created before the item it returns to.
Values that end without a closing character (numbers, ``true``) continue into ``cont``
through an epsilon link, resolved once at the end; JSON's structure guarantees that the
characters a value may continue with never clash with what may follow it.

Symbols: bytes 0..255, then ``<|call|>``, ``<|no_call|>``, EOS, STAY (the padding of short
tokens: leaves the state unchanged) and INVALID (every other control id: always dead).
State 0 is the dead state.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

SYM_CALL, SYM_NO_CALL, SYM_EOS, SYM_STAY, SYM_INVALID = 256, 257, 258, 259, 260
NUM_SYMBOLS = 261
DEAD = 0
ANY_DEPTH = 2  # nesting allowed inside values whose schema says "anything"
UNREACHABLE = 1 << 30
MAX_INT_DIGITS = 18  # integer part of a number: fits an int64, stays finite as a float
MAX_EXP_DIGITS = 2  # exponent: 1e99 at most, never inf


class GrammarError(ValueError):
    """The tool set cannot be turned into a grammar (a bug, or an unsupported construct)."""


def _byteset(chars: bytes | range | Sequence[int]) -> np.ndarray:
    mask = np.zeros(NUM_SYMBOLS, bool)
    mask[list(chars)] = True
    return mask


_DIGITS = _byteset(b"0123456789")
_NONZERO = _byteset(b"123456789")
# characters allowed raw inside a JSON string: printable ASCII except '"' and '\'
_PLAIN = _byteset([b for b in range(0x20, 0x80) if b not in b'"\\'])
_HEX = _byteset(b"0123456789abcdefABCDEF")
_CONT = _byteset(range(0x80, 0xC0))


class AutomatonBuilder:
    """Collects states and transitions; :meth:`finish` returns the dense table."""

    def __init__(self) -> None:
        self.explicit: list[dict[int, int]] = [{}]
        self.bulk: list[list[tuple[np.ndarray, int]]] = [[]]
        self.eps: list[int | None] = [None]
        self.tool: list[int] = [-1]
        self.current_tool = -1
        self._string_cache: dict[int, int] = {}

    # --- primitives ----------------------------------------------------------------------
    def new(self) -> int:
        self.explicit.append({})
        self.bulk.append([])
        self.eps.append(None)
        self.tool.append(self.current_tool)
        return len(self.explicit) - 1

    def edge(self, state: int, symbol: int, target: int) -> None:
        old = self.explicit[state].get(symbol)
        if old is not None and old != target:
            raise GrammarError(f"conflicting transitions on symbol {symbol} from state {state}")
        self.explicit[state][symbol] = target

    def edges(self, state: int, symbols: np.ndarray, target: int) -> None:
        self.bulk[state].append((symbols, target))

    def link(self, state: int, target: int) -> None:
        """``state`` also behaves like ``target`` (epsilon link)."""
        self.eps[state] = target

    def copy_into(self, dst: int, src: int) -> None:
        """Give ``dst`` all outgoing transitions of ``src`` (to merge alternatives)."""
        for sym, tgt in self.explicit[src].items():
            self.edge(dst, sym, tgt)
        self.bulk[dst].extend(self.bulk[src])
        if self.eps[src] is not None:
            if self.eps[dst] is not None and self.eps[dst] != self.eps[src]:
                raise GrammarError("two epsilon links on one state")
            self.eps[dst] = self.eps[src]

    def literal(self, text: bytes, cont: int) -> int:
        state = cont
        for b in reversed(text):
            s = self.new()
            self.edge(s, b, state)
            state = s
        return state

    # --- JSON values ---------------------------------------------------------------------
    def string(self, cont: int) -> int:
        """A JSON string: escapes, and only well-formed UTF-8 (no overlongs, no surrogates)."""
        body, esc = self.new(), self.new()
        need1, need2, need3 = self.new(), self.new(), self.new()
        e0, ed, f0, f4 = self.new(), self.new(), self.new(), self.new()
        u = [self.new() for _ in range(4)]
        self.edges(body, _PLAIN, body)
        self.edge(body, ord('"'), cont)
        self.edge(body, ord("\\"), esc)
        self.edges(body, _byteset(range(0xC2, 0xE0)), need1)
        self.edge(body, 0xE0, e0)
        self.edges(body, _byteset(list(range(0xE1, 0xED)) + [0xEE, 0xEF]), need2)
        self.edge(body, 0xED, ed)
        self.edge(body, 0xF0, f0)
        self.edges(body, _byteset(range(0xF1, 0xF4)), need3)
        self.edge(body, 0xF4, f4)
        self.edges(need1, _CONT, body)
        self.edges(need2, _CONT, need1)
        self.edges(need3, _CONT, need2)
        self.edges(e0, _byteset(range(0xA0, 0xC0)), need1)
        self.edges(ed, _byteset(range(0x80, 0xA0)), need1)
        self.edges(f0, _byteset(range(0x90, 0xC0)), need2)
        self.edges(f4, _byteset(range(0x80, 0x90)), need2)
        self.edges(esc, _byteset(b'"\\/bfnrt'), body)
        self.edge(esc, ord("u"), u[0])
        for a, b in zip(u, u[1:] + [body]):
            self.edges(a, _HEX, b)
        start = self.new()
        self.edge(start, ord('"'), body)
        return start

    def number(self, cont: int, *, integer: bool) -> int:
        """A JSON number with at most MAX_INT_DIGITS before the point and MAX_EXP_DIGITS in the
        exponent, so that every value is finite as a float and fits an int64 as an integer."""
        start, neg, zero = self.new(), self.new(), self.new()
        whole = [self.new() for _ in range(MAX_INT_DIGITS)]  # whole[k]: k + 1 digits written
        self.edge(start, ord("-"), neg)
        for s in (start, neg):
            self.edge(s, ord("0"), zero)
            self.edges(s, _NONZERO, whole[0])
        for a, b in zip(whole, whole[1:]):
            self.edges(a, _DIGITS, b)
        for s in [zero] + whole:
            self.link(s, cont)
        if not integer:
            frac0, frac, exp0, exp_sign = (self.new() for _ in range(4))
            exp = [self.new() for _ in range(MAX_EXP_DIGITS)]
            for s in [zero] + whole:
                self.edge(s, ord("."), frac0)
                self.edges(s, _byteset(b"eE"), exp0)
            self.edges(frac0, _DIGITS, frac)
            self.edges(frac, _DIGITS, frac)
            self.edges(frac, _byteset(b"eE"), exp0)
            self.edges(exp0, _byteset(b"+-"), exp_sign)
            self.edges(exp0, _DIGITS, exp[0])
            self.edges(exp_sign, _DIGITS, exp[0])
            for a, b in zip(exp, exp[1:]):
                self.edges(a, _DIGITS, b)
            self.link(frac, cont)
            for s in exp:
                self.link(s, cont)
        return start

    def trie(self, branches: Sequence[tuple[bytes, int]]) -> int:
        """One state that reads any of the texts, each continuing (epsilon) into its own state."""
        root = self.new()
        for text, target in branches:
            state = root
            for b in text:
                nxt = self.explicit[state].get(b)
                if nxt is None:
                    nxt = self.new()
                    self.edge(state, b, nxt)
                state = nxt
            self.link(state, target)
        return root

    def literals(self, texts: Sequence[bytes], cont: int) -> int:
        """Fixed texts (enum values as JSON, ``true``, ``null``...), then ``cont``."""
        return self.trie([(t, cont) for t in texts])

    def _repeated(self, open_: str, close: str, item: int, after: int, cont: int) -> int:
        """``open (item (, item)*)? close``, where ``item`` continues into ``after``."""
        self.edge(after, ord(","), item)
        self.edge(after, ord(close), cont)
        first = self.new()
        self.copy_into(first, item)
        self.edge(first, ord(close), cont)
        start = self.new()
        self.edge(start, ord(open_), first)
        return start

    def array(self, items: Mapping[str, Any] | None, cont: int, depth: int) -> int:
        after = self.new()
        item = self.value(items, after, depth) if items is not None else self.any_value(after, depth - 1)
        return self._repeated("[", "]", item, after, cont)

    def free_object(self, values: Mapping[str, Any] | None, cont: int, depth: int) -> int:
        """``{"any key": value, ...}``: keys are free strings."""
        after = self.new()
        colon = self.new()
        val = self.value(values, after, depth) if values is not None else self.any_value(after, depth - 1)
        self.edge(colon, ord(":"), val)
        return self._repeated("{", "}", self.string(colon), after, cont)

    def object(self, schema: Mapping[str, Any], cont: int, depth: int) -> int:
        """Properties in schema order; optional ones may be skipped, required ones may not."""
        props = list((schema.get("properties") or {}).items())
        extra = schema.get("additionalProperties")
        if not props and ("properties" not in schema or extra is not None):
            return self.free_object(extra if isinstance(extra, Mapping) else None, cont, depth)
        if not props:  # declared with no properties (a tool without arguments): only {}
            return self.literal(b"{}", cont)
        required = set(schema.get("required", ()))
        n = len(props)
        # after_value[i]: just wrote property i's value
        after_value = [self.new() for _ in range(n)]
        value_entry = [self.value(s, after_value[i], depth) for i, (_, s) in enumerate(props)]

        def candidates(i: int) -> list[int]:
            """Properties that may come next when the last one written was i - 1."""
            out = []
            for j in range(i, n):
                out.append(j)
                if props[j][0] in required:
                    break
            return out

        def rest_optional(i: int) -> bool:
            return all(props[j][0] not in required for j in range(i, n))

        tries: dict[int, int] = {}

        def key_trie(i: int) -> int:
            """State before the opening quote of the next key (one of candidates(i))."""
            if i not in tries:
                tries[i] = self.trie([(json.dumps(props[j][0], ensure_ascii=False).encode() + b":", value_entry[j])
                                      for j in candidates(i)])
            return tries[i]

        for i in range(n):
            if i + 1 < n:
                self.edge(after_value[i], ord(","), key_trie(i + 1))
            if rest_optional(i + 1):
                self.edge(after_value[i], ord("}"), cont)
        first = self.new()
        self.copy_into(first, key_trie(0))
        if rest_optional(0):
            self.edge(first, ord("}"), cont)
        start = self.new()
        self.edge(start, ord("{"), first)
        return start

    def any_value(self, cont: int, depth: int) -> int:
        alternatives: list[Mapping[str, Any]] = [{"type": "string"}, {"type": "number"},
                                                 {"enum": [True, False, None]}]
        if depth > 0:
            alternatives += [{"type": "array"}, {"type": "object"}]
        return self.union(alternatives, cont, depth)

    def value(self, schema: Mapping[str, Any], cont: int, depth: int = ANY_DEPTH) -> int:
        if "anyOf" in schema:
            return self.union(schema["anyOf"], cont, depth)
        if "enum" in schema:
            return self.literals(sorted({_json(v) for v in schema["enum"]}), cont)
        kind = schema.get("type")
        if kind == "string":
            return self.string(cont)
        if kind in ("integer", "number"):
            return self.number(cont, integer=kind == "integer")
        if kind == "boolean":
            return self.literals([b"true", b"false"], cont)
        if kind == "null":
            return self.literals([b"null"], cont)
        if kind == "array":
            return self.array(schema.get("items"), cont, depth)
        if kind == "object":
            return self.object(schema, cont, depth)
        return self.any_value(cont, depth)

    def union(self, alternatives: Sequence[Mapping[str, Any]], cont: int, depth: int) -> int:
        """One state that starts any of ``alternatives`` (see :func:`disjoint_alternatives`)."""
        kept, literal_texts = disjoint_alternatives(alternatives)
        entry = self.new()
        for alt in kept:
            self.copy_into(entry, self.value(alt, cont, depth))
        if literal_texts:
            self.copy_into(entry, self.literals(literal_texts, cont))
        return entry

    # --- output ----------------------------------------------------------------------------
    def finish(self) -> np.ndarray:
        """The dense transition table [states, NUM_SYMBOLS] with epsilon links resolved."""
        n = len(self.explicit)
        table = np.zeros((n, NUM_SYMBOLS), np.int32)
        for s in range(n):
            for mask, tgt in self.bulk[s]:
                table[s, mask] = tgt
            for sym, tgt in self.explicit[s].items():
                table[s, sym] = tgt
        done = np.zeros(n, bool)

        def resolve(s: int, seen: tuple[int, ...] = ()) -> None:
            if done[s]:
                return
            target = self.eps[s]
            if target is not None:
                if target in seen:
                    raise GrammarError("epsilon cycle")
                resolve(target, seen + (s,))
                row, other = table[s], table[target]
                clash = (row != 0) & (other != 0) & (row != other)
                if clash.any():
                    raise GrammarError(f"ambiguous continuation on symbol {int(np.argmax(clash))}")
                table[s] = np.where(row != 0, row, other)
            done[s] = True

        for s in range(n):
            resolve(s)
        table[:, SYM_STAY] = np.arange(n)
        table[DEAD, :] = DEAD
        return table

    def successors(self) -> list[set[int]]:
        """Every state's possible next states (epsilon links followed), for distances."""
        n = len(self.explicit)
        memo: list[set[int] | None] = [None] * n

        def succ(s: int) -> set[int]:
            if memo[s] is None:
                out = set(self.explicit[s].values())
                out.update(t for _, t in self.bulk[s])
                if self.eps[s] is not None:
                    out |= succ(self.eps[s])
                out.discard(DEAD)
                memo[s] = out
            return memo[s]

        return [succ(s) for s in range(n)]


def distances_to(accept: int, successors: list[set[int]]) -> np.ndarray:
    """Fewest symbols from each state to ``accept`` (breadth-first over reversed edges)."""
    n = len(successors)
    preds: list[list[int]] = [[] for _ in range(n)]
    for s, outs in enumerate(successors):
        for t in outs:
            preds[t].append(s)
    dist = np.full(n, UNREACHABLE, np.int64)
    dist[accept] = 0
    queue = deque([accept])
    while queue:
        t = queue.popleft()
        for s in preds[t]:
            if dist[s] == UNREACHABLE:
                dist[s] = dist[t] + 1
                queue.append(s)
    return dist


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _first_bytes(schema: Mapping[str, Any]) -> set[int]:
    if "anyOf" in schema:
        return set().union(*(_first_bytes(m) for m in schema["anyOf"]))
    if "enum" in schema:
        return {_json(v)[0] for v in schema["enum"]}
    kind = schema.get("type")
    return {
        "string": set(b'"'),
        "integer": set(b"-0123456789"),
        "number": set(b"-0123456789"),
        "boolean": set(b"tf"),
        "null": set(b"n"),
        "array": set(b"["),
        "object": set(b"{"),
    }.get(kind, set(b'"-0123456789tfn[{'))


def _covers(kind: str | None, value: Any) -> bool:
    """Does a plain ``kind`` schema accept the literal ``value``?"""
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return False


def disjoint_alternatives(alternatives: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[bytes]]:
    """Alternatives that can start one automaton state deterministically.

    Literal alternatives (enums, booleans, null) merge into one trie. Structured ones are kept
    when their first characters are new; ``number`` replaces an earlier ``integer``, and a later
    overlapping alternative is otherwise dropped. Dropping narrows what the model may say but
    everything it can say still validates (it matches a kept alternative).
    """
    literal_values: list[Any] = []
    structured: list[Mapping[str, Any]] = []
    for alt in _flatten(alternatives):
        if "enum" in alt:
            literal_values.extend(alt["enum"])
        elif alt.get("type") == "boolean":
            literal_values.extend([True, False])
        elif alt.get("type") == "null":
            literal_values.append(None)
        else:
            structured.append(alt)
    kept: list[Mapping[str, Any]] = []
    used: set[int] = set()
    for alt in structured:
        first = _first_bytes(alt)
        if first & used:
            if alt.get("type") == "number":
                for i, k in enumerate(kept):
                    if k.get("type") == "integer":
                        kept[i] = alt
            continue
        kept.append(alt)
        used |= first
    texts: dict[bytes, None] = {}
    for v in literal_values:
        text = _json(v)
        if text[0] in used:
            continue  # covered by a kept type (a string enum next to "string"), or dropped
        texts[text] = None
    return kept, sorted(texts)


def _flatten(alternatives: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for alt in alternatives:
        if "anyOf" in alt and "enum" not in alt:
            out.extend(_flatten(alt["anyOf"]))
        else:
            out.append(alt)
    return out
