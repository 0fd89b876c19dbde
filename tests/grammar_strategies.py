"""Hypothesis strategies: random tool schemas, and a checker that an answer is valid."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from needle_router.decoding import OutputParseError, parse_call, split_calls
from needle_router.tools import assign_internal_names, to_tool_specs

_KEY_CHARS = string.ascii_letters + string.digits + "_-. é"
keys = st.text(_KEY_CHARS, min_size=1, max_size=8).filter(lambda k: k.strip() == k and k.strip())
scalar_values = st.one_of(
    st.text(string.ascii_letters + " é\"\\\n", max_size=6),
    st.integers(-1000, 1000),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.booleans(),
)


def _enum():
    return st.lists(scalar_values, min_size=1, max_size=4, unique_by=lambda v: (type(v).__name__, repr(v))).map(
        lambda vs: {"enum": vs})


def _leaf():
    return st.one_of(
        st.sampled_from([{"type": t} for t in ("string", "integer", "number", "boolean")]),
        _enum(),
        st.just({"type": "any"}),
    )


def _object(children):
    return st.lists(st.tuples(keys, children, st.booleans()), min_size=0, max_size=4,
                    unique_by=lambda t: t[0]).map(
        lambda props: {"type": "object",
                       "properties": {k: s for k, s, _ in props},
                       "required": [k for k, _, r in props if r]})


def _extend(children):
    return st.one_of(
        children.map(lambda c: {"type": "array", "items": c}),
        _object(children),
        st.lists(children, min_size=2, max_size=3).map(lambda cs: {"anyOf": cs}),
        children.map(lambda c: {"type": "object", "additionalProperties": c}),
    )


schemas = st.recursive(_leaf(), _extend, max_leaves=6)
tool_names = st.text(string.ascii_letters + string.digits + "_.- ", min_size=1, max_size=12).filter(
    lambda s: s.strip())


@st.composite
def tool_sets(draw, max_tools: int = 4):
    names = draw(st.lists(tool_names, min_size=1, max_size=max_tools, unique=True))
    tools = []
    for name in names:
        props = draw(st.lists(st.tuples(keys, schemas, st.booleans()), max_size=4, unique_by=lambda t: t[0]))
        tools.append({
            "name": name,
            "description": f"tool {name}",
            "parameters": {"type": "object",
                           "properties": {k: s for k, s, _ in props},
                           "required": [k for k, _, r in props if r]},
        })
    return assign_internal_names(to_tool_specs(tools))


def check_answer(tokens, vocab_bytes, specs) -> list[tuple[str, dict]]:
    """Parse and validate an answer; raise AssertionError with the text when it is not valid."""
    by_internal = {s.internal_name: s for s in specs}
    text = b"".join(vocab_bytes[t] for t in tokens)
    try:
        no_call, raw_calls = split_calls(tokens, vocab_bytes)
        assert no_call != bool(raw_calls), f"answer must be either no call or calls: {text!r}"
        out = []
        for raw in raw_calls:
            call = parse_call(raw)
            spec = by_internal[call.internal_name]
            out.append((spec.name, spec.validate_arguments(call.arguments, fill_defaults=False)))
        return out
    except (OutputParseError, KeyError, ValueError) as exc:
        raise AssertionError(f"invalid answer {text!r}: {exc}") from exc
