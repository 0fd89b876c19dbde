"""The natural phrasings of fine-tune synthesis: values inside the action, "called", short units,
questions for read-only tools, spelled numbers."""

from __future__ import annotations

import hashlib
import json
import random

from needle_router.tools import ToolSpec
from needle_trainer.data.values import ValueMaker, number_surface
from needle_trainer.finetune.hints import RegistryValues
from needle_trainer.finetune.natural import (IDIOM_TEXTS, can_modify, modifier_action, name_phrases,
                                            question_action, unit_spellings, value_idiom)
from needle_trainer.finetune.synth import synthesize
from needle_trainer.tokenizer_corpus import number_words


def _text(parts):
    return "".join(t for t, _ in parts)


def test_place_value_goes_inside_the_object():
    rng = random.Random(0)
    parts = modifier_action("turn on the lights", "kitchen", None, rng)
    assert _text(parts) == "turn on the kitchen lights"
    assert [t for t, is_value in parts if is_value] == ["kitchen"]


def test_required_duration_becomes_a_modifier_with_an_article():
    texts = {_text(modifier_action("set the timer", "3", "minutes", random.Random(s))) for s in range(20)}
    assert texts <= {"set a 3-minute timer", "set a 3 minute timer", "set a 3 min timer"}
    assert _text(modifier_action("set the timer", "8", "minutes", random.Random(0))).startswith("set an 8")


def test_only_fitting_arguments_modify_the_object():
    string, number = {"type": "string"}, {"type": "integer"}
    assert can_modify("room", string, "kitchen", None, "turn on the lights", False)
    assert can_modify("door", string, "back", None, "lock the door", True)
    assert not can_modify("room", string, "kitchen", None, "play music", False)       # no object to modify
    assert not can_modify("message", string, "hi", None, "send the message", True)     # free text
    assert not can_modify("room", {"type": "string", "enum": ["a"]}, "a", None, "turn on the lights", True)
    assert not can_modify("room", string, "a very long room name", None, "turn on the lights", True)
    assert can_modify("duration_minutes", number, "3", "minutes", "set the timer", True)
    assert not can_modify("transition_seconds", number, "3", "seconds", "set the light brightness", False)
    assert not can_modify("volume", number, "30", "%", "set the volume", True)


def test_names_are_called_and_units_are_short():
    assert "called eggs" in name_phrases("label", {"type": "string"}, "eggs")
    assert name_phrases("room", {"type": "string"}, "kitchen") == []
    assert name_phrases("label", {"type": "string", "enum": ["x"]}, "x") == []
    spellings = {unit_spellings("1", "hours", random.Random(s)) for s in range(40)}
    assert "1 hour" in spellings and "1 hours" not in spellings and "1-hour" in spellings
    assert {unit_spellings("90", "%", random.Random(s)) for s in range(40)} >= {"90%", "90 percent"}


def test_read_only_tools_get_questions():
    assert question_action("get_indoor_temperature", random.Random(0)).endswith("the indoor temperature")
    assert question_action("lock_door", random.Random(0)) is None


def test_every_number_below_100_can_be_spelled_for_finetuning_only():
    for n in (21, 25, 47, 99):
        forms = {number_surface(n, random.Random(s), spell_all=True).text for s in range(200)}
        assert number_words(n) in forms and number_words(n).replace("-", " ") in forms
        assert number_words(n) not in {number_surface(n, random.Random(s)).text for s in range(200)}
    assert RegistryValues.spell_all_numbers and not ValueMaker.spell_all_numbers


def test_the_heldout_set_is_unchanged():
    """The held-out evaluation set is generated; a change to the engine's value surfaces
    would silently change it. Its first examples, as every reported number was measured."""
    from needle_trainer.data.heldout import heldout_examples

    examples = heldout_examples(40)
    digest = hashlib.sha256(json.dumps([(e["query"], e["calls"]) for e in examples],
                                       sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert digest == HELDOUT_40_SHA256


def test_synthesis_uses_the_natural_forms_and_values_stay_copyable():
    timer = ToolSpec(name="set_timer", description="Start a countdown timer.", parameters={
        "type": "object", "required": ["duration_minutes"], "properties": {
            "duration_minutes": {"type": "integer", "description": "Length of the timer in minutes."},
            "label": {"type": "string", "description": "A name for the timer."}}})
    lights = ToolSpec(name="turn_on_lights", description="Turn on the lights in a room.", parameters={
        "type": "object", "required": ["room"], "properties": {
            "room": {"type": "string", "description": "Room name, e.g. \"kitchen\"."}}})
    examples = synthesize([timer, lights], per_tool=150, seed=1)
    queries = [ex["query"].lower() for ex in examples]
    assert any("-minute timer" in q or " min timer" in q or " minute timer" in q for q in queries)
    assert any(" called " in q or " named " in q for q in queries)
    rooms_inside = 0
    for ex in examples:
        for call in ex["calls"]:
            room = call["arguments"].get("room")
            if room:
                assert room.lower() in ex["query"].lower()          # still a copied span
                rooms_inside += f"the {room.lower()} lights" in ex["query"].lower()
    assert rooms_inside > 0


def test_numbers_said_as_idioms_of_their_unit():
    rng = random.Random(0)
    minutes = {value_idiom("duration_minutes", {"type": "integer"}, "minutes", rng) for _ in range(200)}
    assert ("half an hour", 30) in {(f.text, f.value) for f in minutes}
    assert all(f.exempt == "number" and f.text in IDIOM_TEXTS for f in minutes)
    opened = {(f.text, f.value) for f in (value_idiom("open_percent", {"type": "integer", "minimum": 0, "maximum": 100},
                                                      "%", rng) for _ in range(200))}
    assert ("closed", 0) in opened and ("fully open", 100) in opened
    # the schema's bounds win: brightness 1-100 is never "closed" or 0
    bright = {value_idiom("brightness", {"type": "integer", "minimum": 1, "maximum": 100}, "%", rng).value
              for _ in range(100)}
    assert bright <= {50, 100}
    as_float = value_idiom("duration_minutes", {"type": "number"}, "minutes", rng)
    assert isinstance(as_float.value, float)
    assert value_idiom("count", {"type": "integer"}, None, rng) is None
    assert value_idiom("mode", {"type": "integer", "enum": [1, 2]}, "minutes", rng) is None


def test_synthesis_says_some_numbers_as_idioms_with_the_right_values():
    blinds = ToolSpec(name="set_blinds", description="Open or close the blinds.", parameters={
        "type": "object", "required": ["room", "open_percent"], "properties": {
            "room": {"type": "string", "description": "Room name."},
            "open_percent": {"type": "integer", "description": "How far open, in percent."}}})
    timer = ToolSpec(name="set_timer", description="Start a countdown timer.", parameters={
        "type": "object", "required": ["duration_minutes"], "properties": {
            "duration_minutes": {"type": "integer", "description": "Length of the timer in minutes."}}})
    expected = {"half an hour": 30, "an hour and a half": 90, "fully closed": 0, "fully open": 100}
    seen = set()
    for ex in synthesize([blinds, timer], per_tool=150, seed=2):
        if len(ex["calls"]) != 1:
            continue
        args = ex["calls"][0]["arguments"]
        for text, value in expected.items():
            if f" {text}" in ex["query"]:
                assert value in args.values(), ex
                seen.add(text)
    assert len(seen) >= 3, seen


HELDOUT_40_SHA256 = "6bc09501b679446815874f5b45ded67193fb25706b5aa8cf187923c314e85a90"
