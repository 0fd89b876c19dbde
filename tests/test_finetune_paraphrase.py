"""Requests said without the tool name's words (fine-tune synthesis): another verb, the object
left out, an attribute setter said as the new state; and the guards that keep each phrasing
naming exactly one of the registry's tools. Fast: no model."""

from __future__ import annotations

import random
from typing import Literal

import pytest

pytest.importorskip("faker")

from needle_router.tools import to_tool_specs  # noqa: E402
from needle_trainer.data.validate import validate_example  # noqa: E402
from needle_trainer.finetune.data import synthesize  # noqa: E402
from needle_trainer.finetune.paraphrase import (ToolPhrasing, plan_registry, setter_request,  # noqa: E402
                                                swap_verb)
from needle_trainer.finetune.synth import RegistrySynthesizer  # noqa: E402


def switch_on_fan(room: str) -> dict:
    """Switch the ceiling fan on in a room."""
    return {}


def switch_off_fan(room: str) -> dict:
    """Switch the ceiling fan off in a room."""
    return {}


def stream_podcast(query: str, speed: float = 1.0) -> dict:
    """Stream a podcast episode by title or show name."""
    return {}


def play_video(query: str) -> dict:
    """Play a video on the TV."""
    return {}


def start_workout(workout: str) -> dict:
    """Start a saved workout programme."""
    return {}


def change_task_status(task_id: str, status: Literal["todo", "doing", "done", "blocked"]) -> dict:
    """Move a task to another column of the board."""
    return {}


def get_task(task_id: str) -> dict:
    """Show a task."""
    return {}


def close_task(task_id: str) -> dict:
    """Close a task for good."""
    return {}


REGISTRY = to_tool_specs([switch_on_fan, switch_off_fan, stream_podcast, play_video, start_workout,
                          change_task_status, get_task, close_task])


@pytest.fixture(scope="module")
def plans() -> dict[str, ToolPhrasing]:
    return plan_registry(REGISTRY)


def test_verb_and_particle_split_and_alternatives_skip_other_tools_words(plans):
    assert plans["switch_off_fan"].verb == "switch off"
    assert plans["switch_off_fan"].object_words == ("fan",)
    assert "turn off" in plans["switch_off_fan"].alternatives
    # "start" is start_workout's verb, so play_video may not be said with "start playing"
    assert not any(a.split()[0] == "start" for a in plans["play_video"].alternatives)
    assert "put on" in plans["play_video"].alternatives


def test_the_value_stands_for_the_object_only_where_the_verb_is_this_tools_alone(plans):
    assert plans["play_video"].drop_key == "query"               # "play cat videos"
    assert plans["start_workout"].drop_key == "workout"          # the key names the object
    assert plans["start_workout"].terse                          # "leg day workout"
    assert not plans["play_video"].terse                         # a query is not the noun's name
    assert plans["get_task"].drop_key == "task_id"
    assert plans["close_task"].drop_key == "task_id"
    assert plans["switch_on_fan"].drop_key is None               # a room does not stand for the fan


def test_a_shared_verb_keeps_the_object():
    two_gets = to_tool_specs([get_task, close_task]) + to_tool_specs([change_task_status])

    def get_board(board_id: str) -> dict:
        """Show a board."""
        return {}

    plans = plan_registry(two_gets + to_tool_specs([get_board]))
    assert plans["get_task"].drop_key is None and plans["get_board"].drop_key is None


def test_attribute_setter_found_and_said_as_the_new_state(plans):
    assert plans["change_task_status"].setter == ("task_id", "status")
    assert plans["get_task"].setter is None
    synth = RegistrySynthesizer(REGISTRY, seed=3)
    profile = synth.profiles["change_task_status"]
    said = set()
    for _ in range(60):
        request = setter_request("change_task_status", profile.phrasing, profile.schema, synth.values, bare=False)
        assert request is not None
        text = "".join(t for t, _ in request.parts)
        assert request.arguments["status"] in text and request.arguments["task_id"] in text
        assert "status" not in text                                 # the attribute's name is left out
        said.add(text.split(request.arguments["task_id"])[0].strip().split(" ")[-1])
    assert len(said) > 2


def test_swap_verb_only_replaces_the_leading_verb(plans):
    rng = random.Random(0)
    plan = plans["switch_off_fan"]
    swapped = {swap_verb("switch off the fan", plan, rng) for _ in range(40)}
    assert swapped - {"switch off the fan"} and all(s.endswith(" the fan") for s in swapped)
    assert swap_verb("turn the fan off", plan, rng) == "turn the fan off"


def test_synthesis_says_some_requests_without_the_name_words_and_all_validate():
    examples = synthesize(REGISTRY, per_tool=80, seed=1)
    for ex in examples:
        validate_example(ex)
    singles = [e for e in examples if e["meta"]["kind"] == "single"]
    video_free = [e for e in singles if e["calls"][0]["name"] == "play_video" and "video" not in e["query"].lower()]
    assert len(video_free) >= 5
    for e in video_free:                                          # the value stays a copied span
        assert e["calls"][0]["arguments"]["query"].lower() in e["query"].lower()
    fan_off = [e["query"].lower() for e in singles if e["calls"][0]["name"] == "switch_off_fan"]
    assert any(v in q for q in fan_off for v in ("turn off", "shut off", "kill", "cut"))
    status = [e["query"].lower() for e in singles if e["calls"][0]["name"] == "change_task_status"]
    assert any("status" not in q for q in status)


def test_read_tools_that_take_an_id_are_asked_about(plans):
    from needle_trainer.finetune.paraphrase import status_question_request
    assert plans["get_task"].asked_about == "task_id"
    assert plans["get_task"].bare_id                       # the registry's only such read tool
    assert plans["close_task"].asked_about is None         # it acts
    synth = RegistrySynthesizer(REGISTRY, seed=2)
    profile = synth.profiles["get_task"]
    texts = []
    for _ in range(40):
        request = status_question_request("get_task", profile.phrasing, profile.schema, synth.values, bare=False)
        text = "".join(t for t, _ in request.parts)
        assert request.arguments["task_id"] in text
        texts.append(text)
    assert any("task" in t for t in texts) and any("task" not in t for t in texts)


def test_two_read_tools_keep_their_nouns():
    def get_board(board_id: str) -> dict:
        """Show a board."""
        return {}

    plans = plan_registry(REGISTRY + to_tool_specs([get_board]))
    assert plans["get_task"].asked_about and not plans["get_task"].bare_id
    assert plans["get_board"].asked_about and not plans["get_board"].bare_id


def test_commands_whose_verb_no_tool_does_are_no_calls_on_the_registrys_own_places():
    synth = RegistrySynthesizer(REGISTRY, seed=0)
    assert synth.places                                     # the fans' rooms
    verbs = synth.no_calls.foreign_verbs
    assert "vacuum" in verbs and "switch" not in verbs and "stream" not in verbs
    rng = random.Random(0)
    queries = [synth.no_calls.near_miss(rng, synth.places)[0][0] for _ in range(200)]
    with_place = [q for q in queries if any(p in q for p in synth.places) and q.split()[0] in verbs]
    assert with_place                                        # "vacuum the kitchen"


def test_a_verb_a_tool_uses_is_never_a_foreign_command():
    def clean_filter(room: str) -> dict:
        """Clean the air filter in a room."""
        return {}

    synth = RegistrySynthesizer(REGISTRY + to_tool_specs([clean_filter]), seed=0)
    assert "clean" not in synth.no_calls.foreign_verbs
