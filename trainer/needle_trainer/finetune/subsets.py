"""Training examples shown with part of the registry, so more of them fit in a step.

An example's encoder input holds the whole registry (about 1,400 tokens for 11 tools), so a
packed row holds one example, and a 20-minute fine-tune on this CPU sees each training example
less than once. Shown a random part of the registry (always with the tools its answer calls),
two or three examples share a row at the same cost per step.

The answer stays right: dropping a tool the answer does not call cannot make a call wrong, nor
make a "no call" answer wrong. Look-alike pairs (``confusable`` examples) keep the whole
registry, and validation and test examples are never changed: the router shows the registry
whole.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from needle_trainer.evaluation.retrieval import tool_name


def with_tool_subsets(examples: Sequence[dict[str, Any]], share: float, seed: int) -> list[dict[str, Any]]:
    """``examples`` with about ``share`` of them shown 2 to half of their tools (their answer's
    tools included); deterministic for a seed."""
    if not 0 <= share <= 1:
        raise ValueError(f"tool subset share must be in [0, 1], got {share}")
    rng = random.Random(f"tool-subsets:{seed}")
    out = []
    for example in examples:
        tools = list(example["tools"])
        called = {c["name"] for c in example["calls"]}
        if rng.random() >= share or len(tools) < 4 or (example.get("meta") or {}).get("kind") == "confusable":
            out.append(example)
            continue
        others = [t for t in tools if tool_name(t) not in called]
        shown = rng.randint(2, max(2, len(tools) // 2))
        n_others = max(0, min(len(others), shown - (len(tools) - len(others))))
        kept = {id(t) for t in rng.sample(others, n_others)}
        out.append({**example, "tools": [t for t in tools if tool_name(t) in called or id(t) in kept]})
    return out
