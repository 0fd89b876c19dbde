"""Ground a decoded answer's arguments in the query: drop what it never asked for, complete
names cut short, fill enum values it names.

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
piece of the query). A list of free text loses only an item it repeats more often than the
query says it (a small model loops on the last item: "spinach", "spinach").

The other way round, the model often ends an arguments object before an optional ``enum``
parameter the query plainly sets ("room type twin", "outdoor seating", "a compact car"): the
grammar walks keys in schema order, so a key left out cannot come back. When the query says
exactly one value of such a parameter, as words of their own ("private_room" matches "private
room"), and no argument of the answer holds that value already, :func:`fill_said_enums` adds it;
a value two calls could take is left out of both.

A proper name the model cut short is completed from the query (:func:`complete_names`): it
often keeps only part of a multi-word name ("Khao" for "rate Kin Khao 4 stars", "State Bird"
for "at State Bird Provisions friday"). A free-text value that starts with a capital, holds no
digit and is said once in the query grows to the capitalised words around it there ("of", "+",
"de", "la"... may sit between them), never over punctuation, the query's first word, day or
month names, or another argument.
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


_CALENDAR = _MONTHS | frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun".split())
_NAME_JOINERS = frozenset("of + de del la le da di".split())   # "House of Prime Rib", "Flour + Water"
_TRAILING = ",.!?;:"
_TOKEN = re.compile(r"\S+")


def _casefold_spaces(text: str) -> str:
    return " ".join(text.casefold().split())


class QueryGround:
    """What a query says, in the forms the checks compare against."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = [m.span() for m in _TOKEN.finditer(query)]   # words as (start, end), for names
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


def _free_text_items(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The array node of a list of free-text strings (an ``Optional`` one's too), else None."""
    if "anyOf" in schema:
        branch = _optional_branch(schema)
        return _free_text_items(branch) if branch is not None else None
    items = schema.get("items")
    if schema.get("type") != "array" or not isinstance(items, Mapping) or not is_free_text(items):
        return None
    return schema


def drop_repeated_items(arguments: Mapping[str, Any], parameters: Mapping[str, Any],
                        query: str | QueryGround) -> dict[str, Any]:
    """``arguments`` with an item a free-text list repeats more often than the query says it
    taken out (``["chickpeas", "spinach", "spinach"]`` for "chickpeas and spinach"): a small
    model loops on a list's last item. Never below the list's ``minItems``."""
    ground = query if isinstance(query, QueryGround) else QueryGround(query)
    props = parameters.get("properties") or {}
    out = dict(arguments)
    for key, value in arguments.items():
        schema = props.get(key)
        array = _free_text_items(schema) if isinstance(schema, Mapping) else None
        if array is None or not isinstance(value, list) or len(value) < 2:
            continue
        seen: Counter[str] = Counter()
        kept = []
        for item in value:
            folded = _casefold_spaces(item) if isinstance(item, str) else None
            if folded is not None:
                seen[folded] += 1
                if seen[folded] > 1 and seen[folded] > ground.count(item):
                    continue
            kept.append(item)
        if len(kept) < len(value) and len(kept) >= array.get("minItems", 0):
            out[key] = kept
    return out


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


def _name_word(token: str) -> bool:
    """A capitalised word that may belong to a name (not a day, a month, "I", or a number)."""
    word = token.strip(_TRAILING + "\"'()")
    return (len(word) > 0 and word[0].isupper() and word.casefold() not in _CALENDAR and word != "I"
            and not any(ch.isdigit() for ch in word))


def complete_name(value: str, query: str | QueryGround, others: Sequence[str] = ()) -> str:
    """``value`` grown to the whole capitalised name it is part of in ``query`` ("Khao" in
    "rate Kin Khao 4 stars" -> "Kin Khao"); ``value`` itself where it is not such a part, is
    not said exactly once, or the name would take in one of ``others`` (other arguments)."""
    if not value or not value[0].isupper() or any(ch.isdigit() for ch in value):
        return value
    ground = query if isinstance(query, QueryGround) else QueryGround(query)
    query, tokens = ground.query, ground.tokens
    hits = [m.start() for m in re.finditer(r"(?<!\w)" + re.escape(value) + r"(?!\w)", query)]
    if len(hits) != 1:
        return value
    start, end = hits[0], hits[0] + len(value)
    first = next((i for i, (a, _) in enumerate(tokens) if a == start), None)
    last = next((i for i, (a, b) in enumerate(tokens) if a < end <= b), None)
    if first is None or last is None or query[end:tokens[last][1]].strip(_TRAILING + "\"')"):
        return value            # the value does not start and end with whole words of the query

    def word(i: int) -> str:
        return query[tokens[i][0]:tokens[i][1]]

    def open_end(i: int) -> bool:   # no punctuation closes the name after word i
        return word(i) == word(i).rstrip(_TRAILING)

    lo, hi = first, last
    while lo >= 2 and open_end(lo - 1):         # never over the query's first word
        if _name_word(word(lo - 1)):
            lo -= 1
        elif word(lo - 1).casefold() in _NAME_JOINERS and lo >= 3 and open_end(lo - 2) and _name_word(word(lo - 2)):
            lo -= 2
        else:
            break
    while tokens[last][1] == end and open_end(hi):   # not past punctuation ending the value
        if hi + 1 < len(tokens) and _name_word(word(hi + 1)):
            hi += 1
        elif (hi + 2 < len(tokens) and word(hi + 1).casefold() in _NAME_JOINERS and open_end(hi + 1)
              and _name_word(word(hi + 2))):
            hi += 2
        else:
            break
    if (lo, hi) == (first, last):
        return value
    name = query[tokens[lo][0]:tokens[hi][1]].rstrip(_TRAILING)
    if any(other and other != value and _said_in(_casefold_spaces(other), _casefold_spaces(name)) for other in others):
        return value
    return name


def complete_names(arguments: Mapping[str, Any], parameters: Mapping[str, Any],
                   query: str | QueryGround) -> dict[str, Any]:
    """``arguments`` with each top-level free-text value completed by :func:`complete_name`."""
    ground = query if isinstance(query, QueryGround) else QueryGround(query)
    props = parameters.get("properties") or {}
    strings = [v for v in arguments.values() if isinstance(v, str)]
    out = dict(arguments)
    for key, value in arguments.items():
        schema = props.get(key)
        if isinstance(value, str) and isinstance(schema, Mapping) and is_free_text(schema):
            out[key] = complete_name(value, ground, strings)
    return out


def ground_answer(calls: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], query: str | QueryGround,
                  fill: bool = True, names: bool = True) -> list[dict[str, Any]]:
    """The grounding a parsed answer gets (``calls``: ``(arguments, parameters)``): each call's
    ungrounded optional arguments and a list's repeated items dropped, then (``names``) names
    cut short completed, then (``fill``) the enum values the query names filled."""
    ground = query if isinstance(query, QueryGround) else QueryGround(query)
    kept = [(drop_repeated_items(drop_ungrounded(arguments, parameters, ground), parameters, ground), parameters)
            for arguments, parameters in calls]
    if names:
        kept = [(complete_names(arguments, parameters, ground), parameters) for arguments, parameters in kept]
    return fill_said_enums(kept, ground) if fill else [arguments for arguments, _ in kept]
