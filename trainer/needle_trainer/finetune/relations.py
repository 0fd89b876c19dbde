"""Arguments said by their role in the sentence rather than by their parameter's name.

People rarely say a parameter's label ("origin Boston destination Lisbon"); they say what the
value does, and English marks that with word order and prepositions:

* **two parameters that form a pair** are said together, in the pair's order: "from Boston to
  Lisbon" (``origin``, ``destination``), "June 3 - June 7" (``check_in``, ``check_out``),
  "between 10 and 20" (``min_x``, ``max_x``), "EUR to USD" (``base_currency``, ``quote_currency``)
  (:func:`parameter_pairs`, :func:`pair_phrase`);
* **one parameter that is the only one of its kind** in a request takes its kind's preposition
  alone: "on June 3" (a date), "at 7pm" (a time), "in Kyoto" (a place), "under 150" (a
  maximum), "at least 4" (a minimum), "- duplicate order" (a reason), "for 4" / "3 of us" (a
  head count), "$96" (money), "at Nopa" (a named business), "to 1 Ferry Building" (an
  address), "to Sam" (a recipient) (:func:`parameter_role`, :func:`role_phrases`);
* **a lookup tool** is asked for by its object alone: "hotels in Lisbon ...", "flight status for
  BA117" (:func:`noun_only_tools`).

Everything is keyed on general English words in parameter and tool names, never on one
registry's vocabulary; a pair is only recognised when its two names differ in exactly the pair's
words, so the phrase can only be read one way.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from needle_router.tools import ToolSpec
from needle_trainer.data.phrasing import words

#: ordered word pairs whose parameters are said together, first member first
_PAIR_WORDS: dict[tuple[str, str], str] = {
    ("from", "to"): "route", ("origin", "destination"): "route", ("source", "destination"): "route",
    ("source", "target"): "route", ("start", "end"): "span", ("begin", "end"): "span",
    ("checkin", "checkout"): "span", ("pickup", "dropoff"): "span", ("departure", "return"): "span",
    ("departure", "arrival"): "span", ("since", "until"): "span", ("min", "max"): "range",
    ("minimum", "maximum"): "range", ("base", "quote"): "rate", ("first", "last"): "name",
}
PAIR_FORMS: dict[str, tuple[str, ...]] = {
    "route": ("from {a} to {b}", "{a} to {b}", "from {a} to {b}", "{a} - {b}", "{a} -> {b}"),
    "span": ("from {a} to {b}", "{a} to {b}", "{a} - {b}", "{a} through {b}", "{a} until {b}",
             "between {a} and {b}", "{a} till {b}", "from {a} until {b}"),
    "range": ("between {a} and {b}", "{a} to {b}", "from {a} to {b}", "{a}-{b}"),
    "rate": ("{a} to {b}", "{a}/{b}", "{a} to {b}", "{a} vs {b}"),
    "name": ("{a} {b}",),
}
#: particles joined to their verb so "pick up date" and "drop off date" differ in one word
_JOINED = (("pick up", "pickup"), ("drop off", "dropoff"), ("check in", "checkin"), ("check out", "checkout"))

ROLE_FORMS: dict[str, tuple[str, ...]] = {
    "date": ("on {v}", "for {v}", "{v}", "on {v}"),
    "time": ("at {v}", "{v}", "at {v}"),
    "place": ("in {v}", "at {v}", "in {v}"),
    "max": ("under {v}", "up to {v}", "at most {v}", "no more than {v}", "below {v}", "max {v}"),
    "min": ("at least {v}", "{v} or more", "min {v}", "{v}+", "over {v}"),
    "reason": ("because {v}", "for {v}", "- {v}", "due to {v}", "since {v}", "({v})"),
    "party": ("for {v}", "for {v} {n}", "{v} {n}", "{v} of us", "party of {v}", "{v} {n}", "for {v} {n}"),
    "money": ("${v}", "{v} dollars", "{v} bucks", "${v}", "{v}"),
    "venue": ("at {v}", "{v}", "at {v}"),
    "address": ("to {v}", "at {v}", "to {v}"),
    "recipient": ("to {v}", "for {v}", "{v}"),
}
_DATE_WORDS = frozenset("date day when".split())
_TIME_WORDS = frozenset("time hour".split())
_PLACE_WORDS = frozenset("city location place town country region area venue airport".split())
#: head counts ("party_size", "num_guests"): the noun said after the number, "people" by default
_PARTY_NOUNS = frozenset("people persons guests passengers travelers travellers adults diners attendees "
                         "players participants".split())
_PARTY_WORDS = _PARTY_NOUNS | {"party"}
_MONEY_WORDS = frozenset("total amount price cost budget fare bill payment sum".split())
_MEASURE_WORDS = frozenset("percent pct count number quantity grams g kg ml liters litres ounces oz pounds lbs "
                           "minutes hours days seconds km miles points calories".split())
_VENUE_WORDS = frozenset("restaurant hotel store shop cafe bar salon clinic gym cinema theater theatre museum "
                         "merchant vendor business pharmacy bakery".split())
_RECIPIENT_WORDS = frozenset("recipient contact assignee addressee".split())
_LOOKUP_VERBS = frozenset("search find list get lookup look browse query fetch show".split())


def _key_words(key: str) -> list[str]:
    text = words(key)
    for spaced, joined in _JOINED:
        text = re.sub(rf"\b{spaced}\b", joined, text)
    return text.split()


def _comparable(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    kind = a.get("type", "string")
    return kind == b.get("type", "string") and kind in ("string", "integer", "number") \
        and ("enum" in a) == ("enum" in b)


@dataclass(frozen=True)
class ParameterPair:
    """Two parameters said together ("from {a} to {b}"), ``first`` first."""

    first: str
    second: str
    kind: str


def parameter_pairs(properties: Mapping[str, Any]) -> list[ParameterPair]:
    """The pairs among a schema's parameters: names equal but for one word of a known pair
    (``check_in``/``check_out``, ``min_price``/``max_price``, ``origin``/``destination``), of
    the same plain type. A parameter belongs to at most one pair."""
    keys = list(properties)
    split = {k: _key_words(k) for k in keys}
    pairs: list[ParameterPair] = []
    used: set[str] = set()
    for a in keys:
        for b in keys:
            if a == b or a in used or b in used or len(split[a]) != len(split[b]):
                continue
            diff = [i for i, (x, y) in enumerate(zip(split[a], split[b])) if x != y]
            if len(diff) != 1:
                continue
            kind = _PAIR_WORDS.get((split[a][diff[0]], split[b][diff[0]]))
            if kind in ("span", "route"):          # said by what the pair is: places go, dates span
                role = parameter_role(a, properties[a])
                kind = "span" if role in ("date", "time") else "route"
            if kind and _comparable(properties[a], properties[b]):
                pairs.append(ParameterPair(a, b, kind))
                used |= {a, b}
    return pairs


def pair_phrase(pair: ParameterPair, rng: random.Random) -> tuple[str, str, str]:
    """The pair said together, as (text before the first value, text between, text after)."""
    form = rng.choice(PAIR_FORMS[pair.kind])
    before, rest = form.split("{a}")
    between, after = rest.split("{b}")
    return before, between, after


def parameter_role(key: str, node: Mapping[str, Any]) -> str | None:
    """What kind of thing a parameter's value is, where English has a preposition for it."""
    w = set(_key_words(key))
    head = re.split(r"[,;:(]|\be\.g\.|\.\s|\.$", (node.get("description") or "").lower())[0].split()
    w |= set(_key_words("_".join(head[:4])))      # "Check-in date as ...", "Departure city or ..."
    kind = node.get("type", "string")
    if kind in ("integer", "number"):
        if w & {"max", "maximum"}:
            return "max"
        if w & {"min", "minimum"}:
            return "min"
        name = set(_key_words(key))
        if name & _PARTY_WORDS or " ".join(head[:3]) in ("number of people", "number of guests"):
            return "party"
        if name & _MONEY_WORDS and not name & _MEASURE_WORDS:
            return "money"
        return None
    if kind != "string" or "enum" in node:
        return None
    fmt = node.get("format")
    if fmt in ("date", "date-time") or (w & _DATE_WORDS and not w & _TIME_WORDS):
        return "date"
    if fmt == "time" or (w & _TIME_WORDS and not w & {"zone", "timezone", "stamp", "timestamp"}):
        return "time"
    name = set(_key_words(key))
    if "address" in name and not name & {"email", "ip", "web", "mac"}:
        return "address"
    if w & _PLACE_WORDS:
        return "place"
    if w & {"reason", "why", "cause"}:
        return "reason"
    if name & _VENUE_WORDS and not name & {"id", "code", "number"}:
        return "venue"
    if name & _RECIPIENT_WORDS or key == "to":
        return "recipient"
    return None


def parameter_roles(properties: Mapping[str, Any]) -> dict[str, str]:
    """Each parameter's role, for those that have one (computed once per tool)."""
    roles = {k: parameter_role(k, node) for k, node in properties.items()}
    return {k: r for k, r in roles.items() if r}


def sole_roles(roles: Mapping[str, str], chosen: Sequence[str], pairs: Sequence[ParameterPair]) -> dict[str, str]:
    """The chosen parameters that are the only one of their role in the request (and not a
    pair's second member: "on June 3" alone reads as the departure, not the return)."""
    seconds = {p.second for p in pairs}
    counts = Counter(roles[k] for k in chosen if k in roles)
    return {k: roles[k] for k in chosen if k in roles and counts[roles[k]] == 1 and k not in seconds}


def party_noun(key: str) -> str:
    """The noun a head count is said with: "4 guests" for ``num_guests``, else "4 people"."""
    return next((w for w in _key_words(key) if w in _PARTY_NOUNS), "people")


def role_phrases(role: str, value_text: str, key: str = "") -> list[str]:
    noun = party_noun(key) if role == "party" else ""
    return [form.format(v=value_text, n=noun) for form in ROLE_FORMS[role]]


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def noun_only_tools(specs: Sequence[ToolSpec]) -> set[str]:
    """Lookup tools that can be asked for by their object alone ("hotels in Lisbon"): a lookup
    verb and an object no other lookup tool of the registry names."""
    objects: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        w = words(spec.name).split()
        if len(w) >= 2 and w[0] in _LOOKUP_VERBS:
            objects[spec.name] = tuple(_singular(x) for x in w[1:] if x not in ("up", "for", "all"))
    out = set()
    for name, obj in objects.items():
        if obj and not any(o == obj for n, o in objects.items() if n != name):
            out.add(name)
    return out
