"""Requests said by their arguments alone ("Ichiran 4 stars", "table for 4 at Nopa sat 8pm"):
no verb, and a parameter only that tool has, said with its label, to tell which tool is meant.
Fast: no model, a registry defined here (a domain none of the example or development
registries covers)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("faker")

from needle_router.tools import to_tool_specs  # noqa: E402
from needle_trainer.data.phrasing import words  # noqa: E402
from needle_trainer.finetune import templates  # noqa: E402
from needle_trainer.finetune.data import synthesize  # noqa: E402
from needle_trainer.finetune.relations import distinctive_parameters  # noqa: E402
from needle_trainer.finetune.synth import RegistrySynthesizer  # noqa: E402


def book_class(gym: str, day: str, num_guests: int) -> dict:
    """Book a fitness class at one of the member's gyms.

    Args:
        gym: Gym the class is at, e.g. "Riverside".
        day: Day of the class, e.g. "Monday".
        num_guests: How many people come, the member included.
    """
    return {}


def cancel_class(gym: str, day: str) -> dict:
    """Cancel a class booking.

    Args:
        gym: Gym the class is at.
        day: Day of the class.
    """
    return {}


def log_workout(exercise: str, minutes: int, felt_ok: bool = True) -> dict:
    """Record a workout the member did.

    Args:
        exercise: What the member did, e.g. "rowing".
        minutes: How long it lasted.
        felt_ok: Whether it felt fine.
    """
    return {}


SPECS = to_tool_specs([book_class, cancel_class, log_workout])


def test_distinctive_parameters_are_the_ones_no_other_tool_has():
    got = distinctive_parameters(SPECS)
    assert got == {"book_class": frozenset({"num_guests"}), "cancel_class": frozenset(),
                   "log_workout": frozenset({"exercise", "minutes", "felt_ok"})}


def test_a_flag_never_names_the_tool():
    synth = RegistrySynthesizer(SPECS, seed=0)
    assert synth.profiles["log_workout"].distinctive == {"exercise", "minutes"}
    assert not synth.profiles["cancel_class"].distinctive


def _forced(monkeypatch, rate: float):
    monkeypatch.setattr(templates, "VALUES_ONLY_RATE", rate)
    monkeypatch.setattr(templates, "PARAPHRASE_RATE", 0.0)
    synth = RegistrySynthesizer(SPECS, seed=3)
    out = []
    for name in ("book_class", "log_workout", "cancel_class"):
        for _ in range(40):
            req = templates.tool_request(synth.profiles[name], synth.values, generic_rate=0.0)
            out.append((name, "".join(text for text, _ in req.parts), req.arguments))
    return out


def test_values_only_requests_drop_the_verb_and_label_a_distinctive_parameter(monkeypatch):
    for name, query, args in _forced(monkeypatch, 1.0):
        verb = words(name).split()[0]
        if name == "cancel_class":           # nothing names it without its verb: the usual request
            continue
        assert not re.search(rf"\b{verb}\b", query, re.IGNORECASE), query
        labelled = {"book_class": ("guest",), "log_workout": ("exercise", "minute")}[name]
        assert any(word in query.casefold() for word in labelled), query
        assert set(args) & {"num_guests", "exercise", "minutes"}, (query, args)
        assert query == query.strip() and "  " not in query, repr(query)


def test_without_the_rate_every_template_request_keeps_its_action(monkeypatch):
    for name, query, _ in _forced(monkeypatch, 0.0):
        if name == "book_class":
            assert re.search(r"\b(book|class|gym|reserve|sign)", query, re.IGNORECASE), query


def test_synthesised_data_holds_some_verbless_requests():
    examples = synthesize(SPECS, per_tool=120, seed=1)
    book = [e["query"] for e in examples if [c["name"] for c in e["calls"]] == ["book_class"]]
    # neither the verb nor the object ("reserve the class", "grab a fitness class" say the object)
    verbless = [q for q in book if not re.search(r"\b(book|class)", q, re.IGNORECASE)
                and "guest" in q.casefold()]
    assert 0.02 * len(book) <= len(verbless) <= 0.4 * len(book), (len(verbless), len(book))
