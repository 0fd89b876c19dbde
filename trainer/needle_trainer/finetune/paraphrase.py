"""Requests said without the tool name's own words, the way people ask in practice.

The labelled templates always carry the name's verb and object ("play music query jazz",
"set the light color ..."), so a tuned model learns to match those words and answers "no
call" to "play some jazz" or "make the kitchen lights red". Four general English patterns
fill the gap, each planned once per registry (:func:`plan_registry`) and guarded so that the
phrasing still names exactly one of the registry's tools:

* **another verb** for the name's leading verb ("kill the lights" for ``turn_off_lights``,
  "hand ticket X to Y" for ``assign_ticket``), from :data:`VERB_ALTERNATIVES`, skipping any
  alternative whose words another tool's name uses;
* **the object left out** where the value stands for it: "play jazz", "cancel A-1042",
  "activate movie night", and, where the object noun is this tool's alone, the value and the
  noun only ("bedtime scene");
* **an attribute setter** said as the new state: ``set_light_color(room, color)`` ->
  "make the kitchen lights red", ``update_ticket_status(ticket_id, status)`` -> "mark ticket
  T-1 as solved";
* **a question about one thing** for a read-only tool that takes its id: "what's happening with
  ticket T-1?", "where is order A-1?" (the noun left out only where no other read tool takes an id).

The lists are English, keyed on name words and parameter names; none is a registry's vocabulary.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from needle_router.tools import ToolSpec
from needle_trainer.data.generate import Parts, Request
from needle_trainer.data.phrasing import words
from needle_trainer.data.values import ValueMaker
from needle_trainer.finetune.hints import tokens

#: other ways to say a tool name's leading verb (or verb and particle)
VERB_ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "turn on": ("switch on", "put on"),
    "turn off": ("switch off", "shut off", "kill", "cut"),
    "switch on": ("turn on",),
    "switch off": ("turn off", "shut off"),
    "play": ("put on", "play some", "start playing", "queue up"),
    "activate": ("start", "run", "trigger", "switch to"),
    "deactivate": ("stop", "switch off", "disable"),
    "enable": ("turn on", "switch on", "activate"),
    "disable": ("turn off", "switch off", "deactivate"),
    "lock": ("secure",),
    "assign": ("give", "hand", "hand over", "route", "pass", "reassign"),
    "create": ("make", "open", "raise", "log", "file", "start"),
    "add": ("put", "log", "note"),
    "cancel": ("call off", "scrap", "drop"),
    "send": ("shoot", "fire off"),
    "search": ("find", "look for", "look up"),
    "find": ("look up", "search for", "pull up", "locate"),
    "get": ("check", "show", "pull up", "look up"),
    "show": ("display", "pull up", "let me see"),
    "book": ("reserve", "grab", "get me"),
    "reserve": ("book", "hold"),
    "rent": ("hire", "reserve", "get me"),
    "set": ("make", "put", "change", "adjust"),
    "update": ("change", "edit", "modify"),
    "delete": ("remove", "get rid of", "trash", "erase"),
    "remove": ("delete", "take off", "get rid of"),
    "start": ("begin", "kick off", "launch"),
    "stop": ("end", "halt"),
    "schedule": ("book", "set up", "arrange", "plan"),
    "convert": ("change", "turn", "exchange"),
    "request": ("ask for", "open", "file"),
    "issue": ("give", "process"),
    "check": ("look at", "see"),
    "list": ("show", "show me all"),
    "reset": ("clear", "restart"),
    "pause": ("hold",),
    "resume": ("continue", "unpause"),
    "move": ("put", "shift", "transfer"),
    "buy": ("purchase", "order", "get"),
    "call": ("ring", "phone", "dial"),
}
_PARTICLES = frozenset("on off up down out".split())
_QUERY_KEY = re.compile(r"\b(query|search|keyword|keywords|term|terms|q)\b")
_ID_WORDS = frozenset("id ids name number code key".split())
_SETTER_VERBS = frozenset("set update change adjust modify move".split())
_STATE_KEY = re.compile(r"\b(status|state|stage|mode|phase)\b")
DROP_LEADS = ("", "", "", "please ", "can you ", "just ", "ok ", "hey ")
DROP_TAILS = ("", "", "", " please", "?", " thanks", " pls", " now")
TERSE_TAILS = ("", " pls", " please", "?", " now", " thanks")
SETTER_FORMS_STRING = ("make {o} {v}", "turn {o} {v}", "change {o} to {v}", "set {o} to {v}", "{o} to {v}",
                       "switch {o} to {v}")
SETTER_FORMS_STATE = ("mark {o} as {v}", "set {o} to {v}", "move {o} to {v}", "change {o} to {v}",
                      "{o} to {v}", "make {o} {v}", "put {o} in {v}")
_READ_VERBS = frozenset("get check show track view fetch read".split())
#: things people ask "where is" about
_WHEREABLE = frozenset("order package parcel shipment delivery flight train bus driver car ride courier".split())
STATUS_QUESTIONS = ("what's happening with {o}?", "any update on {o}?", "what's the latest on {o}?",
                    "status of {o}?", "what's the status of {o}", "how's {o} looking?", "what's going on with {o}",
                    "{o}?", "anything new on {o}?", "can you check on {o}")
SETTER_FORMS_NUMBER = ("set {o} to {v}", "{o} to {v}", "put {o} at {v}", "make {o} {v}", "change {o} to {v}")


@dataclass(frozen=True)
class ToolPhrasing:
    """How one tool can be asked for without its name's words (see the module docstring)."""

    verb: str                              # the name's leading verb, with its particle ("turn off")
    object_words: tuple[str, ...]          # the name's words after the verb
    alternatives: tuple[str, ...] = ()     # other verbs, none of whose words another tool's name uses
    drop_key: str | None = None            # the required value that can stand for the object
    terse: bool = False                    # "bedtime scene": the object noun is this tool's alone
    setter: tuple[str, str] | None = None  # (object key, attribute key) of an attribute setter
    asked_about: str | None = None         # the id key of a read-only tool asked about in a question
    bare_id: bool = False                  # the question may leave the noun out ("what's up with T-1?")


def _split_name(name: str) -> tuple[str, list[str]]:
    w = words(name).split()
    if len(w) >= 2 and w[1] in _PARTICLES:
        return f"{w[0]} {w[1]}", w[2:]
    return (w[0] if w else ""), w[1:]


def _plain_string(node: Mapping[str, Any]) -> bool:
    return node.get("type", "string") == "string" and "enum" not in node and "format" not in node


def plan_registry(specs: Sequence[ToolSpec]) -> dict[str, ToolPhrasing]:
    """The paraphrase plan of every tool, given the whole registry (for the guards)."""
    split = {s.name: _split_name(s.name) for s in specs}
    out: dict[str, ToolPhrasing] = {}
    for spec in specs:
        verb, obj = split[spec.name]
        others = [split[o.name] for o in specs if o.name != spec.name]
        other_words = {w for v, ob in others for w in v.split() + ob} - _PARTICLES
        other_verbs = {v for v, _ in others}
        alternatives = tuple(a for a in VERB_ALTERNATIVES.get(verb, ())
                             if not set(a.split()) & other_words and a not in other_verbs)
        props = spec.parameters.get("properties") or {}
        required = list(spec.parameters.get("required") or [])
        obj_set = set(tokens(" ".join(obj)))
        drop_key = None
        unique_verb = verb not in other_verbs
        for key in required:
            node = props.get(key) or {}
            key_words = set(tokens(words(key)))
            if not _plain_string(node):
                continue
            stands_for_object = bool((key_words - _ID_WORDS) & obj_set) or bool(_QUERY_KEY.search(words(key)))
            if stands_for_object and unique_verb and obj:
                drop_key = key
            break
        other_objects = {t for _, ob in others for t in tokens(" ".join(ob))}
        terse = bool(drop_key) and bool(obj) and not (obj_set & other_objects) \
            and not _QUERY_KEY.search(words(drop_key or ""))
        setter = _setter(verb, obj, props, required)
        out[spec.name] = ToolPhrasing(verb, tuple(obj), alternatives, drop_key, terse, setter,
                                      _id_key(verb, obj, props, required))
    askers = [n for n, p in out.items() if p.asked_about]
    if len(askers) == 1:
        out[askers[0]] = replace(out[askers[0]], bare_id=True)
    return out


def _id_key(verb: str, obj: list[str], props: Mapping[str, Any], required: list[str]) -> str | None:
    """The one required id-like key of a read-only tool ("get_ticket(ticket_id)")."""
    if verb not in _READ_VERBS or len(required) != 1 or not obj:
        return None
    (key,) = required
    key_words = set(words(key).split())
    if not _plain_string(props.get(key) or {}) or not key_words & _ID_WORDS:
        return None
    return key


def _setter(verb: str, obj: list[str], props: Mapping[str, Any], required: list[str]) -> tuple[str, str] | None:
    """(object key, attribute key) when the name is a setter verb, an object and an attribute
    the tool takes as a required parameter, and one other required parameter names the object."""
    if verb not in _SETTER_VERBS or len(obj) < 2 or len(required) != 2:
        return None
    attribute = obj[-1]
    attr_key = next((k for k in required if words(k) == attribute or words(k).split()[-1] == attribute), None)
    if attr_key is None:
        return None
    (object_key,) = [k for k in required if k != attr_key]
    if not _plain_string(props.get(object_key) or {}) \
            or (props.get(attr_key) or {}).get("type", "string") not in ("string", "integer", "number"):
        return None
    return object_key, attr_key


def swap_verb(action: str, plan: ToolPhrasing, rng: random.Random) -> str:
    """``action`` with its leading verb said another way, where it starts with the name's verb."""
    if not plan.alternatives or not action.startswith(plan.verb + " "):
        return action
    return rng.choice(plan.alternatives) + action[len(plan.verb):]


def dropped_object_request(name: str, plan: ToolPhrasing, schema: Mapping[str, Any], values: ValueMaker,
                           bare: bool) -> Request | None:
    """"play jazz", "cancel A-1042", or with a unique object noun "bedtime scene": only the
    required value that stands for the object (other parameters are left to the templates)."""
    props = schema.get("properties") or {}
    required = schema.get("required") or []
    if plan.drop_key is None or len(required) != 1:
        return None
    rng = values.rng
    filled = values.value(props[plan.drop_key])
    if filled.exempt or not filled.text:
        return None
    noun = " ".join(plan.object_words)
    if plan.terse and rng.random() < 0.35:
        body: Parts = [(filled.text, True), (f" {noun}", False)]
        tails = TERSE_TAILS
    else:
        verb = rng.choice((plan.verb,) + plan.alternatives)
        body = [(f"{verb} ", False), (filled.text, True)]
        tails = DROP_TAILS
    parts = body if bare else [(rng.choice(DROP_LEADS), False), *body, (rng.choice(tails), False)]
    return Request(parts, name, {plan.drop_key: filled.value}, set())


def setter_request(name: str, plan: ToolPhrasing, schema: Mapping[str, Any], values: ValueMaker,
                   bare: bool) -> Request | None:
    """"make the kitchen lights red", "mark ticket T-1 as solved": the object with its value,
    and the attribute's new value, without the attribute's name."""
    if plan.setter is None:
        return None
    rng = values.rng
    props = schema.get("properties") or {}
    object_key, attr_key = plan.setter
    obj_filled = values.value(props[object_key])
    attr_node = props[attr_key]
    attr_filled = values.value(attr_node)
    if obj_filled.exempt or attr_filled.exempt or not obj_filled.text or not attr_filled.text:
        return None
    noun = " ".join(plan.object_words[:-1])
    if rng.random() < 0.5 and not noun.endswith("s"):
        noun += "s"
    key_words = set(words(object_key).split())
    if key_words & _ID_WORDS:                                  # "ticket T-1" / "T-1"
        head: Parts = [(rng.choice((f"{noun} ", "", f"the {noun} ")), False), (obj_filled.text, True)]
    else:                                                       # "the kitchen lights"
        head = [(rng.choice(("the ", "", "the ")), False), (obj_filled.text, True), (f" {noun}", False)]
    if attr_node.get("type") in ("integer", "number"):
        forms = SETTER_FORMS_NUMBER
    elif _STATE_KEY.search(words(attr_key)):
        forms = SETTER_FORMS_STATE
    else:
        forms = SETTER_FORMS_STRING
    form = rng.choice(forms)
    before, after = form.split("{o}")
    middle, end = after.split("{v}")
    parts: Parts = [(before, False), *head, (middle, False), (attr_filled.text, True), (end, False)]
    if not bare:
        parts = [(rng.choice(DROP_LEADS), False), *parts, (rng.choice(DROP_TAILS), False)]
    return Request(parts, name, {object_key: obj_filled.value, attr_key: attr_filled.value}, set())


def status_question_request(name: str, plan: ToolPhrasing, schema: Mapping[str, Any], values: ValueMaker,
                            bare: bool) -> Request | None:
    """"what's happening with ticket T-1?", "where is order A-1?": a question about one thing,
    for a read-only tool that takes its id. None for a bare clause: a question does not join
    others with "and"."""
    if plan.asked_about is None or bare:
        return None
    rng = values.rng
    props = schema.get("properties") or {}
    filled = values.value(props[plan.asked_about])
    if filled.exempt or not filled.text:
        return None
    noun = next((w for w in plan.object_words if w not in ("status", "details", "info", "state")),
                plan.object_words[0])
    lead = rng.choice(("", "the ", "my ", "")) + noun + " "
    if plan.bare_id and rng.random() < 0.4:
        lead = ""
    forms = STATUS_QUESTIONS + (("where is {o}?", "where's {o}") if noun in _WHEREABLE else ())
    before, after = rng.choice(forms).split("{o}")
    opener = rng.choice(("", "", "hey ", "quick question, ", "so "))
    parts: Parts = [(opener + before + lead, False), (filled.text, True), (after, False)]
    return Request(parts, name, {plan.asked_about: filled.value}, set())
