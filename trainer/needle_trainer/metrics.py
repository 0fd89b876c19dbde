"""Routing metrics (DESIGN.md section 9): expected vs predicted calls, per example and summed.

Calls are compared as multisets (order-independent): a call is its tool name plus its
arguments in canonical JSON. Per example:

* exact match: the same multiset of calls (no call vs no call included);
* tool-name F1 and call F1 over multisets of names / whole calls;
* argument accuracy: expected arguments reproduced exactly, over all expected arguments of calls
  paired by tool name; value accuracy: the same over string values only;
* hallucinated / missing parameters: predicted keys the expected call lacks, and the reverse;
* schema validity: every predicted call validates against its tool's schema;
* no-call accuracy on examples whose answer is no call; false no-call on the others.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

Call = Mapping[str, Any]        # {"name": str, "arguments": {...}}


def _canonical(value: Any) -> Any:
    """JSON's -80 and -80.0 are one number: a "number" parameter may come back as either."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _key(call: Call) -> str:
    return json.dumps([call["name"], _canonical(call.get("arguments") or {})], sort_keys=True, ensure_ascii=False)


def _f1(expected: Counter, predicted: Counter) -> float:
    if not expected and not predicted:
        return 1.0
    hit = sum((expected & predicted).values())
    if hit == 0:
        return 0.0
    p, r = hit / sum(predicted.values()), hit / sum(expected.values())
    return 2 * p * r / (p + r)


def _pair_by_name(expected: Sequence[Call], predicted: Sequence[Call]) -> list[tuple[Call, Call | None]]:
    """Each expected call with the unused predicted call of the same name sharing most arguments."""
    pool = list(predicted)
    out = []
    for e in expected:
        same = [p for p in pool if p["name"] == e["name"]]
        if not same:
            out.append((e, None))
            continue
        ea = e.get("arguments") or {}
        best = max(same, key=lambda p: sum(1 for k, v in (p.get("arguments") or {}).items() if ea.get(k) == v))
        pool.remove(best)
        out.append((e, best))
    return out


@dataclass
class Scores:
    """Sums over examples; :meth:`summary` turns them into percentages."""

    n: int = 0
    exact: int = 0
    name_f1: float = 0.0
    call_f1: float = 0.0
    args_total: int = 0
    args_right: int = 0
    values_total: int = 0
    values_right: int = 0
    hallucinated: int = 0
    missing: int = 0
    calls_predicted: int = 0
    calls_valid: int = 0
    no_call_n: int = 0
    no_call_right: int = 0
    call_n: int = 0
    false_no_call: int = 0
    latency_ms: list[float] = field(default_factory=list)

    def add(self, expected: Sequence[Call], predicted: Sequence[Call], valid: Sequence[bool] | None = None,
            latency_ms: float | None = None) -> bool:
        """Score one example; returns whether it was an exact match."""
        self.n += 1
        exact = Counter(map(_key, expected)) == Counter(map(_key, predicted))
        self.exact += exact
        self.name_f1 += _f1(Counter(c["name"] for c in expected), Counter(c["name"] for c in predicted))
        self.call_f1 += _f1(Counter(map(_key, expected)), Counter(map(_key, predicted)))
        for e, p in _pair_by_name(expected, predicted):
            ea, pa = e.get("arguments") or {}, (p or {}).get("arguments") or {}
            self.args_total += len(ea)
            self.args_right += sum(1 for k, v in ea.items() if k in pa and pa[k] == v)
            strings = [k for k, v in ea.items() if isinstance(v, str)]
            self.values_total += len(strings)
            self.values_right += sum(1 for k in strings if pa.get(k) == ea[k])
            if p is not None:
                self.hallucinated += len(set(pa) - set(ea))
                self.missing += len(set(ea) - set(pa))
        self.calls_predicted += len(predicted)
        self.calls_valid += sum(valid) if valid is not None else len(predicted)
        if expected:
            self.call_n += 1
            self.false_no_call += not predicted
        else:
            self.no_call_n += 1
            self.no_call_right += not predicted
        if latency_ms is not None:
            self.latency_ms.append(latency_ms)
        return exact

    def merge(self, other: "Scores") -> None:
        """Add ``other``'s sums to these (per-category scores -> the total)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def summary(self) -> dict[str, float]:
        pct = lambda a, b: 100.0 * a / b if b else float("nan")  # noqa: E731
        out = {
            "exact_match": pct(self.exact, self.n),
            "tool_name_f1": pct(self.name_f1, self.n),
            "call_f1": pct(self.call_f1, self.n),
            "argument_accuracy": pct(self.args_right, self.args_total),
            "value_accuracy": pct(self.values_right, self.values_total),
            "schema_validity": pct(self.calls_valid, self.calls_predicted) if self.calls_predicted else 100.0,
            "no_call_accuracy": pct(self.no_call_right, self.no_call_n),
            "false_no_call": pct(self.false_no_call, self.call_n),
            "hallucinated_params_per_call": self.hallucinated / max(self.calls_predicted, 1),
            "missing_params_per_call": self.missing / max(self.calls_predicted, 1),
        }
        if self.latency_ms:
            lat = sorted(self.latency_ms)
            out["latency_p50_ms"] = lat[len(lat) // 2]
            out["latency_p95_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        return out
