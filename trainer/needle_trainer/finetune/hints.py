"""Value hints for a user's tools: what realistic values of each parameter look like.

A user's schema says ``room: string`` and nothing about what a room is called; the data engine
needs ``x-values`` / ``x-faker`` / ranges to fill it. The hints come, in order, from the
parameter's own description (quoted examples such as ``e.g. "kitchen"``, ranges such as
``1-100``), from its name (email, phone, city, dates, ids...), and from the authored catalogue's
parameters of the same name in the most similar tools. The hinted schema is only read by
generation; examples always show the user's clean schema.
"""

from __future__ import annotations

import random
import re
import string
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from needle_trainer.data.catalogue import Domain
from needle_trainer.data.phrasing import words
from needle_trainer.data.values import Filled, ValueMaker

POOL_SIZE = 48
FREE_TEXT_POOL = 240
STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or is are be it its this that as e g eg if any "
    "when left out which what how one some into your their his her our my we you they i not no".split())
#: words too common in tool names to say two tools are about the same thing
GENERIC_VERBS = frozenset(
    "get set create update delete list add remove show find search fetch make check run start stop new "
    "read write edit change send open close cancel".split())
_VAGUE_LAST = frozenset("name id type code number date time value text key kind".split())
_QUOTED = re.compile(r"[\"“]([^\"“”]{1,60})[\"”]")
_RANGE = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(-?\d+(?:\.\d+)?)")
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_MONTHS = ("January February March April May June July August September October November "
           "December").split()

# (pattern over the parameter's name words, faker kind)
_NAME_FAKER = (
    (r"\bemails?\b", "email"), (r"\b(phone|mobile|telephone)\b", "phone_number"),
    (r"\b(postal|zip|postcode)\b", "postcode"), (r"\b(url|link|website|webpage)\b", "url"),
    (r"\b(first name|given name)\b", "first_name"), (r"\b(last name|surname|family name)\b", "last_name"),
    (r"\b(full name|customer name|person|assignee|owner|contact|recipient|passenger name|guest name|"
     r"traveller|traveler|attendee|patient|employee)\b", "name"),
    (r"\b(city|town)\b", "city"), (r"\bcountry code\b", "country_code"), (r"\bcountry\b", "country"),
    (r"\b(street|address)\b", "street_address"), (r"\bstate\b", "state"),
    (r"\b(company|organisation|organization|employer)\b", "company"), (r"\blanguage\b", "language_name"),
    (r"\b(username|user name|handle|login)\b", "user_name"), (r"\b(ip|ip address)\b", "ipv4"),
    (r"\biban\b", "iban"), (r"\b(file name|filename)\b", "file_name"), (r"\b(path|file)\b", "file_path"),
    (r"\btime ?zone\b", "timezone"),
)
_DATE_WORDS = re.compile(r"\b(date|day|check in|check out|deadline|birthday|departure|arrival|due|when)\b")
_TIME_WORDS = re.compile(r"\b(time|hour|clock)\b")
_ID_WORDS = re.compile(r"\b(id|ids|number|code|sku|ref|reference|confirmation|serial|tracking|pnr)\b")
_TEXT_WORDS = re.compile(r"\b(summary|comment|message|note|notes|body|text|content|reason|description|"
                         r"subject|title|feedback|details|request)\b")


def tokens(text: str) -> list[str]:
    """Content words of ``text`` (lowercase, light plural stemming, no stopwords)."""
    out = []
    for w in re.findall(r"[a-z][a-z0-9]+", words(text) if "_" in text and " " not in text else text.lower()):
        if w in STOPWORDS:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def quoted_examples(description: str) -> list[str]:
    """Example values a description quotes (``e.g. "kitchen" or "living room"``)."""
    found = [m.group(1).strip() for m in _QUOTED.finditer(description or "")]
    return [f for f in dict.fromkeys(found) if f and len(f.split()) <= 6]


def mimic(example: str, rng: random.Random) -> str:
    """A new value of the same shape: ``A-10293`` -> ``K-58120``, ``Japan 2025`` -> ``Japan 2026``.
    Digits vary; capitals vary only in code-like tokens (digits and no lowercase)."""
    out = []
    for token in re.split(r"(\s+)", example):
        if re.fullmatch(r"(19|20)\d\d", token):
            out.append(str(rng.randint(2024, 2027)))
            continue
        code = any(c.isdigit() for c in token) and not any(c.islower() for c in token)
        out.append("".join(rng.choice(string.digits) if ch.isdigit() else
                           rng.choice(string.ascii_uppercase) if code and ch.isupper() else ch for ch in token))
    return "".join(out)


def free_date(rng: random.Random) -> str:
    """A date as people type it in a free-text field (the value is this text, verbatim)."""
    month = rng.choice(_MONTHS)
    day = rng.randint(1, 28)
    year = rng.choice((2025, 2026))
    forms = (f"{year}-{_MONTHS.index(month) + 1:02d}-{day:02d}", f"{month} {day}", f"{day} {month}",
             f"{month[:3]} {day}", f"next {rng.choice(_WEEKDAYS)}", rng.choice(("tomorrow", "today")),
             f"this {rng.choice(_WEEKDAYS)}", f"{month} {day}, {year}", f"{_MONTHS.index(month) + 1}/{day}",
             _bare_weekday(rng), _bare_weekday(rng), rng.choice(("tonight", "tomorrow night", "this weekend")))
    return rng.choice(forms)


def _bare_weekday(rng: random.Random) -> str:
    """"friday", "Sat", "Sunday": how people most often name a day in a chat request."""
    day = rng.choice(_WEEKDAYS)
    day = day[:3] if rng.random() < 0.25 else day
    return day.lower() if rng.random() < 0.5 else day


def free_time(rng: random.Random) -> str:
    hour, minute = rng.randint(6, 22), rng.choice((0, 0, 15, 30, 30, 45))
    h12, ampm = hour % 12 or 12, "am" if hour < 12 else "pm"
    compact = f"{h12}{ampm}" if not minute else f"{h12}:{minute:02d}{ampm}"
    plain = "noon" if hour == 12 and not minute else f"{hour}:{minute:02d}"
    return rng.choice((f"{hour:02d}:{minute:02d}", f"{h12}:{minute:02d} {ampm}", compact, plain))


def identifier(rng: random.Random) -> str:
    prefix = rng.choice(("", "", "#", "A-", "ID-", "X", "REF-"))
    alphabet = string.digits + string.ascii_uppercase[:6]
    return prefix + "".join(rng.choice(alphabet) for _ in range(rng.choice((5, 6, 8))))


class CatalogueBank:
    """The authored catalogue's parameters by name, to borrow realistic values and ranges."""

    def __init__(self, domains: Sequence[Domain]):
        self._by_name: dict[str, list[tuple[frozenset[str], Mapping[str, Any]]]] = defaultdict(list)
        texts: set[str] = set()
        for domain in domains:
            for tool in domain.tools:
                context = frozenset(tokens(f"{tool.name} {tool.description} {domain.name}")) - GENERIC_VERBS
                for key, node in (tool.schema.get("properties") or {}).items():
                    if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
                        node = node["items"]          # a list's values are its items' ("ingredients")
                    if _TEXT_WORDS.search(words(key)) and "enum" not in node:
                        texts.update(v for v in node.get("x-values") or () if isinstance(v, str) and len(v.split()) >= 3)
                    self._by_name[key.lower()].append((context, node))
                    last = key.lower().split("_")[-1]
                    if last != key.lower():
                        self._by_name["*" + last].append((context, node))
        #: what people write in comments, notes and messages, authored across the catalogue's domains
        self.free_texts = sorted(texts)

    def nodes(self, name: str, kind: str | None, context: set[str]) -> tuple[int, list[Mapping[str, Any]]]:
        """(overlap, nodes): catalogue nodes for a parameter called ``name`` of this type in the
        tools most similar to ``context`` (overlap = shared content words; 0: unrelated tools)."""
        key = name.lower()
        last = key.split("_")[-1]
        context = set(context) - GENERIC_VERBS
        lookups = [self._by_name.get(key), self._by_name.get("*" + key)]
        if last not in _VAGUE_LAST:
            lookups += [self._by_name.get(last), self._by_name.get("*" + last)]
        for cands in lookups:
            same = [(len(c & context), n) for c, n in cands or () if n.get("type") == kind and
                    ("enum" in n) is False]
            if same:
                best = max(s for s, _ in same)
                return best, [n for s, n in same if s == best]
        return 0, []


def _number_hint(name: str, node: Mapping[str, Any], bank_nodes: list[Mapping[str, Any]]) -> dict[str, Any]:
    label = words(name)
    desc = (node.get("description") or "").lower()
    out: dict[str, Any] = {}
    m = _RANGE.search(desc)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo < hi:
            out["minimum"], out["maximum"] = lo, hi
    elif "percent" in desc or "percent" in label:
        out["minimum"], out["maximum"] = 0, 100
    elif re.search(r"\b(star|rating)\b", label + " " + desc):
        out["minimum"], out["maximum"] = 1, 5
    elif re.search(r"\b(guest|guests|passenger|passengers|people|adults|children|rooms|nights|seats|"
                   r"quantity|count|bags)\b", label):
        out["minimum"], out["maximum"] = 1, 8
    elif re.search(r"\bminutes?\b", label + " " + desc):
        out["x-values"] = [5, 10, 15, 20, 25, 30, 40, 45, 60, 90, 120, 3, 8, 12]
    elif re.search(r"\bseconds?\b", label):
        out["minimum"], out["maximum"] = 0, 60
    elif "year" in label.split():
        out["minimum"], out["maximum"] = 2018, 2030
    elif "temperature" in label:
        out["minimum"], out["maximum"] = 16, 28
    else:
        for b in bank_nodes:
            if "minimum" in b or "maximum" in b or "x-values" in b:
                out.update({k: b[k] for k in ("minimum", "maximum", "x-values") if k in b})
                break
    if node.get("type") == "integer":
        for k in ("minimum", "maximum"):
            if k in out:
                out[k] = int(out[k])
        if "x-values" in out and not all(isinstance(v, int) for v in out["x-values"]):
            out.pop("x-values")
    for k in ("minimum", "maximum"):          # the user's own bounds win
        if k in node:
            out[k] = node[k]
    if "x-values" in out:
        lo, hi = out.get("minimum", float("-inf")), out.get("maximum", float("inf"))
        out["x-values"] = [v for v in out["x-values"] if lo <= v <= hi] or None
        if out["x-values"] is None:
            out.pop("x-values")
    return out


def _boolean_say(name: str) -> dict[str, list[str]]:
    label = words(name)
    if label.endswith(" only"):
        rest = label[:-5]
        return {"true": [f"{rest} only", f"only {rest}"], "false": [f"not only {rest}", f"any, not just {rest}"]}
    if label.startswith(("is ", "include ", "use ", "enable ")):
        rest = label.split(" ", 1)[1]
        return {"true": [f"with {rest}", f"{label}"], "false": [f"without {rest}", f"no {rest}"]}
    return {"true": [f"with {label}", f"{label} on", f"and {label}", f"{label}: yes", f"{label} true"],
            "false": [f"without {label}", f"no {label}", f"{label} off", f"{label}: no", f"{label} false"]}


def _faker_kinds(text: str) -> list[str]:
    return list(dict.fromkeys(kind for pattern, kind in _NAME_FAKER if re.search(pattern, text)))


def _string_hint(name: str, node: Mapping[str, Any], bank_nodes: list[Mapping[str, Any]], related: bool,
                 rng: random.Random, free_texts: Sequence[str]) -> dict[str, Any]:
    label = words(name)
    desc = (node.get("description") or "").lower()
    examples = quoted_examples(node.get("description") or "")
    out: dict[str, Any] = {}
    if examples:
        out["x-examples"] = examples
    if node.get("format") in ("date", "time", "date-time"):
        return out
    idlike = bool(_ID_WORDS.search(label)) and not _TEXT_WORDS.search(label)
    if _DATE_WORDS.search(label) and not idlike:
        out["x-values"] = [free_date(rng) for _ in range(POOL_SIZE)]
        return out
    if _TIME_WORDS.search(label) and not idlike:
        out["x-values"] = [free_time(rng) for _ in range(POOL_SIZE)]
        return out
    bank_values = [v for b in bank_nodes for v in b.get("x-values") or () if isinstance(v, str)]
    if idlike:
        shapes = [e for e in examples if any(c.isdigit() for c in e)] or \
                 [v for v in bank_values if any(c.isdigit() for c in v)]
        out["x-values"] = [mimic(rng.choice(shapes), rng) if shapes else identifier(rng) for _ in range(POOL_SIZE)]
        return out
    kinds = _faker_kinds(label)
    if kinds:
        out["x-faker"] = kinds[0]
        return out
    kinds = _faker_kinds(desc.split(" e.g.")[0])
    if kinds:                                  # "the email, phone number or name to search for"
        out["x-fakers"] = kinds
        return out
    faker = next((b["x-faker"] for b in bank_nodes if b.get("x-faker")), None)
    if related and (bank_values or faker):
        return {**out, **_borrowed(bank_values, faker)}
    if examples:                               # the description's examples and look-alikes
        variants = [mimic(rng.choice(examples), rng) for _ in range(POOL_SIZE)]
        out["x-values"] = list(dict.fromkeys(examples + variants))
        if len(out["x-values"]) < 6:
            out["x-example-rate"] = 0.6
            out["x-faker"] = "catch_phrase" if label.endswith("name") else "word"
            out.pop("x-values")
        return out
    if bank_values or faker:
        out.update(_borrowed(bank_values, faker))
    elif _TEXT_WORDS.search(label) or _TEXT_WORDS.search(desc[:40]):
        if free_texts:                          # people's phrasing, not lorem words in twenty locales
            out["x-values"] = rng.sample(free_texts, min(FREE_TEXT_POOL, len(free_texts)))
        else:
            out["x-faker"] = "sentence"
    else:
        out["x-faker"] = "catch_phrase" if label.endswith("name") else "word"
    return out


def _borrowed(bank_values: list[str], faker: str | None) -> dict[str, Any]:
    """The hint taken from the catalogue's parameters of the same name: their values, else their faker."""
    return {"x-values": list(dict.fromkeys(bank_values))} if bank_values else {"x-faker": faker}


def hinted_schema(node: Mapping[str, Any], name: str, context: set[str], bank: CatalogueBank,
                  rng: random.Random) -> dict[str, Any]:
    """A copy of a (clean) schema node with generation hints (``x-values``, ``x-faker``, ranges)."""
    out = dict(node)
    kind = node.get("type")
    if "anyOf" in node:                       # optional[X] and friends: generate the first non-null member
        members = [m for m in node["anyOf"] if m.get("type") != "null"] or node["anyOf"]
        merged = {**{k: v for k, v in node.items() if k != "anyOf"}, **members[0]}
        return hinted_schema(merged, name, context, bank, rng)
    if "enum" in node:
        return out
    score, bank_nodes = bank.nodes(name, kind, context) if kind in ("string", "integer", "number") else (0, [])
    if kind == "string":
        out.update(_string_hint(name, node, bank_nodes, score > 0, rng, bank.free_texts))
    elif kind in ("integer", "number"):
        out.update(_number_hint(name, node, bank_nodes))
    elif kind == "boolean":
        out["x-say"] = _boolean_say(name)
    elif kind == "array":
        items = node.get("items") or {"type": "string"}
        if not items.get("type") and "enum" not in items and "anyOf" not in items:
            items = {**items, "type": "string"}
        if not items.get("description") and node.get("description"):
            items = {**items, "description": node["description"]}   # its examples are the items'
        item_name = name                  # the catalogue's lists of that name, else its single values
        if not bank.nodes(name, items.get("type"), context)[1] and name.endswith("s") and len(name) > 3:
            item_name = name[:-1]
        out["items"] = hinted_schema(items, item_name, context, bank, rng)
    elif kind == "object":
        out["properties"] = {k: hinted_schema(v, k, context, bank, rng)
                             for k, v in (node.get("properties") or {}).items()}
    elif not kind:
        out.update({"type": "string", "x-faker": "word"})
    return out


class RegistryValues(ValueMaker):
    """ValueMaker that also uses description examples, and fills optional object fields sometimes."""

    example_rate = 0.25
    optional_field_rate = 0.3
    spell_all_numbers = True          # "twenty-five minutes": how people type to an assistant

    def string(self, node: Mapping[str, Any]) -> Filled:
        examples = node.get("x-examples")
        if examples and self.rng.random() < node.get("x-example-rate", self.example_rate):
            value = self.rng.choice(examples)
            return Filled(value, value)
        kinds = node.get("x-fakers")
        if kinds and node.get("format") is None:
            value = self.faker_value(self.rng.choice(kinds))
            return Filled(value, value)
        return super().string(node)

    def value(self, node: Mapping[str, Any]) -> Filled:
        if node.get("type") == "object" and "enum" not in node:
            props = node.get("properties") or {}
            required = set(node.get("required", []))
            keys = [k for k in props if k in required or self.rng.random() < self.optional_field_rate]
            filled = {k: self.value(props[k]) for k in keys}
            if self.rng.random() < 0.5:
                text = ", ".join(f.text for f in filled.values())
            else:
                text = ", ".join(f"{words(k)} {f.text}" for k, f in filled.items())
            return Filled({k: f.value for k, f in filled.items()}, text, "fixed")
        return super().value(node)
