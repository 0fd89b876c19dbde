"""BM25 word overlap and its fusion with the retrieval head (``needle_router.lexical``)."""

from __future__ import annotations

import numpy as np

from needle_router.clauses import MAX_CLAUSES, clauses
from needle_router.lexical import LexicalIndex, fuse, fuse_clauses, terms, tool_terms
from needle_router.tools import to_tool_specs


def test_terms_split_identifiers_drop_stopwords_and_stem():
    assert terms("getWeatherForecast for the cities") == terms("weather forecasts city")
    assert terms("send_emails, booking") == ["send", "email", "book"]
    # the forms of one word meet, the words a tool and a query use for one thing
    assert terms("holdings monthly cancellation") == terms("hold month cancel")
    assert terms("shares") == terms("share")


def test_a_query_of_several_requests_splits_into_its_clauses():
    assert clauses("book a table at Nopa for two, also text Sam that I'm late") == [
        "book a table at Nopa for two", "also text Sam that I'm late"]
    assert clauses("Turn off the lights. What's the weather tomorrow?") == [
        "Turn off the lights", "What's the weather tomorrow"]
    assert clauses("play jazz and then set a timer for 10 minutes") == ["play jazz", "then set a timer for 10 minutes"]
    assert clauses("order pizza & check my balance") == ["order pizza", "check my balance"]
    assert clauses("find flights to Rome and show me hotels there") == ["find flights to Rome", "show me hotels there"]


def test_a_single_request_has_no_clauses():
    assert clauses("send an email to bob@example.com saying hi") == []
    assert clauses("salt and pepper chips from Rosa's") == []          # "and" between nouns is no break
    assert clauses("what's the weather in Paris?") == []                # a sentence end alone
    assert clauses("well, please. yes!") == []                           # pieces without content words
    long = ". ".join(f"call person number {i} now" for i in range(MAX_CLAUSES + 3))
    assert len(clauses(long)) == MAX_CLAUSES


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
    assert set(terms("economy business class")) <= set(tool_terms(specs[0]))
    index = LexicalIndex([tool_terms(s) for s in specs])
    assert int(np.argmax(index.scores("I want an SUV in Denver"))) == 1


def test_fusion_keeps_excluded_tools_out_and_breaks_head_ties_by_words():
    dense = np.array([0.2, 0.2, -np.inf, 0.1])
    lexical = np.array([0.0, 3.0, 9.0, 0.0])
    fused = fuse(dense, lexical, 0.5)
    assert fused[2] == -np.inf
    assert int(np.argmax(fused)) == 1
    assert np.array_equal(fuse(dense, np.zeros(4), 0.5)[[0, 1, 3]].argsort(), dense[[0, 1, 3]].argsort())


def test_a_tool_one_clause_asks_for_reaches_the_top_when_the_whole_query_buries_it():
    # tools: 0 = the first request's, 1 = the second's, 2-5 = tools sharing the first one's words
    dense = np.array([[0.9, 0.1, 0.8, 0.7, 0.7, 0.6],      # whole query: the first request dominates
                      [0.9, 0.0, 0.8, 0.7, 0.7, 0.6],      # clause 1
                      [0.1, 0.9, 0.0, 0.1, 0.0, 0.1]])     # clause 2
    lexical = np.array([[3.0, 1.0, 2.0, 2.0, 2.0, 1.0], [3.0, 0.0, 2.0, 2.0, 2.0, 1.0], [0.0, 3.0, 0.0, 0.0, 0.0, 0.0]])
    whole = fuse(dense[0], lexical[0])
    assert 1 not in np.argsort(-whole)[:2]
    both = fuse_clauses(dense, lexical)
    assert set(np.argsort(-both)[:2]) == {0, 1}
    assert np.array_equal(fuse_clauses(dense[:1], lexical[:1]), whole)   # no clauses: the whole query's fusion
    dense[:, 3] = -np.inf
    assert fuse_clauses(dense, lexical)[3] == -np.inf                    # an excluded tool stays excluded


def test_stems_are_the_same_from_many_threads():
    from concurrent.futures import ThreadPoolExecutor

    from needle_router.lexical import stem

    words = [f"{w}{i}ings" for i in range(400) for w in ("book", "reserv", "cancel")]
    stem.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(stem, words))
    stem.cache_clear()
    assert together == [stem(w) for w in words]
