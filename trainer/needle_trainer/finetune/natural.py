"""Phrasings people use that the labelled templates ("room kitchen", "duration minutes 3") miss.

* a value inside the action's object: "turn on the kitchen lights", "lock the back door",
  "set a 3 min timer" (:func:`modifier_action`);
* a name or label said with "called" / "named": "a timer called eggs" (:func:`name_phrases`);
* short units: "3 min", "2 hrs", "a 45-minute" (:func:`unit_spellings`);
* a question for a read-only tool: "what's the indoor temperature?" (:func:`question_action`);
* a number said as an idiom of its unit: "half an hour" (30 minutes), "halfway" (50 percent),
  "closed" (0 percent open) (:func:`value_idiom`).

These are general English patterns keyed on parameter names, types and units, never on a
particular registry's tools.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from needle_trainer.data.phrasing import words
from needle_trainer.data.values import Filled

Parts = list[tuple[str, bool]]

#: short spellings of a unit after a number ("3 min", "3-minute")
UNIT_SHORT: dict[str, tuple[str, ...]] = {
    "minutes": ("min", "mins", "minutes", "-minute"),
    "seconds": ("sec", "secs", "seconds", "s", "-second"),
    "hours": ("hr", "hrs", "hours", "h", "-hour"),
    "days": ("days", "-day"),
    "nights": ("nights", "-night"),
    "%": ("%", " percent", " per cent"),
    "km": ("km", "-km", "kilometers"),
    "miles": ("miles", "mi", "-mile"),
    "grams": ("g", "grams", "g", "gr"),
    "kg": ("kg", " kilos", "kg"),
    "ml": ("ml", "ml", " milliliters"),
    "calories": (" calories", " kcal", " cal"),
}
_TIGHT = frozenset({"g", "kg", "ml", "gr"})     # written against the number: "150g"
_SINGULAR = {"minutes": "minute", "seconds": "second", "hours": "hour", "days": "day", "nights": "night",
             "kilometers": "kilometer", "miles": "mile"}
#: units whose value-and-unit can stand before the object noun, as said there ("a 3-minute timer")
MODIFIER_UNITS: dict[str, tuple[str, ...]] = {
    "minutes": ("-minute", " minute", " min"), "seconds": ("-second", " second", " sec"),
    "hours": ("-hour", " hour", " hr"), "days": ("-day", " day"), "nights": ("-night", " night"),
    "km": ("-km", " km"), "miles": ("-mile", " mile"),
}
_NAME_KEY = re.compile(r"\b(label|name|title|nickname|tag|alias)\b")
_TEXT_KEY = re.compile(r"\b(text|comment|message|note|notes|summary|reason|body|description|content|query|"
                       r"subject|details|feedback|request|question)\b")
PLACE_KEY = re.compile(r"\b(room|location|place|city|zone|area|speaker|region|site|venue|door|device|"
                       r"floor|channel|account|calendar|list|folder|board|project|team)\b")
READ_VERBS = frozenset("get check read fetch".split())   # "what's the X" fits these, not find_X or list_X
QUESTION_LEADS = ("what's the {o}", "what is the {o}", "what's the current {o}", "tell me the {o}",
                  "how about the {o}", "whats the {o}")


def unit_spellings(value_text: str, unit: str, rng: random.Random) -> str:
    """``value_text`` followed by one spelling of ``unit``: "3 min", "3-minute", "1 hour"."""
    spelling = rng.choice(UNIT_SHORT.get(unit, (unit,)))
    if spelling.startswith(("-", " ")) or unit == "%" or (spelling in _TIGHT and rng.random() < 0.5):
        return f"{value_text}{spelling}"
    if value_text in ("1", "one"):
        spelling = _SINGULAR.get(spelling, spelling)
    return f"{value_text} {spelling}"


def name_phrases(key: str, node: Mapping[str, Any], value_text: str) -> list[str]:
    """"called eggs" for a parameter that names or labels the thing the tool makes."""
    if node.get("type", "string") != "string" or "enum" in node or not _NAME_KEY.search(words(key)):
        return []
    return [f"called {value_text}", f"named {value_text}", f"called \"{value_text}\"", f"labelled {value_text}",
            f"titled {value_text}" if "title" in key else f"named \"{value_text}\""]


def can_modify(key: str, node: Mapping[str, Any], value_text: str, unit: str | None, action: str,
               required: bool) -> bool:
    """Whether this argument can sit inside the action's object without changing its meaning:
    a short place-like or object-naming string ("kitchen" lights, "back" door), or the required
    number of a tool with a time or distance unit ("a 3-minute timer"; an optional one such as a
    transition time describes something else)."""
    if " the " not in f" {action} ":
        return False
    tokens = action.split()
    if len(tokens) - 1 - tokens[::-1].index("the") < len(tokens) - 3:
        return False                 # "rate the restaurant the user has been to": a clause, not a noun
    kind = node.get("type", "string")
    if kind in ("integer", "number"):
        return required and unit in MODIFIER_UNITS
    if kind != "string" or "enum" in node or not value_text or len(value_text.split()) > 3:
        return False
    key_words = words(key)
    if _TEXT_KEY.search(key_words) or _NAME_KEY.search(key_words):
        return False
    return bool(PLACE_KEY.search(key_words) or set(key_words.split()) & set(action.split()))


def modifier_action(action: str, value_text: str, unit: str | None, rng: random.Random) -> Parts:
    """The action with the value before its object: "turn on the lights" -> "turn on the
    kitchen lights"; with a unit, "set the timer" -> "set a 3 min timer". The value is its own
    part, so it stays a copied span."""
    tokens = action.split()
    at = len(tokens) - 1 - tokens[::-1].index("the")
    head = " ".join(tokens[:at])
    tail = " ".join(tokens[at + 1:])
    if unit:
        article = "an" if value_text.startswith(("8", "11", "18", "eight", "eleven")) else "a"
        return [(f"{head} {article} ", False), (value_text, True), (f"{rng.choice(MODIFIER_UNITS[unit])} {tail}", False)]
    return [(f"{head} the ", False), (value_text, True), (f" {tail}", False)]


def question_action(name: str, rng: random.Random) -> str | None:
    """"what's the indoor temperature" for ``get_indoor_temperature``; None for tools that act."""
    w = words(name).split()
    if len(w) < 2 or w[0] not in READ_VERBS:
        return None
    obj = " ".join(w[2:] if w[1] in ("the", "my", "current") and len(w) > 2 else w[1:])
    return rng.choice(QUESTION_LEADS).format(o=obj)


#: numbers people say with words of their unit, by the unit (value, text)
UNIT_IDIOMS: dict[str, tuple[tuple[int, str], ...]] = {
    "minutes": ((30, "half an hour"), (60, "an hour"), (60, "one hour"), (90, "an hour and a half"),
                (90, "one and a half hours"), (15, "a quarter of an hour"), (45, "three quarters of an hour"),
                (120, "two hours"), (180, "three hours")),
    "seconds": ((30, "half a minute"), (60, "a minute"), (60, "one minute"), (90, "a minute and a half"),
                (120, "two minutes")),
    "%": ((50, "halfway"), (50, "half"), (100, "all the way"), (100, "full"), (100, "max")),
}
#: the same for a percentage of how far something is open ("open_percent", "position")
OPEN_IDIOMS: tuple[tuple[int, str], ...] = ((0, "closed"), (0, "fully closed"), (0, "all the way closed"),
                                            (100, "fully open"), (100, "all the way open"), (50, "half open"),
                                            (50, "halfway"))
IDIOM_TEXTS = frozenset(text for forms in (*UNIT_IDIOMS.values(), OPEN_IDIOMS) for _, text in forms)
_OPEN_KEY = re.compile(r"\b(open|opening|position|closed)\b")


def value_idiom(key: str, node: Mapping[str, Any], unit: str | None, rng: random.Random) -> Filled | None:
    """A number said as its unit's idiom ("half an hour" for 30 minutes), one the schema's
    bounds allow; None where the parameter's unit has none."""
    if node.get("type") not in ("integer", "number") or "enum" in node:
        return None
    forms = OPEN_IDIOMS if unit == "%" and _OPEN_KEY.search(words(key)) else UNIT_IDIOMS.get(unit or "", ())
    lo, hi = node.get("minimum", float("-inf")), node.get("maximum", float("inf"))
    forms = [(v, text) for v, text in forms if lo <= v <= hi]
    if not forms:
        return None
    value, text = rng.choice(forms)
    return Filled(value if node.get("type") == "integer" else float(value), text, "number")
