"""Fine-tuning data: synthesis for a user's registry, the user's own JSONL, stratified splits.

Fast (no model): the example registries' tools.py (never their held-out queries.jsonl) and a
small registry defined here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Literal

import pytest

pytest.importorskip("faker")

from needle_router.tools import load_tools_file, to_tool_specs  # noqa: E402
from needle_trainer.data.validate import dedupe_key, validate_example  # noqa: E402
from needle_trainer.finetune.data import (confusable_pairs, load_user_examples, read_split,  # noqa: E402
                                          split_per_tool, synthesize, write_splits)
from needle_trainer.finetune.templates import description_actions  # noqa: E402

REGISTRIES = Path(__file__).resolve().parents[1] / "examples" / "registries"


def book_table(restaurant: str, party_size: int, time: str, outdoor: bool = False) -> dict:
    """Reserve a table at a restaurant.

    Args:
        restaurant: Restaurant name, e.g. "Nobu" or "Chez Panisse".
        party_size: Number of people, 1-12.
        time: Time of the reservation, e.g. "19:30".
        outdoor: Sit outside.
    """
    return {}


def cancel_table(restaurant: str, confirmation: str) -> dict:
    """Cancel a table reservation.

    Args:
        restaurant: Restaurant name.
        confirmation: Confirmation code, e.g. "RZ-4821".
    """
    return {}


def get_menu(restaurant: str, course: Literal["starters", "mains", "desserts"] | None = None) -> dict:
    """Show the menu of a restaurant."""
    return {}


SMALL = to_tool_specs([book_table, cancel_table, get_menu])


def registry(name: str):
    return to_tool_specs(load_tools_file(REGISTRIES / name / "tools.py"))


@pytest.fixture(scope="module")
def small_examples():
    return synthesize(SMALL, per_tool=40, seed=3)


@pytest.fixture(scope="module", params=["smart_home", "support_desk", "travel"])
def registry_examples(request):
    specs = registry(request.param)
    return specs, synthesize(specs, per_tool=30, seed=1)


def _called(example) -> set[str]:
    return {c["name"] for c in example["calls"]}


# ------------------------------------------------------------------------------ synthesis

def test_every_example_validates_and_shows_only_the_registry(registry_examples):
    specs, examples = registry_examples
    names = {s.name for s in specs}
    for ex in examples:
        validate_example(ex)
        shown = {t["function"]["name"] for t in ex["tools"]}
        assert shown <= names
        assert _called(ex) <= shown
        for call in ex["calls"]:
            next(s for s in specs if s.name == call["name"]).validate_arguments(call["arguments"], fill_defaults=False)
    keys = [dedupe_key(ex["query"]) for ex in examples]
    assert len(keys) == len(set(keys))


def test_every_tool_covered_with_per_tool_singles(registry_examples):
    specs, examples = registry_examples
    singles = Counter(ex["calls"][0]["name"] for ex in examples if ex["meta"]["kind"] == "single")
    assert set(singles) == {s.name for s in specs}
    assert min(singles.values()) >= 27          # 30 asked; a few may be lost to dedupe at most


def test_tools_are_the_whole_registry_shuffled(registry_examples):
    specs, examples = registry_examples
    orders = {tuple(t["function"]["name"] for t in ex["tools"]) for ex in examples}
    assert len(orders) > 20
    whole = sorted(s.name for s in specs)
    assert all(sorted(t["function"]["name"] for t in ex["tools"]) == whole for ex in examples)


def test_fractions_near_requested():
    examples = synthesize(SMALL, per_tool=60, seed=0, no_call_fraction=0.2, parallel_fraction=0.1)
    kinds = Counter(ex["meta"]["kind"] for ex in examples)
    assert abs(kinds["no_call"] / len(examples) - 0.2) < 0.03, kinds
    assert abs(kinds["parallel"] / len(examples) - 0.1) < 0.03, kinds
    assert all(not ex["calls"] for ex in examples if ex["meta"]["kind"] == "no_call")
    assert all(2 <= len(ex["calls"]) <= 3 for ex in examples if ex["meta"]["kind"] == "parallel")
    subs = Counter(ex["meta"]["no_call"] for ex in examples if ex["meta"]["kind"] == "no_call")
    assert set(subs) == {"chit_chat", "missing_tool", "near_miss"}, subs
    none = synthesize(SMALL, per_tool=10, seed=0, no_call_fraction=0.0, parallel_fraction=0.0)
    assert Counter(ex["meta"]["kind"] for ex in none).keys() <= {"single", "confusable"}


def _leaves(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_half_the_parallel_requests_are_bare_clauses_joined_by_and(registry_examples):
    """"turn off the kitchen lights and lock the front door": what people type, and what the
    framed, one-request-after-another form ("hey, ... thanks, plus ...") never shows."""
    _, examples = registry_examples
    parallel = [ex for ex in examples if ex["meta"]["kind"] == "parallel"]
    compact = [ex for ex in parallel if ex["meta"]["form"] in ("compact", "elliptical")]
    assert 0.3 < len(compact) / len(parallel) < 0.7            # 0.5 asked; 80 draws
    joined = re.compile(r" (and|&|and then|and also)( |$)|, then ")
    for ex in compact:
        assert joined.search(ex["query"]) or "typo" in ex["meta"]["augment"], ex["query"]   # "tehn"
        words = ex["query"]
        for value in _leaves([c["arguments"] for c in ex["calls"]]):
            words = words.replace(str(value), " ")
        words = words.replace("...", " ").rstrip(" ?.!")   # "uh..." is a filler, not a full stop
        assert not re.search(r"[?!]|\. ", words), ex["query"]   # one sentence, not several


def test_one_tool_said_once_with_its_value_repeated(registry_examples):
    """"cancel FL7K2Q and HT93LM": every call names the same tool with one argument, and
    every value is a copied span of the query, in the order of the calls."""
    _, examples = registry_examples
    elliptical = [ex for ex in examples if ex["meta"]["kind"] == "parallel" and ex["meta"]["form"] == "elliptical"]
    assert elliptical
    for ex in elliptical:
        assert len({c["name"] for c in ex["calls"]}) == 1 and all(len(c["arguments"]) == 1 for c in ex["calls"])
        values = [next(iter(c["arguments"].values())) for c in ex["calls"]]
        values = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in values]  # 26.0 is said "26"
        spots = [ex["query"].find(v) for v in values]
        assert -1 not in spots and spots == sorted(spots), ex["query"]


def test_deterministic_per_seed_and_seeds_differ(small_examples):
    again = synthesize(SMALL, per_tool=40, seed=3)
    assert json.dumps(again, sort_keys=True) == json.dumps(small_examples, sort_keys=True)
    other = synthesize(SMALL, per_tool=40, seed=4)
    overlap = {e["query"] for e in other} & {e["query"] for e in small_examples}
    assert len(overlap) < len(other) * 0.2


def test_same_examples_in_a_process_with_another_hash_seed(registry_examples, request):
    """Faker's it_IT cities come from a set; unsorted, a seed drew other cities in each process."""
    _, examples = registry_examples
    registry_name = request.node.callspec.params["registry_examples"]
    code = ("import hashlib, json, sys\n"
            "from needle_router.tools import load_tools_file, to_tool_specs\n"
            "from needle_trainer.finetune.synth import synthesize\n"
            "specs = to_tool_specs(load_tools_file(sys.argv[1]))\n"
            "print(hashlib.sha256(json.dumps(synthesize(specs, per_tool=30, seed=1), sort_keys=True)"
            ".encode()).hexdigest())\n")
    env = dict(os.environ, PYTHONHASHSEED="4242")
    out = subprocess.run([sys.executable, "-c", code, str(REGISTRIES / registry_name / "tools.py")], env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout.strip()
    assert out == hashlib.sha256(json.dumps(examples, sort_keys=True).encode()).hexdigest()


def test_values_respect_types_enums_and_hints(small_examples):
    for ex in small_examples:
        for call in ex["calls"]:
            args = call["arguments"]
            if call["name"] == "book_table":
                assert isinstance(args["party_size"], int) and 1 <= args["party_size"] <= 12
                assert isinstance(args.get("outdoor", False), bool)
            if call["name"] == "get_menu" and "course" in args:
                assert args["course"] in ("starters", "mains", "desserts")
    confirmations = [c["arguments"]["confirmation"] for ex in small_examples for c in ex["calls"]
                     if c["name"] == "cancel_table"]
    # shaped like the description's example "RZ-4821", not lorem words
    assert sum(bool(re.fullmatch(r"[A-Z]{2}-\d{4}", v)) for v in confirmations) > len(confirmations) / 2


def test_optional_parameters_only_sometimes(small_examples):
    menus = [c["arguments"] for ex in small_examples for c in ex["calls"] if c["name"] == "get_menu"]
    with_course = sum("course" in a for a in menus)
    assert 0 < with_course < len(menus)


def test_confusable_pairs_found_and_both_sides_present():
    pairs = confusable_pairs(registry("smart_home"))
    found = {frozenset((p.first, p.second)) for p in pairs}
    assert frozenset(("lock_door", "unlock_door")) in found
    assert frozenset(("turn_on_lights", "turn_off_lights")) in found
    assert frozenset(("lock_door", "play_music")) not in found
    examples = synthesize(registry("smart_home"), per_tool=60, seed=0)      # enough pairs that one typo is noise
    lock_pair = [ex for ex in examples if ex["meta"]["kind"] == "confusable"
                 and set(ex["meta"]["pair"]) == {"lock_door", "unlock_door"}]
    sides = Counter(frozenset(_called(ex)) for ex in lock_pair)
    assert sides[frozenset({"lock_door"})] >= 2 and sides[frozenset({"unlock_door"})] >= 2
    assert sides[frozenset({"lock_door", "unlock_door"})] >= 1
    # said in their own name words, so the pair is told apart by the query
    unlocks = [ex["query"].lower() for ex in lock_pair if _called(ex) == {"unlock_door"}]
    assert sum("unlock" in q for q in unlocks) >= 0.85 * len(unlocks), unlocks     # typos may hit a few


def test_description_turned_into_requests():
    actions = description_actions("Dim or brighten the lights in a room to a given level (switching them on).")
    assert "dim the lights" in actions and "brighten the lights" in actions
    assert description_actions("Returns the weather for a city.")[0].startswith("return the weather")
    assert description_actions("Cancel an existing flight, hotel or rental-car booking.") == [
        "cancel an existing flight, hotel or rental-car booking",
        "cancel the existing flight, hotel or rental-car booking"]


def test_no_call_queries_avoid_the_registry_subjects():
    examples = synthesize(registry("smart_home"), per_tool=10, seed=0, no_call_fraction=0.4)
    missing = [ex["query"].lower() for ex in examples if ex["meta"].get("no_call") == "missing_tool"]
    assert missing
    assert not [q for q in missing if "thermostat" in q or "blinds" in q or " lights" in q]


def test_speed(small_examples):
    import time
    start = time.perf_counter()
    n = len(synthesize(SMALL, per_tool=100, seed=9))
    rate = n / (time.perf_counter() - start)
    assert rate > 300, rate                    # >= 500/s measured alone; slack for a busy CI machine


def test_bad_arguments_rejected():
    with pytest.raises(ValueError):
        synthesize(SMALL, no_call_fraction=0.6, parallel_fraction=0.5)
    with pytest.raises(ValueError):
        synthesize([])


# --------------------------------------------------------------------------- user examples

def _write(tmp_path, lines: list[str]) -> Path:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_user_examples_both_formats_and_bad_lines(tmp_path):
    needle_tools = json.dumps([{"name": "book_table",
                                "parameters": {"restaurant": {"type": "string", "required": True}}}])
    lines = [
        json.dumps({"query": "table at Nobu for 4 at 8pm", "calls": [
            {"name": "book_table", "arguments": {"restaurant": "Nobu", "party_size": 4, "time": "8pm"}}]}),
        json.dumps({"query": "menu of Nobu please", "tools": needle_tools,
                    "answers": json.dumps([{"name": "get_menu", "arguments": {"restaurant": "Nobu"}}])}),
        "{not json",
        json.dumps({"query": "order a pizza", "calls": [{"name": "order_pizza", "arguments": {}}]}),
        json.dumps({"query": "table for four", "calls": [
            {"name": "book_table", "arguments": {"restaurant": "Nobu", "party_size": "four", "time": "8pm"}}]}),
        json.dumps({"calls": []}),
        "",
        json.dumps({"query": "how are you?", "answers": "[]"}),
        json.dumps({"query": "desserts at Nobu", "calls": [
            {"name": "get_menu", "arguments": {"restaurant": "Nobu", "course": "cakes"}}]}),
        json.dumps({"query": "cancel", "calls": [{"name": "cancel_table", "arguments": {"restaurant": "Nobu"}}]}),
        json.dumps({"query": "x", "tools": "[oops", "answers": "[]"}),
        json.dumps(["a", "list"]),
    ]
    examples, problems = load_user_examples(_write(tmp_path, lines), SMALL)
    assert [ex["query"] for ex in examples] == ["table at Nobu for 4 at 8pm", "menu of Nobu please", "how are you?"]
    assert all(ex["meta"]["source"] == "user" for ex in examples)
    assert all([t["function"]["name"] for t in ex["tools"]] == ["book_table", "cancel_table", "get_menu"]
               for ex in examples)
    assert examples[1]["calls"] == [{"name": "get_menu", "arguments": {"restaurant": "Nobu"}}]
    assert examples[2]["calls"] == [] and examples[2]["meta"]["kind"] == "no_call"
    by_line = {int(p.split(":")[1]): p for p in problems}
    assert sorted(by_line) == [3, 4, 5, 6, 9, 10, 11, 12]
    assert all(p.startswith(str(tmp_path / "mine.jsonl") + ":") for p in problems)
    assert "not valid JSON" in by_line[3]
    assert "unknown tool 'order_pizza'" in by_line[4]
    assert "tool book_table, parameter party_size" in by_line[5] and "integer" in by_line[5]
    assert 'missing key "query"' in by_line[6]
    assert "tool get_menu, parameter course" in by_line[9]
    assert "tool cancel_table, parameter confirmation" in by_line[10]
    assert '"tools" is a string but not valid JSON' in by_line[11]
    assert "JSON object" in by_line[12]


def test_user_examples_missing_file_raises_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        load_user_examples(tmp_path / "nope.jsonl", SMALL)


# ----------------------------------------------------------------------------------- splits

def _tool_splits(splits) -> dict[str, set[str]]:
    return {name: {c["name"] for ex in part for c in ex["calls"]} for name, part in splits.items()}


def test_splits_disjoint_complete_deterministic_and_stratified(small_examples, tmp_path):
    user, _ = load_user_examples(_write(tmp_path, [json.dumps({"query": f"menu {i} of Nobu", "calls": [
        {"name": "get_menu", "arguments": {"restaurant": "Nobu"}}]}) for i in range(10)]), SMALL)
    everything = small_examples + user
    splits = split_per_tool(everything, seed=0)
    assert set(splits) == {"train", "validation", "test"}
    ids = {name: {id(ex) for ex in part} for name, part in splits.items()}
    assert not ids["train"] & ids["validation"] and not ids["train"] & ids["test"]
    assert not ids["validation"] & ids["test"]
    assert sum(len(p) for p in splits.values()) == len(everything)
    tools = _tool_splits(splits)
    assert tools["train"] == tools["validation"] == tools["test"] == {"book_table", "cancel_table", "get_menu"}
    for name in ("validation", "test"):
        assert any(not ex["calls"] for ex in splits[name])
        assert any(ex["meta"]["source"] == "user" for ex in splits[name])
        assert 0.05 < len(splits[name]) / len(everything) < 0.15
    again = split_per_tool(everything, seed=0)
    assert [[e["query"] for e in again[k]] for k in again] == [[e["query"] for e in splits[k]] for k in splits]
    other = split_per_tool(everything, seed=1)
    assert [e["query"] for e in other["test"]] != [e["query"] for e in splits["test"]]
    single_book = [ex for ex in everything if _called(ex) == {"book_table"} and ex["meta"]["source"] == "synth"]
    in_test = [ex for ex in splits["test"] if _called(ex) == {"book_table"} and ex["meta"]["source"] == "synth"]
    assert abs(len(in_test) / len(single_book) - 0.1) < 0.04


def test_rare_tool_still_reaches_every_split():
    ex = [{"query": f"q{i}", "tools": [], "calls": [{"name": "a", "arguments": {}}], "meta": {}} for i in range(20)]
    rare = [{"query": f"r{i}", "tools": [], "calls": [{"name": "a", "arguments": {"i": i}}, {"name": "z" * (i + 1),
             "arguments": {}}] if i else [{"name": "rare", "arguments": {}}], "meta": {}} for i in range(1)]
    rare += [{"query": f"p{i}", "tools": [], "meta": {},
              "calls": [{"name": "rare", "arguments": {}}, {"name": f"other{i}", "arguments": {}}]} for i in range(2)]
    splits = split_per_tool(ex + rare, seed=0)
    assert all("rare" in tools for tools in _tool_splits(splits).values())
    assert all("a" in tools for tools in _tool_splits(splits).values())


def test_write_and_read_splits(small_examples, tmp_path):
    splits = split_per_tool(small_examples, seed=0)
    paths = write_splits(tmp_path / "run", splits)
    assert {p.name for p in paths.values()} == {"train.jsonl", "validation.jsonl", "test.jsonl"}
    assert all(p.parent == tmp_path / "run" / "data" for p in paths.values())
    assert not list((tmp_path / "run" / "data").glob("*.tmp"))
    back = read_split(paths["validation"])
    assert [(e["query"], e["calls"]) for e in back] == [(e["query"], e["calls"]) for e in splits["validation"]]
    with pytest.raises(ValueError):
        write_splits(tmp_path / "run", {"dev": []})
