"""Split a query that asks for several things into its clauses, for retrieval and routing.

With many tools bound, "book a table at Nopa for two, also text Sam I'm late" needs two tools,
but one embedding and one word-overlap score of the whole query favour whichever request
dominates it. The router also scores each clause on its own and ranks a tool by its best score
over the whole query and its clauses (:func:`needle_router.lexical.fuse_clauses`), so every
request in the query can reach the shortlist. The cues are plain English joiners, not any
registry's words. For routing each request on its own (:mod:`needle_router.parallel`), a
query also splits at "and" or a comma before a verb that starts a bound tool's name ("... and
add eggs to my list" with ``add_to_grocery_list`` bound).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from needle_router.lexical import terms

#: most clauses scored per query; the rest stay only in the whole query's score
MAX_CLAUSES = 6

_BREAK = re.compile(
    r"[.;!?]+\s+"                                          # sentence ends
    r"|\s*,\s*(?=(?:and|then|also|plus|but)\b)"            # ", and ...", ", also ..."
    r"|\s+(?=(?:and\s+then|then|also|plus|as\s+well\s+as)\b)"  # "... and then ...", "... also ..."
    r"|\s+&\s+"
    r"|\s+and\s+(?=(?:can|could|would|will|please|i|i'd|i'm|what|what's|how|is|are|show|tell|find|"
    r"set|get|make|send|check|book)\b)",                    # "... and can you ...", "... and show ..."
    re.IGNORECASE)


def clauses(query: str) -> list[str]:
    """The query's clauses when it has more than one (each holding a content word), else []."""
    return _kept([p.strip(" ,.;&?!") for p in _BREAK.split(query)])


def _kept(parts: list[str]) -> list[str]:
    """The parts holding a content word, at most :data:`MAX_CLAUSES`; [] unless two or more."""
    parts = [p for p in parts if terms(p)]
    return parts[:MAX_CLAUSES] if len(parts) > 1 else []


_LEADING_JOINER = re.compile(r"^(?:and\s+then|and|also|then|plus)\s+", re.IGNORECASE)
_NAME_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def tool_verbs(names: Iterable[str]) -> frozenset[str]:
    """The first word of each tool name, lower case, when it is a word of 3+ letters ("add" of
    ``add_to_grocery_list``, "get" of ``getWeather``)."""
    out = set()
    for name in names:
        first = _NAME_WORD.search(name)
        if first and first.start() == 0 and len(first.group()) >= 3:
            out.add(first.group().lower())
    return frozenset(out)


def request_clauses(query: str, verbs: Iterable[str] = ()) -> list[str]:
    """The query's clauses (:func:`clauses`), also split at "and" or a comma before one of
    ``verbs``, without a leading joiner ("and", "also", "then", "plus"); [] for one clause."""
    parts = [p.strip(" ,.;&?!") for p in _BREAK.split(query)]
    verbs = sorted(v for v in verbs if v.isalpha())
    if verbs:
        words = "|".join(map(re.escape, verbs))
        before_verb = re.compile(rf"\s+and\s+(?=(?:{words})\b)|\s*,\s*(?=(?:{words})\b)", re.IGNORECASE)
        parts = [q.strip(" ,.;&?!") for p in parts for q in before_verb.split(p)]
    return _kept([_LEADING_JOINER.sub("", p) for p in parts])
