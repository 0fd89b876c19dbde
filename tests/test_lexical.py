"""BM25 word overlap and its fusion with the retrieval head (``needle_router.lexical``)."""

from __future__ import annotations

import numpy as np

from needle_router.lexical import LexicalIndex, fuse, terms, tool_terms
from needle_router.tools import to_tool_specs


def test_terms_split_identifiers_drop_stopwords_and_stem():
    assert terms("getWeatherForecast for the cities") == ["weather", "forecast", "city"]
    assert terms("send_emails, booking") == ["send", "email", "book"]


def test_the_tool_a_query_names_ranks_first():
    specs = to_tool_specs([
        {"name": "get_weather", "description": "Current weather for a city.",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"name": "convert_currency", "description": "Convert an amount between currencies.",
         "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}}},
        {"name": "send_email", "description": "Send an email.",
         "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}},
    ])
    index = LexicalIndex([tool_terms(s) for s in specs])
    names = [s.name for s in specs]
    assert names[int(np.argmax(index.scores("what's the weather in Paris?")))] == "get_weather"
    assert names[int(np.argmax(index.scores("Convert 20 USD into another currency")))] == "convert_currency"
    assert not index.scores("hello there").any()


def test_enum_values_are_words_of_their_tool():
    specs = to_tool_specs([
        {"name": "book_flight", "description": "Book a flight.", "parameters": {"type": "object", "properties": {
            "cabin": {"type": "string", "enum": ["economy", "business_class"]}}}},
        {"name": "rent_car", "description": "Rent a car.", "parameters": {"type": "object", "properties": {
            "size": {"type": "string", "enum": ["compact", "suv"]}}}},
    ])
    assert {"economy", "business", "class"} <= set(tool_terms(specs[0]))
    index = LexicalIndex([tool_terms(s) for s in specs])
    assert int(np.argmax(index.scores("I want an SUV in Denver"))) == 1


def test_fusion_keeps_excluded_tools_out_and_breaks_head_ties_by_words():
    dense = np.array([0.2, 0.2, -np.inf, 0.1])
    lexical = np.array([0.0, 3.0, 9.0, 0.0])
    fused = fuse(dense, lexical, 0.5)
    assert fused[2] == -np.inf
    assert int(np.argmax(fused)) == 1
    assert np.array_equal(fuse(dense, np.zeros(4), 0.5)[[0, 1, 3]].argsort(), dense[[0, 1, 3]].argsort())
