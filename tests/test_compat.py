"""The original-Needle-compatible API: load_checkpoint, SimpleAttentionNetwork, get_tokenizer, generate."""

import json
import warnings

import numpy as np
import pytest

import needle_router
from needle_router import (
    QueryError,
    SimpleAttentionNetwork,
    ToolSpecError,
    generate,
    get_tokenizer,
    load_checkpoint,
)
from needle_router import compat
from needle_router.decoding.calls import target_tokens
from needle_router.model import Needle
from needle_router.model.weights import WeightsError, flatten_params, save_weights
from needle_router.tokenizer.specials import EOS_ID

BUDGET = 32  # one new-token bucket for every decode here: one compilation per input shape

FLAT_TOOLS = json.dumps([
    {"name": "get_weather", "description": "Current weather for a city.",
     "parameters": {"location": {"type": "string", "description": "City name", "required": True},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "required": False}}},
    {"name": "math.factorial", "description": "The factorial of n.",
     "parameters": {"n": {"type": "integer", "description": "A non-negative integer", "required": True}}},
])

SCHEMA_TOOLS = [
    {"name": "math.factorial", "description": "The factorial of n.",
     "parameters": {"type": "object",
                    "properties": {"n": {"type": "integer", "description": "A non-negative integer"}},
                    "required": ["n"]}},
]


@pytest.fixture(scope="module")
def tiny():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        params, config = load_checkpoint("needle-tiny")
    return SimpleAttentionNetwork(config), params, get_tokenizer()


@pytest.fixture
def must_call(monkeypatch):
    """Random weights may well answer "no call"; forbid it (through the grammar's own
    require-call start state) so the call path is exercised deterministically."""

    class MustCall(compat.ConstraintFactory):
        def __call__(self, allowed_tools, batch, budget, require_call=None):
            return super().__call__(allowed_tools, batch, budget, [True] * batch)

    monkeypatch.setattr(compat, "ConstraintFactory", MustCall)


def test_exports():
    for name in ("SimpleAttentionNetwork", "load_checkpoint", "get_tokenizer", "generate"):
        assert name in needle_router.__all__
    assert issubclass(SimpleAttentionNetwork, Needle)
    assert get_tokenizer() is get_tokenizer()


def test_load_checkpoint_preset_warns_untrained_and_applies():
    with pytest.warns(UserWarning, match="UNTRAINED"):
        params, config = load_checkpoint("needle-tiny")
    assert config.name == "needle-tiny"
    model = SimpleAttentionNetwork(config)
    enc = np.array([[20, 21, 22, 4, 5, 30]], np.int32)
    dec = np.array([[2, 6, 40]], np.int32)
    logits, emb = model.apply({"params": params}, enc, dec)
    assert logits.shape == (1, 3, config.vocab_size)
    assert emb.shape == (1, config.retrieval_dim)


def test_load_checkpoint_from_weights_dir(tmp_path, tiny):
    _, params, _ = tiny
    config = tiny[0].cfg
    save_weights(tmp_path / "w", params, config, quant="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # trained (not flagged untrained): no warning
        loaded, loaded_config = load_checkpoint(tmp_path / "w")
    assert loaded_config == config
    want, got = flatten_params(params), flatten_params(loaded)
    assert set(want) == set(got)
    for key in want:
        np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(want[key]))

    save_weights(tmp_path / "u", params, config, quant="int8", extra_metadata={"untrained": True})
    with pytest.warns(UserWarning, match="UNTRAINED"):
        load_checkpoint(str(tmp_path / "u"))
    with pytest.raises(WeightsError):
        load_checkpoint(tmp_path / "missing")


def _check_answer(text, tools_by_name):
    calls = json.loads(text)
    assert isinstance(calls, list)
    for call in calls:
        assert set(call) == {"name", "arguments"}
        spec = tools_by_name[call["name"]]  # the user's name, never the internal one
        assert spec.validate_arguments(call["arguments"], fill_defaults=False) == call["arguments"]
    return calls


def test_generate_flat_tools_string(tiny, must_call):
    model, params, tok = tiny
    specs = {s.name: s for s in compat.parse_tools(FLAT_TOOLS)}
    text = generate(model, params, tok, query="What's the weather in Paris?", tools=FLAT_TOOLS,
                    stream=False, max_new_tokens=BUDGET)
    assert isinstance(text, str)
    calls = _check_answer(text, specs)
    assert calls and all(c["name"] in ("get_weather", "math.factorial") for c in calls)
    assert text == json.dumps(calls, ensure_ascii=False)
    pieces = list(generate(model, params, tok, query="What's the weather in Paris?", tools=FLAT_TOOLS,
                           stream=True, max_new_tokens=BUDGET))
    assert pieces[0] == "[" and pieces[-1] == "]" and len(pieces) == len(calls) + 2
    assert "".join(pieces) == text


def test_generate_json_schema_list_keeps_dotted_name(tiny, must_call):
    model, params, tok = tiny
    specs = {s.name: s for s in compat.parse_tools(SCHEMA_TOOLS)}
    assert specs["math.factorial"].internal_name == "math_factorial"
    text = generate(model, params, tok, query="what is 5 factorial", tools=SCHEMA_TOOLS, max_new_tokens=BUDGET)
    calls = _check_answer(text, specs)
    assert calls and {c["name"] for c in calls} == {"math.factorial"}
    assert all(isinstance(c["arguments"]["n"], int) for c in calls)
    assert "".join(generate(model, params, tok, query="what is 5 factorial", tools=SCHEMA_TOOLS,
                            stream=True, max_new_tokens=BUDGET)) == text


def test_generate_without_must_call_and_unconstrained_give_valid_lists(tiny):
    model, params, tok = tiny
    specs = {s.name: s for s in compat.parse_tools(FLAT_TOOLS)}
    _check_answer(generate(model, params, tok, "weather in Paris", FLAT_TOOLS, max_new_tokens=BUDGET), specs)
    text = generate(model, params, tok, "weather in Paris", FLAT_TOOLS, max_new_tokens=BUDGET, constrained=False)
    _check_answer(text, specs)


def test_empty_tools(tiny):
    model, params, tok = tiny
    for tools in ("[]", [], None):
        assert generate(model, params, tok, query="hello there", tools=tools, max_new_tokens=BUDGET) == "[]"
    assert list(generate(model, params, tok, query="hello there", tools="[]", stream=True,
                         max_new_tokens=BUDGET)) == ["[", "]"]


def test_bad_input_errors(tiny):
    model, params, tok = tiny
    with pytest.raises(ValueError, match=r"not valid JSON: .* line 1 column 3 \(char 2\)"):
        generate(model, params, tok, query="hi", tools='[{')
    # Input errors come from the call itself, not from the first next() of the stream.
    with pytest.raises(ValueError, match="not valid JSON"):
        generate(model, params, tok, query="hi", tools='[{"name": }]', stream=True)
    with pytest.raises(ToolSpecError, match=r"tool 'get_weather' \(tools\[0\]\), parameter 'location'"):
        compat.parse_tools('[{"name": "get_weather", "parameters": {"location": "string"}}]')
    with pytest.raises(ToolSpecError, match=r"tool 'lookup' \(tools\[1\]\)"):
        compat.parse_tools([{"name": "ok"}, {"name": "lookup", "parameters": ["query"]}])
    with pytest.raises(ToolSpecError, match=r"tools\[0\]"):
        compat.parse_tools('["get_weather"]')
    with pytest.raises(ToolSpecError, match="JSON list"):
        compat.parse_tools("42")
    with pytest.raises(QueryError):
        generate(model, params, tok, query="   ", tools=FLAT_TOOLS)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, params, tok, query="hi", tools=FLAT_TOOLS, max_new_tokens=4)
    with pytest.raises(TypeError, match="model"):
        generate(object(), params, tok, query="hi", tools=FLAT_TOOLS)


def test_flat_and_schema_declarations_give_the_same_spec():
    flat = compat.parse_tools(FLAT_TOOLS)
    schema = compat.parse_tools([
        {"name": "get_weather", "description": "Current weather for a city.",
         "parameters": {"type": "object",
                        "properties": {"location": {"type": "string", "description": "City name"},
                                       "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                        "required": ["location"]}},
        {"type": "function", "function": {  # OpenAI wrapper around flat parameters
            "name": "math.factorial", "description": "The factorial of n.",
            "parameters": {"n": {"type": "integer", "description": "A non-negative integer", "required": True}}}},
    ])
    assert flat == schema
    assert flat[0].required == ["location"] and flat[1].required == ["n"]
    # Flat parameters that happen to be called "type", "properties" or "required".
    odd = compat.parse_tools([{"name": "t", "parameters": {
        "type": {"type": "string", "required": True},
        "properties": {"type": "string"},
        "required": {"type": "boolean"}}}])[0]
    assert list(odd.parameters["properties"]) == ["type", "properties", "required"]
    assert odd.required == ["type"]
    assert compat.parse_tools({"name": "solo", "parameters": {}})[0].name == "solo"


def test_answer_tokens_to_json_uses_user_names(tiny):
    _, _, tok = tiny
    specs = compat.parse_tools(FLAT_TOOLS)
    tokens = target_tokens(tok, [("math_factorial", '{"n":5}'), ("get_weather", '{"location":"Zürich"}')])
    assert tokens[-1] == EOS_ID  # the decoder output excludes it
    calls = compat._calls(tokens[:-1], specs, tok)
    text = "".join(compat._pieces(calls))
    assert text == '[{"name": "math.factorial", "arguments": {"n": 5}}, ' \
                   '{"name": "get_weather", "arguments": {"location": "Zürich"}}]'
    # Unknown tools and invalid arguments (possible only unconstrained) are dropped.
    bad = target_tokens(tok, [("nope", '{"n":5}'), ("math_factorial", '{"n":"x"}')])
    assert compat._calls(bad[:-1], specs, tok) == []
    assert "".join(compat._pieces([{"name": "x", "arguments": {"v": float("inf")}}])) == "[]"
