"""The tool prior: the query's retrieval match with each tool added to the tool name's logits
while decoding under the grammar. A whole name gets its tool's prior less the best allowed
one's, whatever tokens spell it; nothing outside the name moves."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grammar_strategies import check_answer
from needle_router import NeedleRouter
from needle_router.decoding import ConstraintFactory, compile_grammar
from needle_router.model.decode import Generator
from needle_router.render import encoder_input, query_tokens, tool_tokens
from needle_router.tokenizer import default_tokenizer
from needle_router.tokenizer.specials import EOS_ID, PAD_ID
from needle_router.tools import assign_internal_names, to_tool_specs

TOK = default_tokenizer()
VOCAB = TOK.vocab_bytes()


def _tool(name: str, param: str = "x", kind: str = "string") -> dict:
    return {"name": name, "description": f"{name.replace('_', ' ')}.",
            "parameters": {"type": "object", "properties": {param: {"type": kind}}, "required": [param]}}


# names that share prefixes, so the trie branches part-way through a name
SPECS = assign_internal_names(to_tool_specs([_tool("get_weather", "city"), _tool("get_time", "zone"),
                                             _tool("get_news", "topic"), _tool("set_alarm", "minutes", "integer")]))
GRAMMAR = compile_grammar(SPECS)
INDEX = {s.name: GRAMMAR.tool_names.index(s.internal_name) for s in SPECS}


@functools.partial(jax.jit, static_argnames=("budget",))
def _walk_summing_bias(constraint, key, budget):
    """Random answers through the mask, with the sum of the offsets of the tokens chosen."""
    rows = constraint.start.shape[0]

    def body(i, carry):
        state, out, done, key, total = carry
        key, sub = jax.random.split(key)
        mask, bias = constraint.mask_and_bias(state)
        tok = jax.random.categorical(sub, jnp.where(mask, 0.0, -1e30)).astype(jnp.int32)
        tok = jnp.where(done, PAD_ID, tok)
        got = jnp.take_along_axis(bias, tok[:, None], axis=1)[:, 0]
        total = total + jnp.where(done, 0.0, got)
        return constraint.advance(state, tok), out.at[:, i].set(tok), done | (tok == EOS_ID), key, total

    carry = (constraint.init(rows), jnp.full((rows, budget), PAD_ID, jnp.int32), jnp.zeros(rows, bool), key,
             jnp.zeros(rows, jnp.float32))
    _, out, done, _, total = jax.lax.fori_loop(0, budget, body, carry)
    return out, done, total


@pytest.mark.parametrize("seed", range(6))
def test_a_name_gets_its_tools_prior_less_the_best_allowed(seed):
    rng = np.random.default_rng(seed)
    rows = 8
    prior = rng.normal(0, 3, (rows, GRAMMAR.num_tools)).astype(np.float32)
    allowed = rng.random((rows, GRAMMAR.num_tools)) < 0.75
    allowed[np.arange(rows), rng.integers(0, GRAMMAR.num_tools, rows)] = True
    constraint = ConstraintFactory(GRAMMAR, TOK)(allowed, rows, 64, require_call=[True] * rows, prior=prior)
    out, done, total = map(np.asarray, _walk_summing_bias(constraint, jax.random.PRNGKey(seed), 64))
    for r in range(rows):
        assert done[r]
        tokens = out[r].tolist()
        calls = check_answer(tokens[: tokens.index(EOS_ID)], VOCAB, SPECS)
        assert calls
        best = prior[r][allowed[r]].max()
        expected = sum(prior[r, INDEX[name]] - best for name, _ in calls)
        assert total[r] == pytest.approx(expected, abs=1e-4)


def test_without_a_prior_nothing_is_shifted():
    constraint = ConstraintFactory(GRAMMAR, TOK)(None, 2, 64)
    assert not constraint.has_prior
    _, bias = constraint.mask_and_bias(constraint.init(2))
    assert bias is None


def test_a_strong_prior_decides_the_tool_and_an_even_one_changes_nothing(tiny_scrambled):
    """Real forward passes of the tiny model: +40 logits on one tool's name makes every row
    call it; the same prior for every tool leaves the answers token for token as without."""
    cfg, params = tiny_scrambled
    gen = Generator(params, cfg)
    factory = ConstraintFactory(GRAMMAR, TOK)
    tools = [tool_tokens(TOK, s) for s in sorted(SPECS, key=lambda s: s.internal_name)]
    inputs = [encoder_input(query_tokens(TOK, q), tools) for q in ("wake me at 7", "news please", "time in Oslo")]
    batch = 4                                   # the generator's batch bucket for three rows
    plain = gen.generate(inputs, max_new_tokens=64, constraint=factory(None, batch, 64, require_call=[True] * batch))
    even = gen.generate(inputs, max_new_tokens=64, constraint=factory(
        None, batch, 64, require_call=[True] * batch, prior=np.full((batch, GRAMMAR.num_tools), 2.5, np.float32)))
    assert [g.tokens for g in even] == [g.tokens for g in plain]
    for target in ("get_news", "set_alarm"):
        prior = np.zeros((batch, GRAMMAR.num_tools), np.float32)
        prior[:, INDEX[target]] = 40.0
        pushed = gen.generate(inputs, max_new_tokens=64, constraint=factory(
            None, batch, 64, require_call=[True] * batch, prior=prior))
        for g in pushed:
            calls = check_answer(g.tokens, VOCAB, SPECS)
            assert calls and calls[0][0] == target


def test_router_rejects_a_bad_tool_prior():
    for bad in (-1.0, "3", True, 1e6):
        with pytest.raises(ValueError, match="tool_prior"):
            NeedleRouter([_tool("get_weather", "city")], model="needle-tiny", tool_prior=bad)


def test_router_calls_the_tool_retrieval_ranks_first_under_a_heavy_prior(tiny_scrambled):
    """End to end through the engine and batcher: with a heavy prior every request calls the
    tool its fused retrieval score (head and BM25 over the query and its clauses) ranks first,
    so the scores reach the right row, in grammar order."""
    from needle_router.engine import Engine, Request
    from needle_router.model.loading import LoadedModel

    cfg, params = tiny_scrambled
    engine = Engine(LoadedModel(params, cfg, "test:scrambled", True, {}))
    tools = [_tool("get_weather", "city"), _tool("get_time", "zone"), _tool("set_alarm", "minutes", "integer"),
             _tool("get_news", "topic")]
    heavy = NeedleRouter(tools, model=engine, tool_prior=60.0, max_new_tokens=64)
    binding = heavy._binding
    firsts = set()
    for query in ("set alarm for 5", "weather in Oslo please", "what time is it in zone UTC", "news about cats",
                  "hello there", "alarm then weather"):
        request = Request(binding, TOK.encode(query), text=query)
        first = binding.specs[int(np.argmax(engine.tool_scores(binding, [request])[0]))].name
        firsts.add(first)
        result = heavy.route_sync(query, require_call=True)
        assert result.calls and result.calls[0].name == first, (query, result.calls)
    assert len(firsts) >= 2          # the scores differ by query, so the check means something


def test_routers_with_and_without_a_prior_share_one_decode_program(tiny_scrambled):
    """One tool (no prior to give), several tools with the prior, several with it turned off:
    the same decode program serves them all, so a router never compiles for its prior."""
    from needle_router.engine import Engine
    from needle_router.model.decode import compile_count
    from needle_router.model.loading import LoadedModel

    cfg, params = tiny_scrambled
    engine = Engine(LoadedModel(params, cfg, "test:scrambled", True, {}))
    one = NeedleRouter([_tool("get_weather", "city")], model=engine, max_new_tokens=64)
    many = NeedleRouter([_tool("get_weather", "city"), _tool("get_time", "zone")], model=engine, max_new_tokens=64)
    off = NeedleRouter([_tool("get_news", "topic"), _tool("get_time", "zone")], model=engine, max_new_tokens=64,
                       tool_prior=0)
    one.route_sync("weather in Oslo", require_call=True)
    before = compile_count()
    for router in (many, off, one):
        router.route_sync("time in Oslo", require_call=True)
    assert compile_count() == before


@pytest.mark.parametrize("prior", [0.0, None])
def test_each_query_is_embedded_once_per_route(tiny_scrambled, prior):
    """With the match decision, retrieval (more tools than ``top_k``) and the prior on or off,
    the query is embedded once per route and read by the decision's match, the prior and the
    shortlist alike."""
    from needle_router.engine import Engine
    from needle_router.model.loading import LoadedModel

    cfg, params = tiny_scrambled
    decision = {"no_call_bias": -20.0, "dense_weight": -1.0, "lexical_weight": -0.1}
    engine = Engine(LoadedModel(params, cfg, "test:scrambled", True, {"extra": {"decision": decision}}))
    assert engine.decision.uses_match
    tools = [_tool("get_weather", "city"), _tool("get_time", "zone"), _tool("set_alarm", "minutes", "integer"),
             _tool("get_news", "topic")]
    router = NeedleRouter(tools, model=engine, top_k=2, tool_prior=prior, max_new_tokens=32)
    query = "weather in Oslo please"
    router.route_sync(query)                      # the tools' embeddings are cached after this
    embedded = []
    real = engine.embed
    engine.embed = lambda token_lists: embedded.extend(map(tuple, token_lists)) or real(token_lists)
    router.route_sync(query)
    assert embedded.count(tuple(query_tokens(TOK, query))) == 1, embedded
