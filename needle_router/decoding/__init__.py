"""Constrained decoding: the answer format, the grammar compiled from a tool set, its token mask."""

from needle_router.decoding.automaton import GrammarError
from needle_router.decoding.calls import (
    OUTPUT_FORMAT_VERSION,
    OutputParseError,
    RawCall,
    arguments_json,
    parse_call,
    split_calls,
    target_tokens,
)
from needle_router.decoding.grammar import ConstraintFactory, Grammar, GrammarConstraint, compile_grammar

__all__ = [
    "OUTPUT_FORMAT_VERSION",
    "ConstraintFactory",
    "Grammar",
    "GrammarConstraint",
    "GrammarError",
    "OutputParseError",
    "RawCall",
    "arguments_json",
    "compile_grammar",
    "parse_call",
    "split_calls",
    "target_tokens",
]
