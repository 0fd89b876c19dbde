"""Arguments said by their role: pairs ("from A to B"), sole prepositions ("on June 3"), lookup
tools asked for by their object ("warehouses in Leeds"). Fast: no model, a registry defined here
(a domain none of the example registries covers)."""

from __future__ import annotations

import random
import re

import pytest

pytest.importorskip("faker")

from needle_router.tools import to_tool_specs  # noqa: E402
from needle_trainer.finetune.data import synthesize  # noqa: E402
from needle_trainer.finetune.relations import (ParameterPair, noun_only_tools, pair_phrase,  # noqa: E402
                                               parameter_pairs, parameter_role, parameter_roles,
                                               sole_roles)


def transfer_funds(from_account: str, to_account: str, amount: float) -> dict:
    """Move money between two of the user's accounts.

    Args:
        from_account: Account to take the money from, e.g. "checking".
        to_account: Account to put the money in, e.g. "savings".
        amount: Amount in dollars.
    """
    return {}


def list_invoices(start_date: str, end_date: str, min_amount: float | None = None,
                  max_amount: float | None = None) -> list:
    """List invoices issued in a period.

    Args:
        start_date: First day of the period, e.g. "March 1".
        end_date: Last day of the period.
        min_amount: Smallest invoice total to include.
        max_amount: Largest invoice total to include.
    """
    return []


def schedule_meeting(title: str, date: str, time: str) -> dict:
    """Put a meeting on the team calendar.

    Args:
        title: What the meeting is about.
        date: Day of the meeting, e.g. "Tuesday".
        time: Start time, e.g. "3pm".
    """
    return {}


def find_warehouses(city: str) -> list:
    """Find the company's warehouses in a city.

    Args:
        city: City to look in.
    """
    return []


SPECS = to_tool_specs([transfer_funds, list_invoices, schedule_meeting, find_warehouses])
PROPS = {s.name: s.parameters["properties"] for s in SPECS}


def test_pairs_found_by_the_one_word_their_names_differ_in():
    assert parameter_pairs(PROPS["transfer_funds"]) == [ParameterPair("from_account", "to_account", "route")]
    assert parameter_pairs(PROPS["list_invoices"]) == [ParameterPair("start_date", "end_date", "span"),
                                                       ParameterPair("min_amount", "max_amount", "range")]
    assert parameter_pairs(PROPS["schedule_meeting"]) == []
    # particles joined to their verb; the description says a check-in is a date, so it spans
    stay = {"check_in": {"type": "string", "description": "Check-in date as given."},
            "check_out": {"type": "string"},
            "pick_up_date": {"type": "string"}, "drop_off_date": {"type": "string"}}
    assert [(p.first, p.second, p.kind) for p in parameter_pairs(stay)] == [
        ("check_in", "check_out", "span"), ("pick_up_date", "drop_off_date", "span")]
    names = {"first_name": {"type": "string"}, "last_name": {"type": "string"}}
    assert parameter_pairs(names) == [ParameterPair("first_name", "last_name", "name")]


def test_pairs_need_the_same_plain_type_and_names_one_word_apart():
    assert parameter_pairs({"from_city": {"type": "string"}, "to_city": {"type": "integer"}}) == []
    assert parameter_pairs({"from_city": {"type": "string"}, "to_town": {"type": "string"}}) == []
    assert parameter_pairs({"start": {"type": "object"}, "end": {"type": "object"}}) == []
    enum = {"type": "string", "enum": ["EUR", "USD"]}
    assert parameter_pairs({"from_currency": enum, "to_currency": {"type": "string"}}) == []
    assert parameter_pairs({"base_currency": enum, "quote_currency": enum})[0].kind == "rate"


def test_pair_phrase_keeps_the_pair_order():
    rng = random.Random(0)
    for kind in ("route", "span", "range", "rate", "name"):
        for _ in range(20):
            before, between, after = pair_phrase(ParameterPair("a", "b", kind), rng)
            text = f"{before}X{between}Y{after}"
            assert text.index("X") < text.index("Y")


def test_roles_from_names_formats_and_descriptions():
    assert parameter_role("date", {"type": "string"}) == "date"
    assert parameter_role("when", {"type": "string", "format": "date-time"}) == "date"
    assert parameter_role("check_in", {"type": "string", "description": "Check-in date"}) == "date"
    assert parameter_role("time", {"type": "string"}) == "time"
    assert parameter_role("timezone", {"type": "string"}) is None
    assert parameter_role("city", {"type": "string"}) == "place"
    assert parameter_role("origin", {"type": "string", "description": "Departure city or code"}) == "place"
    assert parameter_role("max_price", {"type": "number"}) == "max"
    assert parameter_role("min_stars", {"type": "integer"}) == "min"
    assert parameter_role("count", {"type": "integer"}) is None
    assert parameter_role("note", {"type": "string", "description": "Why the customer is cancelling"}) == "reason"
    assert parameter_role("city", {"type": "string", "enum": ["Paris", "Rome"]}) is None


def test_sole_roles_only_where_the_preposition_is_unambiguous():
    props = PROPS["list_invoices"]
    pairs, roles = parameter_pairs(props), parameter_roles(props)
    assert sole_roles(roles, ["start_date", "end_date"], pairs) == {}          # two dates: labels tell them apart
    assert sole_roles(roles, ["start_date", "min_amount"], pairs) == {"start_date": "date", "min_amount": "min"}
    assert sole_roles(roles, ["end_date"], pairs) == {}                        # alone it would read as the start
    assert sole_roles(parameter_roles(PROPS["schedule_meeting"]), ["title", "date", "time"], []) == {"date": "date", "time": "time"}
    two_dates = {"date": {"type": "string"}, "due_date": {"type": "string"}}
    assert sole_roles(parameter_roles(two_dates), ["date", "due_date"], []) == {}


def test_noun_only_only_for_a_lookup_whose_object_is_its_own():
    assert noun_only_tools(SPECS) == {"list_invoices", "find_warehouses"}

    def get_invoice(invoice: str) -> dict:
        """Show one invoice."""
        return {}

    def book_warehouse(city: str) -> dict:
        """Rent space in a warehouse."""
        return {}

    both = to_tool_specs([list_invoices, get_invoice, find_warehouses, book_warehouse])
    assert noun_only_tools(both) == {"find_warehouses"}        # "invoice(s)" names two lookups


@pytest.fixture(scope="module")
def examples():
    return synthesize(SPECS, per_tool=80, seed=0)


def _single(examples, name):
    return [ex for ex in examples if len(ex["calls"]) == 1 and ex["calls"][0]["name"] == name]


def test_synthesised_pairs_are_said_together_in_order(examples):
    transfers = _single(examples, "transfer_funds")
    together = 0
    for ex in transfers:
        args = ex["calls"][0]["arguments"]
        a, b = re.escape(args["from_account"]), re.escape(args["to_account"])
        if re.search(rf"{a}\s*(to|-|->)\s*{b}", ex["query"]):
            together += 1
        assert not re.search(rf"\bfrom {b} to {a}\b", ex["query"]), ex["query"]
    assert together >= 0.25 * len(transfers), [ex["query"] for ex in transfers]
    invoices = _single(examples, "list_invoices")
    ranges = [ex for ex in invoices if {"min_amount", "max_amount"} <= set(ex["calls"][0]["arguments"])]
    assert any(re.search(r"\bbetween \S+ and \S+", ex["query"]) or "-" in ex["query"] for ex in ranges)


def test_synthesised_sole_roles_and_noun_only_lookups(examples):
    meetings = _single(examples, "schedule_meeting")
    at_time = [ex for ex in meetings if f"at {ex['calls'][0]['arguments']['time']}" in ex["query"]]
    on_date = [ex for ex in meetings if f"on {ex['calls'][0]['arguments']['date']}" in ex["query"]]
    assert at_time and on_date
    warehouses = _single(examples, "find_warehouses")
    bare = [ex for ex in warehouses if re.match(r"^(any |looking for |need |ok |so )?warehouses\b", ex["query"].lower())]
    assert len(bare) >= 3, [ex["query"] for ex in warehouses]
    # the verb-less phrasing is only for lookups: never "transfer" left out this way
    assert not any(ex["query"].lower().startswith("funds") for ex in _single(examples, "transfer_funds"))


def test_tool_subsets_keep_the_answer_and_leave_pairs_and_small_lists_whole(examples):
    from needle_trainer.finetune.subsets import with_tool_subsets

    def names(ex):
        return [t["function"]["name"] for t in ex["tools"]]

    assert with_tool_subsets(examples, 0.0, seed=1) == list(examples)
    shown = with_tool_subsets(examples, 1.0, seed=1)
    assert shown == with_tool_subsets(examples, 1.0, seed=1)           # deterministic
    for before, after in zip(examples, shown):
        assert after["query"] == before["query"] and after["calls"] == before["calls"]
        called = {c["name"] for c in before["calls"]}
        assert called <= set(names(after))
        assert [n for n in names(before) if n in names(after)] == names(after)   # order kept
        if before["meta"]["kind"] == "confusable":
            assert after is before
        else:
            assert 2 <= len(names(after)) <= max(2, len(called), len(names(before)) // 2)
    with pytest.raises(ValueError, match="share"):
        with_tool_subsets(examples, 1.5, seed=1)


def test_tool_subsets_pack_more_examples_into_a_step(examples):
    from needle_trainer.data.encode import Encoder
    from needle_trainer.finetune.subsets import with_tool_subsets
    from needle_trainer.finetune.train import BatchPlan

    encoder = Encoder()
    whole = BatchPlan(encoder.encode_many(examples), rows=8, seed=0)
    parts = BatchPlan(encoder.encode_many(with_tool_subsets(examples, 0.75, seed=0)), rows=8, seed=0)
    assert parts.per_epoch < 0.8 * whole.per_epoch, (parts.per_epoch, whole.per_epoch)
