"""Value hints fit the parameter they fill: a list's items borrow the catalogue's values for lists
of that name, free-text fields get what people write rather than lorem words, free-text dates
include bare weekdays. Fast: no model, a registry defined here (a garden-centre app, a domain
none of the example or development registries covers)."""

from __future__ import annotations

import random
import re

import pytest

pytest.importorskip("faker")

from needle_router.tools import to_tool_specs  # noqa: E402
from needle_trainer.data.catalogue import default_catalogue  # noqa: E402
from needle_trainer.finetune.hints import CatalogueBank, RegistryValues, free_date, hinted_schema  # noqa: E402
from needle_trainer.finetune.templates import ToolProfile  # noqa: E402


def plan_planting(seeds: list[str], bed: str) -> dict:
    """Plan which seeds go in a garden bed.

    Args:
        seeds: Seed packets to sow, e.g. ["sweet peas", "runner beans"].
        bed: Garden bed to sow them in.
    """
    return {}


def find_recipes_for_harvest(ingredients: list[str]) -> dict:
    """Find cooking recipes that use the vegetables harvested today.

    Args:
        ingredients: Vegetables to cook with.
    """
    return {}


def leave_feedback(order_number: str, praise_text: str) -> dict:
    """Leave feedback on a garden-centre order.

    Args:
        order_number: The order, e.g. "GC-1182".
        praise_text: What the customer wants to say about it.
    """
    return {}


@pytest.fixture(scope="module")
def bank() -> CatalogueBank:
    return CatalogueBank(default_catalogue())


def _schema(tool, bank: CatalogueBank) -> dict:
    return ToolProfile.build(to_tool_specs([tool])[0], bank, random.Random(0)).schema


def _items(tool, name: str, bank: CatalogueBank, n: int = 300) -> list[str]:
    node = _schema(tool, bank)["properties"][name]
    values = RegistryValues(random.Random(1))
    return [item for _ in range(n) for item in values.value(node).value]


def test_list_items_take_the_lists_description_examples(bank):
    drawn = _items(plan_planting, "seeds", bank)
    assert {"sweet peas", "runner beans"} <= set(drawn)


def test_list_items_borrow_the_catalogues_lists_of_that_name(bank):
    """"ingredients" used to be looked up as "ingredient" and match no catalogue list, so a recipe
    tool's ingredients came from unrelated parameters (shop products, a dozen baking words)."""
    borrowed = set(_items(find_recipes_for_harvest, "ingredients", bank))
    catalogue_ingredients = {v for d in default_catalogue() for t in d.tools
                             for k, node in (t.schema.get("properties") or {}).items() if k == "ingredients"
                             for v in (node.get("items") or {}).get("x-values") or ()}
    assert len(borrowed) >= 8
    assert borrowed <= catalogue_ingredients, borrowed - catalogue_ingredients


def compare_cafes(cuisines: list[str]) -> dict:
    """Compare the cafes near the garden centre by what they serve.

    Args:
        cuisines: Kinds of food to compare.
    """
    return {}


def test_a_list_no_catalogue_list_is_named_like_borrows_single_values(bank):
    """No catalogue list is called "cuisines"; its items take the catalogue's "cuisine" values."""
    drawn = set(_items(compare_cafes, "cuisines", bank))
    cuisine = {v for d in default_catalogue() for t in d.tools
               for k, node in (t.schema.get("properties") or {}).items() if k == "cuisine"
               for v in node.get("x-values") or ()}
    assert len(drawn) >= 8 and drawn <= cuisine, drawn - cuisine


def test_free_text_fields_get_what_people_write(bank):
    node = _schema(leave_feedback, bank)["properties"]["praise_text"]
    values = RegistryValues(random.Random(2))
    drawn = [values.value(node).value for _ in range(200)]
    assert set(drawn) <= set(bank.free_texts)
    assert len(set(drawn)) >= 100                      # a wide pool, not a few memorisable lines
    assert all(len(v.split()) >= 3 for v in drawn)


def test_ids_keep_the_descriptions_shape(bank):
    node = _schema(leave_feedback, bank)["properties"]["order_number"]
    assert all(re.fullmatch(r"[A-Z]{2}-\d{4}", v) for v in node["x-values"])


def test_free_dates_include_bare_weekdays():
    rng = random.Random(3)
    dates = [free_date(rng) for _ in range(600)]
    bare = [d for d in dates if re.fullmatch(r"(?i)(mon|tue|wed|thu|fri|sat|sun)[a-z]*", d)]
    assert len(bare) >= 60
    assert any(d.islower() for d in bare) and any(d[0].isupper() for d in bare)


def test_hinted_schema_leaves_the_users_schema_alone(bank):
    spec = to_tool_specs([plan_planting])[0]
    before = repr(spec.parameters)
    hinted = hinted_schema(spec.parameters, spec.name, {"seed", "garden"}, bank, random.Random(0))
    assert repr(spec.parameters) == before
    assert hinted["properties"]["seeds"]["items"]["type"] == "string"
