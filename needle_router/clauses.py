"""Split a query that asks for several things into its clauses, for retrieval.

With many tools bound, "book a table at Nopa for two, also text Sam I'm late" needs two tools,
but one embedding and one word-overlap score of the whole query favour whichever request
dominates it. The router also scores each clause on its own and ranks a tool by its best score
over the whole query and its clauses (:func:`needle_router.lexical.fuse_clauses`), so every
request in the query can reach the shortlist. The cues are plain English joiners, not any
registry's words.
"""

from __future__ import annotations

import re

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
    parts = [p.strip(" ,.;&?!") for p in _BREAK.split(query)]
    parts = [p for p in parts if terms(p)]
    return parts[:MAX_CLAUSES] if len(parts) > 1 else []
