"""Route each request of a query that asks for several things on its own.

A small model asked "rate Marufuku 5 stars and split the $138 bill between 3 of us" often makes
one call, or the same tool twice, where each clause alone gets the right tool. So the router
also routes the query's clauses (:func:`needle_router.clauses.request_clauses`) and answers
with their calls in order when at least two clauses call something and between them they name
at least two different tools. Otherwise the whole query's answer stands: clauses that all call
one tool are more often one request split in two ("with potatoes and chicken thighs, find
recipes") than two requests of the same tool.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def _key(call: Any) -> str:
    return json.dumps([call.name, call.arguments], sort_keys=True, ensure_ascii=False, default=str)


def clause_calls(per_clause: Sequence[Sequence[Any]]) -> list[Any] | None:
    """The clauses' calls in order (a call two clauses repeat once), or None when the whole
    query's answer should stand: fewer than two clauses call, or all call the same tool."""
    if sum(1 for calls in per_clause if calls) < 2:
        return None
    out, seen = [], set()
    for calls in per_clause:
        for call in calls:
            key = _key(call)
            if key not in seen:
                seen.add(key)
                out.append(call)
    return out if len({c.name for c in out}) >= 2 else None
