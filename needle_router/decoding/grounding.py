"""Drop optional arguments that nothing in the query asked for.

A small model fills optional parameters on its own: ``"mode": "auto"`` for "set the thermostat
to 21 degrees", ``"nonstop_only": true`` for a plain flight search, a return date copied from
the departure date. The grammar cannot tell: each is a valid value. The query can: an optional
argument stays only when the query gives it ground, by kind of value:

- free text: the value is a piece of the query, or every content word of it is one of the query's;
- a value from an ``enum``: one of its words is in the query ("heat mode" grounds ``"heat"``);
- a boolean: a word of the parameter's name is ("nonstop" grounds ``nonstop_only``);
- free text equal to another argument's value is dropped unless the query says it twice;
- a number the query holds only as part of a date or time ("June 3", "2025-11-01", "10:30") is
  dropped: ``"passengers": 3`` was taken from the date. Any other number stays, whether the
  query holds it or not (its "half an hour" is a model's ``30``).

Required arguments are never dropped (the call would stop validating), and neither are nested
objects, arrays, or strings with a ``format`` or ``pattern`` (a date the model rewrote is not a
piece of the query).

The other way round, the model often ends an arguments object before an optional ``enum``
parameter the query plainly sets ("room type twin", "outdoor seating", "a compact car"): the
grammar walks keys in schema order, so a key left out cannot come back. When the query says
exactly one value of such a parameter, as words of their own ("private_room" matches "private
room"), and no argument of the answer holds that value already, :func:`fill_said_enums` adds it;
a value two calls could take is left out of both.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from needle_router.decoding.calls import order_like_schema
from needle_router.decoding.whitespace import is_free_text
from needle_router.lexical import terms

MIN_STEM = 5  # words this long match by prefix ("shuffl" / "shuffle"); shorter ones exactly
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MONTHS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
    "august september october november december".split())
_DATE_JOINERS = "-/:"
_NUMBER_WORDS = dict(enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split()))
_SEPARATORS = re.compile(r"[\s_\-]+")
MIN_ENUM_CHARS = 2  # a one-letter value ("C", "F") is too easily a stray letter of the query


def _casefold_spaces(text: str) -> str:
    return " ".join(text.casefold().split())


class QueryGround:
    """What a query says, in the forms the checks compare against."""

    def __init__(self, query: str) -> None:
        self.text = _casefold_spaces(query)
        self.words = set(terms(query))
        self.phrased = _phrase(self.text)   # "_", "-" and spaces alike: "private_room" is said in "a private room"

    def holds_word(self, word: str) -> bool:
        """The word, or one sharing its stem ("shuffl" from "shuffling" and "shuffle")."""
        if word in self.words:
            return True
        return len(word) >= MIN_STEM and any(
            len(w) >= MIN_STEM and (w.startswith(word) or word.startswith(w)) for w in self.words)

    def holds_text(self, value: str) -> bool:
        folded = _casefold_spaces(value)
        if folded and folded in self.text:
            return True
        words = terms(value)
        return bool(words) and all(self.holds_word(w) for w in words)

    def holds_any_word(self, text: str) -> bool:
        return any(self.holds_word(w) for w in terms(text))

    def number_only_in_dates(self, value: float) -> bool:
        """The query holds ``value`` as a number, and only inside dates or times (not when it
        also says it in words: "for six ... 2025-06-14")."""
        if value in _NUMBER_WORDS and re.search(rf"\b{_NUMBER_WORDS[value]}\b", self.text):
            return False
        found = dated = 0
        for match in _NUMBER.finditer(self.text):
            if float(match.group()) != value:
                continue
            found += 1
            start, end = match.span()
            joined = (start >= 2 and self.text[start - 1] in _DATE_JOINERS and self.text[start - 2].isdigit()) or (
                end + 1 < len(self.text) and self.text[end] in _DATE_JOINERS and self.text[end + 1].isdigit())
            before = self.text[:start].split()[-1:]
            after = re.sub(r"^(st|nd|rd|th)\b", "", self.text[end:]).split()[:1]
            beside_month = any(w.strip(",.") in _MONTHS for w in before + after)
            dated += joined or beside_month
        return found > 0 and dated == found

    def count(self, value: str) -> int:
        folded = _casefold_spaces(value)
        return self.text.count(folded) if folded else 0


def _phrase(text: str) -> str:
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def _said_in(phrase: str, text: str) -> bool:
    """``phrase`` as words of their own in ``text`` ("bar" is not said in "barbecue")."""
    return bool(phrase) and re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text) is not None


def _optional_branch(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """X of ``anyOf: [X, null]`` (pydantic's ``Optional[X]``); None for other unions."""
    branches = [b for b in schema["anyOf"] if isinstance(b, Mapping) and b.get("type") != "null"]
    return branches[0] if len(branches) == 1 else None


def _kind(schema: Mapping[str, Any]) -> str | None:
    """``"text"`` (free text), ``"enum"``, ``"bool"`` or ``"number"``; None for what the checks
    leave alone."""
    if is_free_text(schema):
        return "text"
    if "anyOf" in schema:  # Optional[X] from pydantic: X or null
        branch = _optional_branch(schema)
        return _kind(branch) if branch is not None else None
    if isinstance(schema.get("enum"), list):
        return "enum" if all(isinstance(v, str) for v in schema["enum"]) else None
    kind = schema.get("type")
    if kind == "boolean":
        return "bool"
    if kind in ("number", "integer"):
        return "number"
    return None


def _grounded(key: str, value: Any, kind: str, ground: QueryGround) -> bool:
    if kind == "bool":
        return not isinstance(value, bool) or ground.holds_any_word(key)
    if kind == "number":
        return isinstance(value, bool) or not isinstance(value, (int, float)) or not ground.number_only_in_dates(value)
    if not isinstance(value, str):
        return True
    if kind == "enum":
        return ground.holds_any_word(value) or ground.holds_text(value)
    return ground.holds_text(value)


def drop_ungrounded(arguments: Mapping[str, Any], parameters: Mapping[str, Any],
                    query: str | QueryGround) -> dict[str, Any]:
    """``arguments`` without the optional top-level ones the query gives no ground for
    (``query`` may come already analysed, once for every call of an answer)."""
    props = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    ground = query if isinstance(query, QueryGround) else QueryGround(query)
    taken = {_casefold_spaces(v) for k, v in arguments.items() if k in required and isinstance(v, str)}
    kept: dict[str, Any] = {}
    for key, value in arguments.items():
        schema = props.get(key)
        kind = _kind(schema) if isinstance(schema, Mapping) else None
        if key in required or kind is None:
            kept[key] = value
            continue
        if not _grounded(key, value, kind, ground):
            continue
        if kind == "text" and isinstance(value, str):
            folded = _casefold_spaces(value)
            if folded in taken and ground.count(value) < 2:
                continue  # the span another argument already took, said once
            taken.add(folded)
        kept[key] = value
    return kept


def _enum_values(schema: Mapping[str, Any]) -> list[str]:
    """The string values of an ``enum`` parameter (an ``Optional`` one's too); [] otherwise."""
    if "anyOf" in schema:
        branch = _optional_branch(schema)
        return _enum_values(branch) if branch is not None else []
    values = schema.get("enum")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return []
    return values


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def fill_said_enums(calls: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
                    query: str | QueryGround) -> list[dict[str, Any]]:
    """Each call's arguments (``calls``: ``(arguments, parameters)`` of one answer), plus every
    optional ``enum`` parameter it lacks whose value the query names, one value only, that no
    argument of the answer holds and no other lacking parameter could take. Keys stay in
    schema order."""
    ground = query if isinstance(query, QueryGround) else QueryGround(query)
    held = [h for arguments, _ in calls for v in arguments.values() for s in _strings(v) if (h := _phrase(s))]
    found: list[tuple[int, str, str, str]] = []   # (call, key, value, its phrase)
    for i, (arguments, parameters) in enumerate(calls):
        for key, schema in (parameters.get("properties") or {}).items():
            if key in arguments or not isinstance(schema, Mapping):
                continue
            said = [(v, p) for v in _enum_values(schema) if len(p := _phrase(v)) >= MIN_ENUM_CHARS
                    and _said_in(p, ground.phrased) and not any(_said_in(p, h) or _said_in(h, p) for h in held)]
            if len(said) == 1:
                found.append((i, key, *said[0]))
    takers = Counter(phrase for *_, phrase in found)
    out = [dict(arguments) for arguments, _ in calls]
    for i, key, value, phrase in found:
        if takers[phrase] == 1:
            out[i][key] = value
    return [order_like_schema(args, parameters) if len(args) > len(arguments) else args
            for args, (arguments, parameters) in zip(out, calls)]


def ground_answer(calls: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], query: str | QueryGround,
                  fill: bool = True) -> list[dict[str, Any]]:
    """The grounding a parsed answer gets (``calls``: ``(arguments, parameters)``): each call's
    ungrounded optional arguments dropped, then (``fill``) the enum values the query names filled."""
    ground = query if isinstance(query, QueryGround) else QueryGround(query)
    dropped = [(drop_ungrounded(arguments, parameters, ground), parameters) for arguments, parameters in calls]
    return fill_said_enums(dropped, ground) if fill else [arguments for arguments, _ in dropped]
