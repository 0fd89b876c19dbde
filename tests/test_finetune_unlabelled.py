"""Arguments said without their parameter's label ("for 4", "at Riverside Gym", "a 15% tip",
"250g"), as people type them. Fast: no model, a registry defined here (a domain none of the
example or development registries covers)."""

from __future__ import annotations

import random
import re
from typing import Literal

import pytest

pytest.importorskip("faker")

from needle_router.tools import to_tool_specs  # noqa: E402
from needle_trainer.data.phrasing import words  # noqa: E402
from needle_trainer.data.values import Filled  # noqa: E402
from needle_trainer.finetune.data import synthesize  # noqa: E402
from needle_trainer.finetune.hints import CatalogueBank  # noqa: E402
from needle_trainer.data.catalogue import default_catalogue  # noqa: E402
from needle_trainer.finetune.relations import parameter_role, role_phrases  # noqa: E402
from needle_trainer.finetune.templates import ToolProfile, description_actions, unlabelled_phrases  # noqa: E402


def book_class(gym: str, day: str, num_guests: int,
               level: Literal["beginner", "intermediate", "advanced"] = "beginner") -> dict:
    """Book a fitness class at one of the member's gyms.

    Args:
        gym: Gym the class is at, e.g. "Riverside".
        day: Day of the class, e.g. "Monday".
        num_guests: How many people come, the member included.
        level: Class level.
    """
    return {}


def pay_invoice(invoice_number: str, total: float, fee_percent: int | None = None) -> dict:
    """Pay an invoice the member has received.

    Args:
        invoice_number: Invoice number, e.g. "INV-2291".
        total: Amount to pay.
        fee_percent: Card fee as a percentage of the total.
    """
    return {}


def log_meal(food: str, amount_grams: float) -> dict:
    """Log a meal the member has eaten.

    Args:
        food: What was eaten, e.g. "porridge".
        amount_grams: How much, in grams.
    """
    return {}


def send_voucher(recipient: str, delivery_address: str) -> dict:
    """Send a gift voucher to someone by post.

    Args:
        recipient: Person the voucher is for.
        delivery_address: Postal address to send it to.
    """
    return {}


SPECS = to_tool_specs([book_class, pay_invoice, log_meal, send_voucher])
PROPS = {s.name: s.parameters["properties"] for s in SPECS}


def test_roles_for_head_counts_money_businesses_addresses_and_recipients():
    assert parameter_role("num_guests", {"type": "integer"}) == "party"
    assert parameter_role("party_size", {"type": "integer"}) == "party"
    assert parameter_role("total", {"type": "number"}) == "money"
    assert parameter_role("amount_grams", {"type": "number"}) is None      # a weight, not money
    assert parameter_role("fee_percent", {"type": "integer"}) is None
    assert parameter_role("count", {"type": "integer"}) is None
    assert parameter_role("hotel", {"type": "string"}) == "venue"
    assert parameter_role("store_id", {"type": "string"}) is None          # an id is not a place to be at
    assert parameter_role("delivery_address", {"type": "string"}) == "address"
    assert parameter_role("email_address", {"type": "string"}) is None
    assert parameter_role("recipient", {"type": "string"}) == "recipient"


def test_head_counts_are_said_with_their_own_noun():
    assert "for 3" in role_phrases("party", "3", "num_guests")
    assert "3 guests" in role_phrases("party", "3", "num_guests")
    assert "3 people" in role_phrases("party", "3", "party_size")
    assert all("{" not in p for p in role_phrases("party", "3", "party_size"))


def _profile(name: str) -> ToolProfile:
    spec = next(s for s in SPECS if s.name == name)
    return ToolProfile.build(spec, CatalogueBank(default_catalogue()), random.Random(0))


def test_unlabelled_forms_say_the_value_by_its_unit_or_role():
    rng = random.Random(0)
    pay, meal, booking = _profile("pay_invoice"), _profile("log_meal"), _profile("book_class")
    fee = {p for _ in range(40) for p in unlabelled_phrases(pay, "fee_percent", PROPS["pay_invoice"]["fee_percent"],
                                                            Filled(15, "15"), rng, None)}
    assert "15% fee" in fee and not any("percent fee" in p and "%" in p for p in fee)
    grams = {p for _ in range(40) for p in unlabelled_phrases(meal, "amount_grams", PROPS["log_meal"]["amount_grams"],
                                                              Filled(250.0, "250"), rng, None)}
    assert grams & {"250g", "250 grams", "250 g"} and not any("amount" in p for p in grams)
    level = unlabelled_phrases(booking, "level", PROPS["book_class"]["level"], Filled("advanced", "advanced"), rng, None)
    assert "advanced" in level
    # a plain string with no role has no unlabelled form: its label is what says which it is
    assert unlabelled_phrases(meal, "food", PROPS["log_meal"]["food"], Filled("porridge", "porridge"), rng, None) == []
    assert "at Riverside" in unlabelled_phrases(booking, "gym", PROPS["book_class"]["gym"],
                                                Filled("Riverside", "Riverside"), rng, "venue")


def test_a_clause_after_the_object_is_not_part_of_the_action():
    assert description_actions("Pay an invoice the member has received.")[0] == "pay an invoice"
    assert "dim the lights in the room" in description_actions("Dim the lights in a room.")


@pytest.fixture(scope="module")
def examples():
    return synthesize(SPECS, per_tool=80, seed=0)


def _single(examples, name):
    return [ex for ex in examples if len(ex["calls"]) == 1 and ex["calls"][0]["name"] == name]


@pytest.mark.parametrize("tool,key", [("book_class", "num_guests"), ("book_class", "gym"),
                                      ("pay_invoice", "fee_percent"), ("log_meal", "amount_grams"),
                                      ("send_voucher", "delivery_address")])
def test_most_arguments_with_an_unlabelled_form_are_said_without_their_label(examples, tool, key):
    said = [ex for ex in _single(examples, tool) if key in ex["calls"][0]["arguments"]]
    label = words(key)

    def labelled_value(ex) -> bool:                 # the label just before the value ("gym is Nacht")
        query, value = ex["query"].lower(), str(ex["calls"][0]["arguments"][key]).lower().removesuffix(".0")
        at = query.find(value)
        return at >= 0 and label in query[max(0, at - len(label) - 14):at]

    labelled = [ex["query"] for ex in said if labelled_value(ex)]
    assert said and len(labelled) < 0.5 * len(said), labelled


def test_head_counts_and_fees_appear_as_people_say_them(examples):
    bookings = _single(examples, "book_class")
    counts = [ex for ex in bookings if "num_guests" in ex["calls"][0]["arguments"]]
    n = lambda ex: ex["calls"][0]["arguments"]["num_guests"]   # noqa: E731
    assert any(re.search(rf"\bfor {n(ex)}\b|\b{n(ex)} (guests|of us)\b", ex["query"]) for ex in counts)
    fees = [ex for ex in _single(examples, "pay_invoice") if "fee_percent" in ex["calls"][0]["arguments"]]
    assert any(re.search(r"\d% fee\b", ex["query"]) for ex in fees), [ex["query"] for ex in fees]
