"""Queries for one user tool, from its name, description, parameter names/descriptions and types.

A :class:`ToolProfile` is computed once per tool: the action phrases its description and name
suggest ("Dim or brighten the lights in a room..." -> "dim the lights", "brighten the lights in
the"), the labels and units of its parameters and the hinted schema values are drawn from. A
request then varies the frame (prefixes, questions, terse commands), the action, the parameter
phrases and their order; a share uses the data engine's generic pattern
(:func:`needle_trainer.data.phrasing.request_parts`) as is.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from needle_router.tools import ToolSpec
from needle_trainer.data.generate import Parts, Request
from needle_trainer.data.phrasing import request_parts, verb_phrase, words
from needle_trainer.data.values import Filled, ValueMaker
from needle_trainer.finetune.hints import CatalogueBank, hinted_schema, tokens
from needle_trainer.finetune.natural import (
    IDIOM_TEXTS,
    can_modify,
    modifier_action,
    name_phrases,
    question_action,
    unit_spellings,
    value_idiom,
)
from needle_trainer.finetune.paraphrase import (ToolPhrasing, dropped_object_request, setter_request,
                                                status_question_request, swap_verb)
from needle_trainer.finetune.relations import (ParameterPair, pair_phrase, parameter_pairs, parameter_roles,
                                               role_phrases, sole_roles)

PREFIXES = ("", "", "", "", "please ", "can you ", "could you ", "i need to ", "i want to ", "i'd like to ",
            "help me ", "hey, ", "go ahead and ", "would you ", "can you please ", "pls ", "quick one: ",
            "i need you to ", "let's ", "could you please ", "ok ", "hi, can you ", "mind if you ",
            "would you mind to ", "you can ", "time to ", "i would like to ", "just ", "now ")
SUFFIXES = ("", "", "", "", " please", "?", " thanks", ".", " for me", " thx", " asap", " now", "!",
            " please and thank you", " when you get a chance", ", thanks!")
QUESTION_FRAMES = ("can you {a}?", "could you {a}?", "would you {a}?", "is it possible to {a}?",
                   "any chance you can {a}?", "how about you {a}?", "can we {a}?", "will you {a}?")
_PREPS = r"(?:in|of|for|to|on|from|at|by|with|into|between|inside|under|via)"
_VAGUE_OBJECT = re.compile(rf"\s+{_PREPS}\s+(?:a|an|two|one|some|any|a given|a specific|the given|its|their)\b.*$")
_CUT_AFTER_COMMA = re.compile(r"\s*(at|and|optionally|without|so|which|then|a|an|the|in|for|e\.g\.|"
                              r"including|if|when|with|by|so that|returning|giving)\b")
MODIFIER_RATE = 0.35      # share of requests with a value inside the action ("the kitchen lights")
IDIOM_RATE = 0.2          # numbers said as their unit's idiom ("half an hour"), where it has one
BARE_MODIFIER_RATE = 0.7  # the same for a bare clause joined to others ("... and lock the back door")
PARAPHRASE_RATE = 0.2     # share of a tool's requests said without its name's object or attribute
PAIR_RATE = 0.6           # share of requests with both of a pair that say them together ("from A to B")
NOUN_ONLY_RATE = 0.2      # share of a lookup tool's requests said by its object alone ("hotels in Lisbon")
NOUN_ONLY_LEADS = ("", "", "", "any ", "looking for ", "need ", "ok ", "so ")
NOUN_ONLY_TAILS = ("", "", "?", " pls", " please", " thanks")
VERB_SWAP_RATE = 0.3      # share of name-based actions said with another verb ("kill the lights")
QUESTION_RATE = 0.35      # share of a read-only tool's name-based requests asked as "what's the ..."
QUESTION_OPENERS = ("", "", "hey ", "so ", "quick question, ", "um ", "do you know ")
QUESTION_TAILS = ("?", "?", "", " right now?", " at the moment?", " please?", " now")
_PARTICLES = frozenset("on off up down out over back".split())
_PREPOSITIONS = frozenset("to from for in into on at with".split())
_INDEFINITE = re.compile(r"\b(?:a|an|a given|a specific|the given)\b")
_LOCATIVE = re.compile(r"\b(room|location|place|city|zone|area|speaker|region|site|venue|destination)\b")
_UNIT_WORDS = {"minutes": "minutes", "minute": "minutes", "seconds": "seconds", "hours": "hours",
               "days": "days", "nights": "nights", "percent": "%", "stars": "stars", "guests": "guests",
               "passengers": "passengers", "people": "people", "bags": "bags", "km": "km", "miles": "miles",
               "grams": "grams", "kg": "kg", "ml": "ml", "calories": "calories"}
#: label words that say nothing after a number ("150 grams", not "150 grams amount")
_EMPTY_NOUNS = frozenset("amount number count value quantity size total num the of in".split())
NATURAL_RATE = 0.6        # share of arguments said without their label where an unlabelled form reads one way


def _third_person_to_imperative(word: str) -> str:
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_RELATIVE_START = frozenset("the a an that which who whom".split())
_NOT_A_NOUN = frozenset("in of for to on from at by with into and or the a an".split())


def _without_relative_clause(action: str) -> str:
    """"rate a restaurant the user has been to" -> "rate a restaurant": a clause right after
    the object (a determiner with no preposition before it) says which one, not what to do."""
    tokens = action.split()
    for i in range(2, min(len(tokens), 5)):
        if tokens[i] in _RELATIVE_START and tokens[i - 1] not in _NOT_A_NOUN and i + 1 < len(tokens):
            return " ".join(tokens[:i])
    return action


def description_actions(description: str) -> list[str]:
    """Action phrases from a description's first sentence: imperative, lowercase, without
    parentheses; vague objects ("in a room") dropped or made definite; "X or Y" split."""
    first = re.split(r"(?<=[.!?])\s", description.strip(), maxsplit=1)[0].rstrip(".!? ")
    first = re.sub(r"\s*\([^)]*\)", "", first)
    first = re.split(r"\s*[;:—]\s*|\s+-\s+", first)[0].strip()
    if len(first.split()) < 2:
        return []
    head, *rest = first.split()
    lead = head.lower()
    if lead in ("the", "a", "an", "current", "all", "today's", "live"):
        bases = [f"get {first[0].lower() + first[1:]}", f"show me {first[0].lower() + first[1:]}"]
    else:
        verb = _third_person_to_imperative(lead)
        if rest and rest[0] == "or" and len(rest) > 1:          # "Dim or brighten the lights"
            bases = [" ".join([verb, *rest[2:]]), " ".join([rest[1], *rest[2:]])]
        else:
            bases = [" ".join([verb, *rest])]
    out = []
    for base in map(_without_relative_clause, bases):
        head_part, comma, tail = base.partition(",")
        short = head_part if comma and len(head_part.split()) >= 3 and _CUT_AFTER_COMMA.match(tail) else base
        for variant in (_VAGUE_OBJECT.sub("", short), _INDEFINITE.sub("the", short)):
            variant = " ".join(variant.split())
            if len(variant.split()) >= 2 and variant not in out:
                out.append(variant)
    return out


def name_action(name: str, rng: random.Random) -> str:
    """The tool name said as an action: ``turn_on_lights`` -> "turn on the lights" / "turn the
    lights on", ``add_to_itinerary`` -> "add to my itinerary"; otherwise phrasing's verb_phrase."""
    w = words(name).split()
    if len(w) >= 3 and w[1] in _PARTICLES:
        obj = " ".join(w[2:])
        return rng.choice((f"{w[0]} {w[1]} the {obj}", f"{w[0]} {w[1]} {obj}", f"{w[0]} the {obj} {w[1]}"))
    if len(w) >= 3 and w[1] in _PREPOSITIONS:
        return f"{w[0]} {w[1]} {rng.choice(('', 'the ', 'my '))}{' '.join(w[2:])}"
    return verb_phrase(name, rng)


def _label_forms(key: str, node: Mapping[str, Any]) -> list[str]:
    forms = [words(key)]
    desc = (node.get("description") or "").strip()
    short = re.split(r"[,;:(]|\be\.g\.|\.\s|\.$", desc)[0].strip().lower()
    if short and len(short.split()) <= 3 and short not in forms and not short.startswith(
            ("how", "what", "which", "who", "where", "when", "why", "true", "the ", "a ", "an ")):
        forms.append(short)
    return forms


def _unit(key: str, node: Mapping[str, Any]) -> str | None:
    label = words(key).split()
    for w in reversed(label):
        if w in _UNIT_WORDS:
            return _UNIT_WORDS[w]
    desc = (node.get("description") or "").lower()
    if node.get("type") in ("integer", "number"):
        for w, unit in _UNIT_WORDS.items():
            if re.search(rf"\b(in|of) {w}\b", desc):
                return unit
    return None


@dataclass
class ToolProfile:
    """What phrasing needs to know about one user tool (computed once)."""

    spec: ToolSpec
    schema: dict[str, Any]                    # hinted (x- keys), for value generation only
    actions: list[str]
    labels: dict[str, list[str]]
    units: dict[str, str | None]
    vocabulary: set[str]                      # content words of the name, description, parameters
    required: frozenset[str] = frozenset()
    shared_enums: frozenset[str] = frozenset()   # enum parameters whose values another parameter shares
    unit_counts: dict[str, int] | None = None
    pairs: tuple[ParameterPair, ...] = ()     # parameters said together ("from A to B")
    roles: dict[str, str] | None = None       # parameters with a preposition of their own ("on", "in")
    phrasing: ToolPhrasing | None = None      # set per registry (:func:`.paraphrase.plan_registry`)
    noun_only: bool = False                   # set per registry (:func:`.relations.noun_only_tools`)

    @classmethod
    def build(cls, spec: ToolSpec, bank: CatalogueBank, rng: random.Random) -> "ToolProfile":
        props = spec.parameters.get("properties") or {}
        vocab = set(tokens(f"{words(spec.name)} {spec.description}"))
        for key, node in props.items():
            vocab |= set(tokens(f"{words(key)} {node.get('description') or ''}"))
        schema = hinted_schema(spec.parameters, spec.name, vocab, bank, rng)
        enums = {k: {str(v) for v in n["enum"]} for k, n in props.items() if "enum" in n}
        shared = frozenset(k for k, vals in enums.items() if any(vals & o for j, o in enums.items() if j != k))
        units = {k: _unit(k, n) for k, n in props.items()}
        counts: dict[str, int] = {}
        for u in units.values():
            if u:
                counts[u] = counts.get(u, 0) + 1
        return cls(spec, schema, description_actions(spec.description),
                   {k: _label_forms(k, n) for k, n in props.items()}, units, vocab,
                   frozenset(spec.parameters.get("required", [])), shared, counts,
                   tuple(parameter_pairs(props)), parameter_roles(props))

    @property
    def name_words(self) -> list[str]:
        return words(self.spec.name).split()


def parameter_phrase(profile: ToolProfile, key: str, node: Mapping[str, Any], filled: Filled,
                     rng: random.Random, first: bool, role: str | None = None) -> str:
    """Words that introduce one argument's value (the value's text appears verbatim); ``role``:
    the value is the only one of its kind in the request, so its preposition alone may say it."""
    label = rng.choice(profile.labels.get(key) or [words(key)])
    v = filled.text
    kind = node.get("type")
    unit = profile.units.get(key)
    if "enum" in node:
        options = [f"{v} {label}", f"{label} {v}", f"with {label} {v}", f"{label}: {v}"]
        if key not in profile.shared_enums:          # the value alone says which parameter it is
            options += [v, v, f"as {v}"]
    elif kind == "boolean":
        options = [v]
    elif kind in ("integer", "number") and v in IDIOM_TEXTS:    # "for half an hour", "blinds halfway"
        options = [v, v, f"{label} {v}", f"to {v}"] + ([f"for {v}", f"in {v}"] if unit != "%" else [])
    elif kind in ("integer", "number"):
        options = [f"{label} {v}", f"{label} to {v}", f"with {label} {v}", f"{label} of {v}", f"{label}: {v}",
                   f"{label} = {v}", f"at {v}" if first else f"{label} at {v}"]
        if unit:
            spaced = unit_spellings(v, unit, rng)
            options += [f"{label} {spaced}", f"with {label} {spaced}"]
            if (profile.unit_counts or {}).get(unit, 0) == 1:
                options += [spaced, spaced, f"for {spaced}", f"to {spaced}", f"with {spaced}"]
    elif kind in ("array", "object"):
        options = [f"{label} {v}", f"{label}: {v}", f"with {label} {v}", f"for {v}"]
    else:
        options = [f"{label} {v}", f"with {label} {v}", f"{label}: {v}", f"{label} {v}",
                   f"{label} \"{v}\"", f"where the {label} is {v}", f"{label} set to {v}"]
        if first and key in profile.required:        # unlabelled only where it cannot be confused
            options += [v, f"for {v}", f"on {v}", f"for {v}"]
            if _LOCATIVE.search(words(key)):
                options += [f"in the {v}", f"in {v}", f"for the {v}", f"on the {v}", f"at {v}"]
        options += name_phrases(key, node, v) * 2
        if re.search(r"\b(text|comment|message|note|summary|reason|body)\b", words(key)):
            options += [f"saying \"{v}\"", f"saying {v}", f": {v}", f"because {v}" if "reason" in key else
                        f"that says {v}"]
    if role and v not in IDIOM_TEXTS:
        options += role_phrases(role, v, key) * 2
    natural = unlabelled_phrases(profile, key, node, filled, rng, role)
    if natural and rng.random() < NATURAL_RATE:
        return rng.choice(natural)
    return rng.choice(options)


def unlabelled_phrases(profile: ToolProfile, key: str, node: Mapping[str, Any], filled: Filled,
                       rng: random.Random, role: str | None) -> list[str]:
    """The ways to say one argument without its parameter's label, where only one reading is
    possible: its role's preposition ("for 4", "at Nopa", "$96"), its unit and the rest of its
    label after the number ("20% tip", "150g"), an enum value no other parameter shares.
    People rarely say labels ("party size 4"); the hand-written queries almost never do."""
    v = filled.text
    if not v:
        return []
    kind = node.get("type")
    unit = profile.units.get(key)
    out: list[str] = []
    if "enum" in node:
        return [v, v, f"{v} {profile.labels[key][0]}"] if key not in profile.shared_enums else []
    if kind in ("integer", "number") and unit and v not in IDIOM_TEXTS \
            and (profile.unit_counts or {}).get(unit, 0) == 1:
        spaced = unit_spellings(v, unit, rng)
        rest = [w for w in words(key).split() if _UNIT_WORDS.get(w) != unit and w not in _EMPTY_NOUNS]
        out += [spaced, f"{spaced} {' '.join(rest)}" if rest else spaced]
        if role in ("max", "min"):
            out += role_phrases(role, spaced, key)
    if role and v not in IDIOM_TEXTS:
        out += role_phrases(role, v, key)
    out += name_phrases(key, node, v)
    return out


def _chosen_parameters(profile: ToolProfile, rng: random.Random, optional_rate: float) -> list[str]:
    props = profile.schema.get("properties") or {}
    required = set(profile.schema.get("required", []))
    return [k for k in props if k in required or rng.random() < optional_rate]


def tool_request(profile: ToolProfile, values: ValueMaker, *, optional_rate: float = 0.4,
                 generic_rate: float = 0.2, action_source: str | None = None, bare: bool = False) -> Request:
    """One request for this tool: query parts, the call's arguments and exempt paths.

    ``action_source`` forces "name" (the tool name's own words: what tells near-twin tools
    apart) or "description"; by default both are used, plus the generic pattern. ``bare``:
    the request alone, without a lead-in, a closing word or a question around it, and more
    often with a value inside the action ("turn off the kitchen lights"): the clause people
    join with "and" when they ask for two things at once."""
    rng = values.rng
    name = profile.spec.name
    plan = profile.phrasing
    if plan is not None and action_source is None and rng.random() < PARAPHRASE_RATE:
        makers = [setter_request, dropped_object_request, status_question_request]
        rng.shuffle(makers)
        for make in makers:
            made = make(name, plan, profile.schema, values, bare)
            if made is not None:
                return made
    if action_source is None and not bare and rng.random() < generic_rate:
        parts, args, exempt = request_parts(name, profile.schema, values, optional_rate)
        return Request(parts, name, args, exempt)
    source = action_source or ("description" if profile.actions and rng.random() < 0.5 else "name")
    action = rng.choice(profile.actions) if source == "description" and profile.actions else \
        name_action(name, rng)
    if plan is not None and action_source is None and rng.random() < VERB_SWAP_RATE:
        action = swap_verb(action, plan, rng)
    noun_only = profile.noun_only and action_source is None and not bare and rng.random() < NOUN_ONLY_RATE
    if noun_only:                              # "hotels in Lisbon", "flight status for BA117"
        action = " ".join(profile.name_words[1:])
    terse = not noun_only and action_source is None and not bare and source == "name" \
        and rng.random() < 0.1                 # "cancel booking FL7K2Q"
    if terse:                                  # the verb stays: it is what tells get_x from cancel_x
        action = " ".join(profile.name_words)
    question = None if noun_only or terse or bare or source != "name" or rng.random() >= QUESTION_RATE \
        else question_action(name, rng)
    action = question or action
    props = profile.schema.get("properties") or {}
    keys = _chosen_parameters(profile, rng, optional_rate)
    if rng.random() < 0.6:
        rng.shuffle(keys)
    phrases: Parts = []
    arguments: dict[str, Any] = {}
    exempt: set[tuple[str, ...]] = set()
    filled_by_key = {key: values.value(props[key]) for key in keys}
    for pair in profile.pairs:                 # "from checking to checking" asks for nothing
        if pair.first in keys and pair.second in keys:
            for _ in range(4):
                if filled_by_key[pair.second].value != filled_by_key[pair.first].value:
                    break
                filled_by_key[pair.second] = values.value(props[pair.second])
    for key in keys:
        if rng.random() < IDIOM_RATE:
            filled_by_key[key] = value_idiom(key, props[key], profile.units.get(key), rng) or filled_by_key[key]
    action_parts: Parts = [(action, False)]
    if not terse and rng.random() < (BARE_MODIFIER_RATE if bare else MODIFIER_RATE):  # "turn on the kitchen lights"
        for key in keys:
            filled, unit = filled_by_key[key], profile.units.get(key)
            if not filled.exempt and can_modify(key, props[key], filled.text, unit, action,
                                                   key in profile.required):
                action_parts = modifier_action(action, filled.text, unit, rng)
                arguments[key] = filled.value
                keys = [k for k in keys if k != key]
                break
    together = {p.first: p for p in profile.pairs if p.first in keys and p.second in keys
                and filled_by_key[p.first].text and filled_by_key[p.second].text
                and not (filled_by_key[p.first].exempt or filled_by_key[p.second].exempt)
                and rng.random() < PAIR_RATE}
    keys = [k for k in keys if k not in {p.second for p in together.values()}]
    roles = sole_roles(profile.roles or {}, keys, profile.pairs)
    for i, key in enumerate(keys):
        node = props[key]
        filled = filled_by_key[key]
        joiner = rng.choice((" ", " ", " ", ", ", " and ")) if i else " "
        if key in together:                                # "from Boston to Lisbon"
            pair = together[key]
            second = filled_by_key[pair.second]
            before, between, after = pair_phrase(pair, rng)
            phrases += [(joiner + before, False), (filled.text, True), (between, False), (second.text, True),
                        (after, False)]
            arguments[key], arguments[pair.second] = filled.value, second.value
            continue
        phrase = parameter_phrase(profile, key, node, filled, rng, first=i == 0, role=roles.get(key))
        at = phrase.rfind(filled.text) if filled.text else -1
        if at < 0:
            phrases.append((joiner + phrase, False))
        else:
            phrases += [(joiner + phrase[:at], False), (filled.text, True),
                        (phrase[at + len(filled.text):], False)]
        arguments[key] = filled.value
        if filled.exempt:
            exempt.add((key,))
    frame = rng.random()
    if terse or bare:
        parts: Parts = [*action_parts, *phrases]
    elif noun_only:
        parts = [(rng.choice(NOUN_ONLY_LEADS), False), *action_parts, *phrases, (rng.choice(NOUN_ONLY_TAILS), False)]
    elif question:                                         # "what's the indoor temperature in the basement?"
        parts = [(rng.choice(QUESTION_OPENERS), False), *action_parts, *phrases,
                 (rng.choice(QUESTION_TAILS), False)]
    elif frame < 0.18:                                      # a question around the whole request
        lead, tail = rng.choice(QUESTION_FRAMES).split("{a}")
        parts = [(lead, False), *action_parts, *phrases, (tail, False)]
    elif frame < 0.26 and phrases:                        # values first: "for kitchen, turn on lights"
        parts = [(rng.choice(("", "ok ", "so ")), False), *phrases, (", ", False), *action_parts,
                 (rng.choice(SUFFIXES), False)]
        parts[1] = (parts[1][0].lstrip(" ,").removeprefix("and "), parts[1][1])
    else:
        parts = [(rng.choice(PREFIXES), False), *action_parts, *phrases, (rng.choice(SUFFIXES), False)]
    return Request(parts, name, arguments, exempt)
