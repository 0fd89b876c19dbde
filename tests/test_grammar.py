"""The tool-set grammar: what it accepts, its token mask, and 100% valid answers."""

from __future__ import annotations

import functools
import json
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from grammar_strategies import check_answer, tool_sets
from needle_router.decoding import ConstraintFactory, compile_grammar
from needle_router.decoding.automaton import DEAD, SYM_CALL, SYM_EOS, SYM_NO_CALL
from needle_router.model.decode import Generator, compile_count
from needle_router.render import encoder_input, query_tokens, tool_tokens
from needle_router.tokenizer import default_tokenizer
from needle_router.tokenizer.specials import CALL_ID, EOS_ID, NO_CALL_ID, PAD_ID
from needle_router.tools import assign_internal_names, to_tool_specs

TOK = default_tokenizer()
VOCAB = TOK.vocab_bytes()


class Address(BaseModel):
    street: str
    zip_code: int | None = None


def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: int = 1,
                tags: list[str] | None = None):
    """Weather for a city."""


def send_email(to: str, subject: str, body: str = "", urgent: bool = False, score: float = 0.0):
    """Send an email."""


def ship(address: Address, items: list[Address], note: dict[str, int] | None = None):
    """Ship things."""


FACTORIAL = {"name": "math.factorial", "parameters": {"type": "dict", "properties": {
    "n": {"type": "integer"}, "x": {"type": "any"}}, "required": ["n"]}}
SPECS = assign_internal_names(to_tool_specs([get_weather, send_email, ship, FACTORIAL]))


def accepts(grammar, *parts) -> bool:
    symbols = []
    for p in parts:
        symbols.extend([p] if isinstance(p, int) else p.encode())
    return grammar.step(grammar.start, symbols) == 1  # state 1 is the accepting state


@pytest.fixture(scope="module")
def grammar():
    return compile_grammar(SPECS)


@pytest.mark.parametrize("text", [
    'get_weather{"location":"Paris"}',
    'get_weather{"location":"Pa\\"ris é 東京 🎉","days":-12,"tags":["a","b"]}',
    'get_weather{"location":"x","unit":"fahrenheit","days":0,"tags":[]}',
    'send_email{"to":"a","subject":"b","urgent":true,"score":1.5e-3}',
    'ship{"address":{"street":"Main"},"items":[{"street":"a","zip_code":12},{"street":"b"}]}',
    'ship{"address":{"street":"Main","zip_code":3},"items":[],"note":{"a":1,"b":2}}',
    'math_factorial{"n":5,"x":{"a":[1,2.5,"s",null,true]}}',
    'math_factorial{"n":0,"x":"\\u00e9\\n"}',
])
def test_accepts_valid_calls(grammar, text):
    assert accepts(grammar, SYM_CALL, text, SYM_EOS)


@pytest.mark.parametrize("text", [
    'get_weather{"unit":"celsius"}',  # required key missing
    'get_weather{"location":"x","location":"y"}',  # duplicate key
    'get_weather{"days":1,"location":"x"}',  # schema order
    'get_weather{"location":"Paris","unit":"kelvin"}',  # not in the enum
    'get_weather{"location":"x","days":01}',  # leading zero
    'get_weather{"location":"x","days":1.5}',  # integer
    'get_weather{"location":"x","days":1234567890123456789}',  # more than 18 digits
    'send_email{"to":"a","subject":"b","score":1e999}',  # would be inf
    'get_weather{"location":"x" }',  # whitespace
    'get_weather{"location":"a\nb"}',  # raw control character
    'get_weather{"location":"x","other":1}',  # unknown key
    'send_email{"to":"a","subject":"b","urgent":1}',  # boolean
    'ship{"address":{"zip_code":1},"items":[]}',  # nested required key
    'unknown_tool{}',
    'math.factorial{"n":1}',  # the user's name is not the internal name
])
def test_rejects_invalid_calls(grammar, text):
    assert not accepts(grammar, SYM_CALL, text, SYM_EOS)


def test_rejects_malformed_utf8(grammar):
    bad = [SYM_CALL, *b'get_weather{"location":"', 0xC3, 0x28, *b'"}', SYM_EOS]
    overlong = [SYM_CALL, *b'get_weather{"location":"', 0xE0, 0x80, 0x80, *b'"}', SYM_EOS]
    surrogate = [SYM_CALL, *b'get_weather{"location":"', 0xED, 0xA0, 0x80, *b'"}', SYM_EOS]
    for symbols in (bad, overlong, surrogate):
        assert grammar.step(grammar.start, symbols) != 1


def test_structure(grammar):
    assert accepts(grammar, SYM_NO_CALL, SYM_EOS)
    assert accepts(grammar, SYM_CALL, 'get_weather{"location":"a"}', SYM_CALL, 'math_factorial{"n":1}', SYM_EOS)
    assert not accepts(grammar, SYM_NO_CALL, SYM_CALL, 'get_weather{"location":"a"}', SYM_EOS)
    assert not accepts(grammar, SYM_EOS)
    assert grammar.step(grammar.start_call, [SYM_NO_CALL]) == DEAD


def test_compiled_once_per_tool_set():
    a = compile_grammar(SPECS)
    assert compile_grammar(list(reversed(SPECS))) is a
    assert compile_grammar(SPECS[:2]) is not a


def test_empty_tool_set_only_says_no_call():
    g = compile_grammar([])
    assert accepts(g, SYM_NO_CALL, SYM_EOS)
    assert g.step(g.start, [SYM_CALL]) == DEAD


@functools.partial(jax.jit, static_argnames=("budget",))
def _random_answers(constraint, key, budget):
    """Answers drawn uniformly among the allowed tokens at every step, in one jitted loop."""
    state = constraint.init(constraint.start.shape[0])
    rows = constraint.start.shape[0]

    def body(i, carry):
        state, out, done, key, ok = carry
        key, sub = jax.random.split(key)
        mask = constraint.mask(state)
        ok = ok & (mask.any(axis=1) | done)
        tok = jax.random.categorical(sub, jnp.where(mask, 0.0, -1e30)).astype(jnp.int32)
        tok = jnp.where(done, PAD_ID, tok)
        return constraint.advance(state, tok), out.at[:, i].set(tok), done | (tok == EOS_ID), key, ok

    carry = (state, jnp.full((rows, budget), PAD_ID, jnp.int32), jnp.zeros(rows, bool), key,
             jnp.ones(rows, bool))
    _, out, done, _, ok = jax.lax.fori_loop(0, budget, body, carry)
    return out, done, ok


def _walk(constraint, rows, seed, budget):
    out, done, ok = map(np.asarray, _random_answers(constraint, jax.random.PRNGKey(seed), budget))
    assert ok.all(), "a state with no allowed token"
    assert done[:rows].all(), "the budget guard must end every answer within the budget"
    answers = []
    for r in range(rows):
        toks = out[r].tolist()
        answers.append(toks[: toks.index(EOS_ID)])
    return answers


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tool_sets(), st.integers(0, 2**31 - 1), st.sampled_from([16, 64]))
def test_random_walks_through_the_mask_are_always_valid(specs, seed, budget):
    grammar = compile_grammar(specs)
    factory = ConstraintFactory(grammar, TOK)
    rows = 4
    constraint = factory(None, rows, budget, require_call=[False, True, False, True])
    answers = _walk(constraint, rows, seed, budget)
    for r, tokens in enumerate(answers):
        calls = check_answer(tokens, VOCAB, specs)
        if r % 2 and grammar.dist[grammar.start_call] <= budget:
            assert calls, "require_call rows must call a tool"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tool_sets(max_tools=6), st.integers(0, 3), st.text(min_size=1, max_size=40))
def test_model_outputs_are_always_valid(tiny_scrambled_models, specs, weights, query):
    """Random tool schemas x random model weights -> every answer parses and validates."""
    cfg, params = tiny_scrambled_models[weights]
    gen = Generator(params, cfg)
    grammar = compile_grammar(specs)
    factory = ConstraintFactory(grammar, TOK)
    tools = [tool_tokens(TOK, s) for s in grammar_order(specs, grammar)]
    inputs = [encoder_input(query_tokens(TOK, q), tools) for q in (query, query[::-1] or "x", "call a tool")]
    budget = 48
    results = gen.generate(inputs, max_new_tokens=budget, constraint=factory(None, 4, budget))
    for res in results:
        assert res.finished
        check_answer(res.tokens, VOCAB, specs)


def grammar_order(specs, grammar):
    by_name = {s.internal_name: s for s in specs}
    return [by_name[n] for n in grammar.tool_names]


@pytest.fixture(scope="module")
def tiny_scrambled_models():
    from conftest import scrambled_params
    from needle_router.model import get_config
    return [(get_config("needle-tiny"), scrambled_params("needle-tiny", seed=s)) for s in range(4)]


def test_rows_only_call_their_allowed_tools(tiny_scrambled):
    cfg, params = tiny_scrambled
    gen = Generator(params, cfg)
    grammar = compile_grammar(SPECS)
    factory = ConstraintFactory(grammar, TOK)
    tools = [tool_tokens(TOK, s) for s in grammar_order(SPECS, grammar)]
    inputs = [encoder_input(query_tokens(TOK, f"query {i}"), tools) for i in range(4)]
    allowed = np.zeros((4, grammar.num_tools), bool)
    for r in range(4):
        allowed[r, r] = True  # one tool per row
    answers = _walk(factory(allowed, 4, 64, require_call=[True] * 4), 4, 0, 64)
    answers += [g.tokens for g in gen.generate(inputs, max_new_tokens=64,
                                                constraint=factory(allowed, 4, 64, require_call=[True] * 4))]
    for r, tokens in enumerate(answers):
        calls = check_answer(tokens, VOCAB, SPECS)
        internal = {s.name: s.internal_name for s in SPECS}
        assert calls and all(internal[name] == grammar.tool_names[r % 4] for name, _ in calls)


def test_new_tool_set_with_same_shapes_does_not_recompile(tiny_scrambled):
    cfg, params = tiny_scrambled
    gen = Generator(params, cfg)
    a = assign_internal_names(to_tool_specs([{"name": "alpha", "parameters": {"type": "object", "properties": {
        "x": {"type": "string"}}}}]))
    b = assign_internal_names(to_tool_specs([{"name": "beta", "parameters": {"type": "object", "properties": {
        "y": {"type": "integer"}}}}]))
    ga, gb = compile_grammar(a), compile_grammar(b)
    assert ga.table.shape == gb.table.shape
    req = [encoder_input(query_tokens(TOK, "hi"), [tool_tokens(TOK, a[0])])]
    gen.generate(req, max_new_tokens=32, constraint=ConstraintFactory(ga, TOK)(None, 1, 32))
    before = compile_count()
    out = gen.generate(req, max_new_tokens=32, constraint=ConstraintFactory(gb, TOK)(None, 1, 32))
    assert compile_count() == before
    check_answer(out[0].tokens, VOCAB, b)


def test_tool_sets_of_different_sizes_share_one_program(tiny_scrambled):
    """Small grammars are padded to shared coarse shapes: a new tool set never recompiles."""
    cfg, params = tiny_scrambled
    gen = Generator(params, cfg)
    one = assign_internal_names(to_tool_specs([{"name": "alpha", "parameters": {"type": "object", "properties": {
        "x": {"type": "string"}}}}]))
    grammar_one = compile_grammar(one)
    req = [encoder_input(query_tokens(TOK, "hi"), [tool_tokens(TOK, one[0])])]
    gen.generate(req, max_new_tokens=32, constraint=ConstraintFactory(grammar_one, TOK)(None, 1, 32))
    before = compile_count()
    grammar_all = compile_grammar(SPECS)
    assert grammar_all.table.shape != grammar_one.table.shape and grammar_all.num_tools != 1
    tools = [tool_tokens(TOK, s) for s in grammar_order(SPECS, grammar_all)]
    req = [encoder_input(query_tokens(TOK, "hi"), tools)[:30]]
    out = gen.generate(req, max_new_tokens=32, constraint=ConstraintFactory(grammar_all, TOK)(None, 1, 32))
    assert compile_count() == before
    check_answer(out[0].tokens, VOCAB, SPECS)


def test_special_tokens_are_single_symbols():
    g = compile_grammar(SPECS[:1])
    f = ConstraintFactory(g, TOK)
    c = f(None, 1, 32)
    mask = np.asarray(jax.jit(lambda c, s: c.mask(s))(c, c.init(1)))[0]
    assert set(np.flatnonzero(mask)) == {CALL_ID, NO_CALL_ID}


def test_round_trip_of_target_text(grammar):
    """What the trainer writes (decoding.calls) is what the grammar accepts."""
    from needle_router.decoding import arguments_json, target_tokens
    spec = next(s for s in SPECS if s.internal_name == "ship")
    args = {"items": [{"zip_code": 7, "street": "b"}], "address": {"street": "Main ✓"}}
    ids = target_tokens(TOK, [(spec.internal_name, arguments_json(args, spec.parameters))])
    symbols = []
    for t in ids:
        symbols.extend({CALL_ID: [SYM_CALL], EOS_ID: [SYM_EOS], NO_CALL_ID: [SYM_NO_CALL]}.get(t, list(VOCAB[t])))
    assert grammar.step(grammar.start, symbols) == 1
    assert json.loads(arguments_json(args, spec.parameters))["items"][0] == {"street": "b", "zip_code": 7}
