"""Optional arguments the query gives no ground for are dropped when an answer is parsed; required
ones, formatted strings and nested values are never touched, numbers only when taken from a date.
Optional enum values the query names, that the answer left out, are added."""

from __future__ import annotations

import json

import pytest

from needle_router.decoding.calls import target_tokens
from needle_router.decoding.grounding import (complete_name, complete_names, drop_repeated_items, drop_ungrounded,
                                              fill_said_enums, ground_answer)
from needle_router.router import parse_answer
from needle_router.tokenizer import default_tokenizer
from needle_router.tools import to_tool_specs

FLIGHTS = {
    "type": "object",
    "properties": {
        "origin": {"type": "string"},
        "destination": {"type": "string"},
        "departure_date": {"type": "string"},
        "return_date": {"type": "string"},
        "passengers": {"type": "integer"},
        "cabin": {"type": "string", "enum": ["economy", "premium_economy", "business"]},
        "nonstop_only": {"type": "boolean"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "by": {"type": "string", "format": "date"},
        "travellers": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["origin", "destination", "departure_date"],
}


def test_what_the_query_never_mentions_is_dropped():
    args = {"origin": "JFK", "destination": "LAX", "departure_date": "June 3", "cabin": "business",
            "nonstop_only": True, "note": "window seat"}
    assert drop_ungrounded(args, FLIGHTS, "flights JFK to LAX on June 3") == {
        "origin": "JFK", "destination": "LAX", "departure_date": "June 3"}


def test_what_the_query_says_is_kept():
    query = "Any NONSTOP flights JFK to LAX on June 3, premium economy, note: window seat please"
    args = {"origin": "JFK", "destination": "LAX", "departure_date": "June 3", "cabin": "premium_economy",
            "nonstop_only": False, "note": "Window  seat"}
    assert drop_ungrounded(args, FLIGHTS, query) == args


def test_stemmed_words_ground_enums_and_flags():
    schema = {"type": "object", "properties": {
        "mode": {"type": "string", "enum": ["heat", "cool", "auto"]},
        "shuffle": {"type": "boolean"}}}
    assert drop_ungrounded({"mode": "cool", "shuffle": True}, schema, "cooling please, and shuffling") == {
        "mode": "cool", "shuffle": True}
    assert drop_ungrounded({"mode": "auto", "shuffle": True}, schema, "set it to 21 degrees") == {}


def test_a_span_another_argument_took_is_not_repeated_unless_said_twice():
    args = {"origin": "JFK", "destination": "LAX", "departure_date": "next Friday", "return_date": "next friday"}
    assert "return_date" not in drop_ungrounded(args, FLIGHTS, "JFK to LAX next Friday")
    assert drop_ungrounded(args, FLIGHTS, "JFK to LAX next Friday, back next Friday") == args


@pytest.mark.parametrize("query, kept", [
    ("flights JFK to LAX on June 3", False), ("JFK to LAX, 3rd June", False),
    ("JFK to LAX 2025-06-03", False), ("JFK to LAX at 10:03", False), ("JFK to LAX June 3 for 3", True),
    ("JFK to LAX for three of us", True), ("JFK to LAX", True), ("JFK to LAX June 3, three of us", True),
    ("JFK to LAX June 3, three.", True)])
def test_a_number_the_query_holds_only_in_a_date_is_dropped(query, kept):
    args = {"origin": "JFK", "destination": "LAX", "departure_date": "June 3", "passengers": 3}
    assert ("passengers" in drop_ungrounded(args, FLIGHTS, query)) is kept


@pytest.mark.parametrize("key, value", [("passengers", 4), ("by", "2025-06-03"), ("travellers", ["Ann"]),
                                        ("origin", "Atlantis"), ("nonstop_only", "yes")])
def test_other_numbers_formats_arrays_and_required_values_are_left_alone(key, value):
    args = {"origin": "JFK", "destination": "LAX", "departure_date": "June 3", key: value}
    assert drop_ungrounded(args, FLIGHTS, "JFK to LAX June 3") == args


def test_a_list_loses_only_the_items_it_repeats_more_often_than_the_query_says():
    query = "JFK to LAX June 3 with Ann and Bo"
    looped = {"origin": "JFK", "destination": "LAX", "departure_date": "June 3", "travellers": ["Ann", "Bo", "Bo", "bo"]}
    assert drop_repeated_items(looped, FLIGHTS, query)["travellers"] == ["Ann", "Bo"]
    twice = {**looped, "travellers": ["Ann", "Ann"]}
    assert drop_repeated_items(twice, FLIGHTS, "two tickets: Ann and Ann (her daughter)")["travellers"] == ["Ann", "Ann"]
    bounded = {**FLIGHTS, "properties": {**FLIGHTS["properties"],
                                         "travellers": {"type": "array", "items": {"type": "string"}, "minItems": 2}}}
    assert drop_repeated_items(twice, bounded, query) == twice
    codes = {**FLIGHTS, "properties": {**FLIGHTS["properties"],
                                       "travellers": {"type": "array", "items": {"type": "string", "enum": ["A", "B"]}}}}
    assert drop_repeated_items({**looped, "travellers": ["A", "A"]}, codes, query)["travellers"] == ["A", "A"]
    assert ground_answer([(looped, FLIGHTS)], query)[0]["travellers"] == ["Ann", "Bo"]


def test_text_in_other_scripts_is_matched_as_text():
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    assert drop_ungrounded({"city": "東京"}, schema, "東京のホテル") == {"city": "東京"}
    assert drop_ungrounded({"city": "大阪"}, schema, "東京のホテル") == {}


def _parse(arguments: dict, query: str | None) -> dict:
    spec = to_tool_specs([{"name": "search_flights", "description": "Search flights.", "parameters": FLIGHTS}])[0]
    tokenizer = default_tokenizer()
    text = json.dumps(arguments, separators=(",", ":"))
    calls, errors = parse_answer(target_tokens(tokenizer, [(spec.internal_name, text)]), [spec],
                                 tokenizer.vocab_bytes(), query)
    assert not errors
    return calls[0].arguments


def test_parsing_with_the_query_grounds_and_without_it_keeps_everything():
    args = {"origin": "Boston", "destination": "Lisbon", "departure_date": "June 3", "cabin": "economy"}
    assert _parse(args, "Boston to Lisbon on June 3") == {k: v for k, v in args.items() if k != "cabin"}
    assert _parse(args, None) == args


TABLE = {"type": "object", "properties": {
    "restaurant": {"type": "string"},
    "seating": {"type": "string", "enum": ["indoor", "outdoor", "bar", "private_room"]},
    "price": {"anyOf": [{"type": "string", "enum": ["cheap", "upscale"]}, {"type": "null"}]},
    "unit": {"type": "string", "enum": ["C", "F"]}},
    "required": ["restaurant"]}


@pytest.mark.parametrize("query, added", [
    ("table at Nopa, outdoor seating please", {"seating": "outdoor"}),
    ("Nopa, in a private room, somewhere upscale", {"seating": "private_room", "price": "upscale"}),
    ("table at Nopa, PRIVATE-ROOM", {"seating": "private_room"}),
    ("table at Nopa for the barbecue crowd", {}),          # a word of its own, not a piece of one
    ("table at Nopa, indoor or outdoor", {}),              # two values said: the query does not choose
    ("table at Nopa at 20 C", {}),                         # one-letter values are never matched
])
def test_an_enum_value_the_query_names_is_filled_once(query, added):
    assert fill_said_enums([({"restaurant": "Nopa"}, TABLE)], query) == [{"restaurant": "Nopa", **added}]


def test_a_value_an_argument_holds_or_two_calls_could_take_is_not_filled():
    query = "book The Bar for two, and Nopa outdoor"
    alone = fill_said_enums([({"restaurant": "The Bar"}, TABLE)], query)
    assert alone == [{"restaurant": "The Bar", "seating": "outdoor"}]
    both = fill_said_enums([({"restaurant": "The Bar"}, TABLE), ({"restaurant": "Nopa"}, TABLE)], query)
    assert both == [{"restaurant": "The Bar"}, {"restaurant": "Nopa"}]
    assert fill_said_enums([({"restaurant": "Nopa", "seating": "bar"}, TABLE)], "Nopa, the bar, upscale") == [
        {"restaurant": "Nopa", "seating": "bar", "price": "upscale"}]


def test_filled_keys_follow_the_schema_order_and_set_keys_are_never_changed():
    filled = fill_said_enums([({"restaurant": "Nopa", "unit": "F"}, TABLE)], "Nopa outdoor, indoor heaters")
    assert filled == [{"restaurant": "Nopa", "unit": "F"}]    # two seating values said: nothing added
    filled = fill_said_enums([({"restaurant": "Nopa", "unit": "F"}, TABLE)], "Nopa, bar seats")
    assert list(filled[0]) == ["restaurant", "seating", "unit"]


def test_parsing_with_the_query_fills_a_named_enum_value():
    args = {"origin": "Boston", "destination": "Lisbon", "departure_date": "June 3"}
    assert _parse(args, "Boston to Lisbon on June 3 in business") == {**args, "cabin": "business"}
    assert _parse(args, None) == args


@pytest.mark.parametrize("value, query, completed", [
    ("Gardens", "book a table at Kew Gardens Grill tonight", "Kew Gardens Grill"),
    ("Museum", "two tickets for the Museum of Fine Arts on friday", "Museum of Fine Arts"),
    ("Cinema", "at Roxie Cinema Friday 8pm", "Roxie Cinema"),          # a day name is not part of it
    ("Lane", "ship it to Penny Lane.", "Penny Lane"),
    ("Nopa", "book Nopa, Zuni is full", "Nopa"),                      # a comma ends the name
    ("Hall", "Carnegie Hall tickets for two", "Hall"),                # the first word may be sentence case
    ("A-12", "ship A-12 Widget today", "A-12"),                       # codes are not names
    ("Park", "from Park Ave to Park Slope", "Park"),                  # said twice: which one?
    ("pizza", "order Pizza Hut pizza", "pizza"),                      # not a name
    ("Marta", "invite Marta & Yuki", "Marta"),                        # "&" lists people as often as it names
])
def test_a_name_cut_short_grows_to_the_capitalised_words_around_it(value, query, completed):
    assert complete_name(value, query) == completed


def test_a_name_is_not_completed_over_another_argument():
    assert complete_name("Grill", "dinner at Kew Grill", others=["Kew"]) == "Grill"
    assert complete_name("Grill", "dinner at Kew Grill", others=["in"]) == "Kew Grill"   # words, not letters


def test_only_free_text_values_are_completed_and_the_switch_turns_it_off():
    params = {"type": "object", "properties": {
        "venue": {"type": "string"}, "city": {"type": "string", "enum": ["Grill", "Oslo"]},
        "day": {"type": "string", "format": "date"}, "seats": {"type": "integer"}}, "required": ["venue"]}
    query = "seats at Kew Grill for 4"
    args = {"venue": "Grill", "city": "Grill", "day": "Grill", "seats": 4}
    assert complete_names(args, params, query) == {**args, "venue": "Kew Grill"}
    assert ground_answer([({"venue": "Grill"}, params)], query) == [{"venue": "Kew Grill"}]
    assert ground_answer([({"venue": "Grill"}, params)], query, names=False) == [{"venue": "Grill"}]
