"""Argument values and the words people use for them.

A generated value is a :class:`Filled`: the JSON value the call must carry, the text that goes
into the query, and, when that text does not contain the value verbatim, the documented reason
the grounding check accepts it (:data:`EXEMPTIONS`). Strings are copied verbatim (that is what
the model must learn); numbers, dates, times, enums and booleans may be said in other words.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from needle_trainer.tokenizer_corpus import number_words, stabilise_faker

#: why a value may be absent from the query text, verbatim
EXEMPTIONS = {
    "number": "a number said in another surface form (three, 1,200, 5k, 3.0)",
    "date": "a date said as words (March 14, 2026) for an ISO value",
    "time": "a time said as 2:30 pm for 14:30",
    "enum": "an enum value said with one of its x-say phrases or with spaces for underscores",
    "boolean": "a boolean said with words (on/off, yes/no)",
    "fixed": "a value the template's wording implies ({param=value})",
}

LOCALES = (
    ("en_US", 12), ("en_GB", 3), ("en_IN", 2), ("de_DE", 3), ("fr_FR", 3), ("es_ES", 3),
    ("es_MX", 1), ("it_IT", 2), ("pt_BR", 2), ("nl_NL", 1), ("pl_PL", 1), ("sv_SE", 1),
    ("tr_TR", 1), ("ru_RU", 1), ("ja_JP", 2), ("zh_CN", 2), ("ko_KR", 1), ("hi_IN", 1),
    ("ar_SA", 1), ("vi_VN", 1),
)
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_AIRPORTS = ("JFK LAX SFO ORD ATL SEA BOS MIA DFW DEN LHR CDG FRA AMS MAD FCO MUC ZRH IST DXB DOH "
             "SIN HND NRT ICN PEK PVG HKG BKK DEL BOM SYD MEL AKL YYZ YVR MEX GRU EZE JNB CAI").split()
_PRODUCT_ADJ = "wireless ergonomic compact stainless waterproof portable organic vintage smart foldable".split()
_PRODUCT_NOUN = ("headphones backpack kettle desk lamp blender water bottle yoga mat phone case "
                 "running shoes keyboard coffee grinder air fryer tent").split(" ")
_SLUG_WORDS = ("alpha beta prod staging main blue green red north east west core edge data web api app "
               "media logs users orders sales east2 v2 v3 backup archive primary replica cache queue "
               "reports billing search analytics mobile public private internal temp dev test").split()
_LONG_EXTRAS = (" with the quarterly numbers attached", " and please double check the spelling",
                ", the one we talked about last week", " before the end of the day")


@dataclass(frozen=True)
class Filled:
    value: Any
    text: str
    exempt: str | None = None     # a key of EXEMPTIONS when text need not contain the value


def number_surface(value: int | float, rng: random.Random, spell_all: bool = False) -> Filled:
    """One of the ways people write ``value``. Numbers up to 20 and round tens are spelled out
    sometimes; ``spell_all`` spells any number below 100 too ("twenty-five", "twenty five")."""
    if isinstance(value, float) and not value.is_integer():
        text = repr(value)
        return Filled(value, text if rng.random() < 0.8 else text.rstrip("0").rstrip("."))
    n = int(value)
    forms: list[tuple[str, str | None]] = [(str(n), None)] * 4
    if 0 <= n <= 20 or (0 <= n < 100 and n % 10 == 0):
        forms.append((number_words(n), "number"))
    elif spell_all and 20 < n < 100:
        spelled = number_words(n)
        forms.append((spelled if rng.random() < 0.5 else spelled.replace("-", " "), "number"))
    if abs(n) >= 1000:
        forms += [(f"{n:,}", "number")] * 2
        if n % 1000 == 0:
            forms.append((f"{n // 1000}k", "number"))
    if isinstance(value, float) or rng.random() < 0.05:
        forms.append((f"{n}.0", "number"))
    text, exempt = rng.choice(forms)
    return Filled(value, text, exempt)


def date_surface(day: dt.date, rng: random.Random) -> Filled:
    iso = day.isoformat()
    month = _MONTHS[day.month - 1]
    forms = [
        (iso, None), (iso, None),
        (f"{month} {day.day}, {day.year}", "date"),
        (f"{day.day} {month} {day.year}", "date"),
        (f"{month[:3]} {day.day} {day.year}", "date"),
    ]
    text, exempt = rng.choice(forms)
    return Filled(iso, text, exempt)


def time_surface(hour: int, minute: int, rng: random.Random) -> Filled:
    value = f"{hour:02d}:{minute:02d}"
    h12 = hour % 12 or 12
    ampm = "am" if hour < 12 else "pm"
    forms = [(value, None), (value, None), (f"{h12}:{minute:02d} {ampm}", "time"),
             (f"{h12}:{minute:02d}{ampm}", "time")]
    if minute == 0:
        forms.append((f"{h12} {ampm}", "time"))
    text, exempt = rng.choice(forms)
    return Filled(value, text, exempt)


class ValueMaker:
    """Makes values for schema nodes. One per worker; seeded, so a worker's stream repeats."""

    #: spell every number below 100 sometimes (fine-tune synthesis). Off for the data engine:
    #: its held-out evaluation set is generated by this code and must not change.
    spell_all_numbers = False

    def __init__(self, rng: random.Random, locales: tuple[tuple[str, int], ...] = LOCALES):
        self.rng = rng
        self._locales = [name for name, _ in locales]
        self._cum_weights = list(itertools.accumulate(w for _, w in locales))
        self._fakers: dict[str, Any] = {}
        self._chunk_key = "0"
        self._seeded: set[str] = set()
        self._word_lists: dict[int, list[str]] = {}

    def reseed(self, key: str) -> None:
        """Start a new chunk: each Faker is reseeded from ``key`` on its first use in the chunk,
        so a chunk's values do not depend on what the worker generated before."""
        self._chunk_key = key
        self._seeded.clear()

    def faker(self, locale: str | None = None):
        locale = locale or self.rng.choices(self._locales, cum_weights=self._cum_weights)[0]
        fake = self._fakers.get(locale)
        if fake is None:
            from faker import Faker

            fake = Faker(locale)
            stabilise_faker(fake)
            self._fakers[locale] = fake
        if locale not in self._seeded:
            digest = hashlib.sha256(f"{self._chunk_key}:{locale}".encode()).digest()
            fake.seed_instance(int.from_bytes(digest[:8], "big"))
            self._seeded.add(locale)
        return fake

    # -------------------------------------------------------------------------- strings
    def faker_value(self, kind: str) -> str:
        rng = self.rng
        if kind == "airport_code":
            return rng.choice(_AIRPORTS)
        if kind == "product_name":
            return f"{rng.choice(_PRODUCT_ADJ)} {rng.choice(_PRODUCT_NOUN)}"
        if kind == "identifier":
            prefix = rng.choice(("i-", "sg-", "proj-", "usr_", "", "job-", "vol-"))
            return prefix + "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice((6, 8, 12))))
        if kind == "slug":
            return "-".join(rng.choice(_SLUG_WORDS) for _ in range(rng.choice((1, 2, 2, 3))))
        if kind == "date":
            return self.date().value
        if kind == "time":
            return self.time().value
        if kind == "date_time":
            return self.date().value + "T" + self.time().value + ":00"
        for _ in range(3):
            fake = self.faker()
            method = getattr(fake, kind, None)
            if method is None:
                fake = self.faker("en_US")
                method = getattr(fake, kind)
            if kind in ("text", "sentence", "word"):
                value = self._words_text(fake, 1 if kind == "word" else rng.randint(4, 14 if kind == "text" else 9))
            else:
                value = method()
            value = " ".join(str(value).split())
            if value:
                return value
        return "value"

    def _words_text(self, fake, n: int) -> str:
        """Lorem-style words of the Faker's locale (Faker's own sentence() is ~50x slower)."""
        words = self._word_lists.get(id(fake))
        if words is None:
            words = self._word_lists[id(fake)] = fake.get_words_list()
        if n == 1:
            return self.rng.choice(words)
        sep = "" if any(ord(ch) > 0x2E80 for ch in words[0]) else " "
        text = sep.join(self.rng.choice(words) for _ in range(n))
        return text[:1].upper() + text[1:] + ("。" if sep == "" else ".")

    def string(self, node: Mapping[str, Any]) -> Filled:
        fmt = node.get("format")
        if fmt == "date":
            return self.date()
        if fmt == "time":
            return self.time()
        if fmt == "date-time":
            day, clock = self.date(), self.time()
            value = f"{day.value}T{clock.value}:00"
            if day.exempt is None and clock.exempt is None:
                return Filled(value, f"{day.value} {clock.value}", "date")
            return Filled(value, f"{day.text} at {clock.text}", "date")
        values = node.get("x-values")
        if values:
            value = self.rng.choice(values)
        elif node.get("x-faker"):
            value = self.faker_value(node["x-faker"])
        else:
            value = self.faker_value("word")
        if self.rng.random() < 0.03 and len(value) < 40 and node.get("x-faker") in ("text", "sentence"):
            value += self.rng.choice(_LONG_EXTRAS)
        return Filled(value, value)

    def date(self) -> Filled:
        day = dt.date(2024, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 1100))
        return date_surface(day, self.rng)

    def time(self) -> Filled:
        minute = self.rng.choice((0, 0, 0, 15, 30, 30, 45, self.rng.randrange(60)))
        return time_surface(self.rng.randrange(6, 23), minute, self.rng)

    # -------------------------------------------------------------------------- others
    def number(self, node: Mapping[str, Any]) -> Filled:
        values = node.get("x-values")
        if values:
            return number_surface(self.rng.choice(values), self.rng, self.spell_all_numbers)
        integer = node.get("type") == "integer"
        lo = node.get("minimum", 1 if integer else 0)
        hi = node.get("maximum", lo + (100 if self.rng.random() < 0.8 else 5000))
        if hi < lo:
            hi = lo + 100
        if integer:
            value: int | float = self.rng.randint(int(lo), int(hi))
        else:
            value = round(self.rng.uniform(lo, hi), self.rng.choice((0, 1, 1, 2)))
            if value == int(value) and self.rng.random() < 0.7:
                value = int(value)
            value = min(max(value, lo), hi)
        return number_surface(value, self.rng, self.spell_all_numbers)

    def enum(self, node: Mapping[str, Any]) -> Filled:
        value = self.rng.choice(node["enum"])
        say = (node.get("x-say") or {}).get(str(value))
        if not isinstance(value, str):
            return Filled(value, str(value).lower() if isinstance(value, bool) else str(value))
        if say and self.rng.random() < 0.6:
            text = self.rng.choice(say)
            return Filled(value, text, None if value in text else "enum")
        if "_" in value and self.rng.random() < 0.7:
            return Filled(value, value.replace("_", " "), "enum")
        return Filled(value, value)

    def boolean(self, node: Mapping[str, Any]) -> Filled:
        value = self.rng.random() < 0.5
        say = (node.get("x-say") or {}).get("true" if value else "false")
        return Filled(value, self.rng.choice(say) if say else ("yes" if value else "no"), "boolean")

    def array(self, node: Mapping[str, Any]) -> Filled:
        items = node.get("items") or {"type": "string"}
        n = self.rng.choice((1, 2, 2, 3, 3, 4))
        parts: list[Filled] = []
        seen = set()
        for _ in range(n * 3):
            f = self.value(items)
            key = repr(f.value)
            if key not in seen:
                seen.add(key)
                parts.append(f)
            if len(parts) == n:
                break
        texts = [p.text for p in parts]
        if len(texts) == 1:
            text = texts[0]
        else:
            style = self.rng.random()
            if style < 0.55:
                text = ", ".join(texts[:-1]) + " and " + texts[-1]
            elif style < 0.85:
                text = ", ".join(texts)
            else:
                text = " & ".join(texts)
        return Filled([p.value for p in parts], text, next((p.exempt for p in parts if p.exempt), None))

    def value(self, node: Mapping[str, Any]) -> Filled:
        """A value of any catalogue schema node (objects get their required fields only)."""
        if "enum" in node:
            return self.enum(node)
        kind = node.get("type")
        if kind == "string":
            return self.string(node)
        if kind in ("integer", "number"):
            return self.number(node)
        if kind == "boolean":
            return self.boolean(node)
        if kind == "array":
            return self.array(node)
        if kind == "object":
            props = node.get("properties") or {}
            out = {k: self.value(props[k]) for k in node.get("required", []) if k in props}
            return Filled({k: f.value for k, f in out.items()}, " ".join(f.text for f in out.values()), "fixed")
        return self.string({"type": "string"})
