"""Route many (query, tools) items through the real router, concurrently.

Every item gets its own :class:`~needle_router.NeedleRouter` (its own tool set and grammar) on
one shared engine; the engine's micro-batcher decodes items of different tool sets together,
so an evaluation runs at batched throughput while each answer is exactly what a user's router
would return. Items are submitted in order of input size so a batch pads little.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from needle_router import NeedleRouter
from needle_router.calibration import Calibration
from needle_router.engine import Engine
from needle_router.tools.errors import ToolSpecError


@dataclass
class Prediction:
    """What the router answered for one item (``error``: the tool set could not be bound)."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    confidence: float = 0.0
    compute_ms: float | None = None  # model time (its batch's decode), not time queued behind others
    output_tokens: int = 0
    error: str | None = None
    no_call_probability: float | None = None  # at the decision step (None: no choice was made)
    tool_match: tuple[float, float] | None = None  # (cosine, BM25) of the best bound tool, when asked


def _size(item: Mapping[str, Any]) -> int:
    return len(item["query"]) + len(json.dumps(item["tools"], ensure_ascii=False))


def default_batch() -> int:
    """Most requests decoded together: 1 on a CPU, where a batch costs about as much as its rows
    one by one and waits for its longest answer (benchmarks/bench_eval.py: 6.3 vs 4.1 entries/s
    at max_batch 1 vs 4 on the 2-core CPU); 32 on an accelerator."""
    import jax

    return 1 if jax.default_backend() == "cpu" else 32


def predict(engine: Engine, items: Sequence[Mapping[str, Any]], *, max_new_tokens: int = 384,
            max_batch: int | None = None, in_flight: int = 64,
            progress: Callable[[int], None] | None = None, raw_confidence: bool = False,
            tool_match: bool = False, ground_optional: bool = True,
            tool_prior: float | None = None, split_clauses: bool = True) -> list[Prediction]:
    """One :class:`Prediction` per item (``{"query", "tools"}``, optionally its own
    ``max_new_tokens`` and ``require_call``), in the items' order. ``in_flight`` bounds the
    requests queued at once (and with it memory); batches form from them. ``raw_confidence``:
    report the uncalibrated answer probability (what a calibration is fitted on). ``tool_match``:
    also measure each query's match with its tools (what a no-call decision is fitted on).
    ``ground_optional``: as the router's (False keeps the optional arguments a query never gives);
    ``tool_prior``, ``split_clauses``: as the router's (None: its default)."""
    max_batch = max_batch or default_batch()
    order = sorted(range(len(items)), key=lambda i: _size(items[i]))
    out: list[Prediction | None] = [None] * len(items)

    async def one(i: int, gate: asyncio.Semaphore) -> None:
        async with gate:
            item = items[i]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    router = NeedleRouter(item["tools"], model=engine,
                                          max_new_tokens=item.get("max_new_tokens", max_new_tokens),
                                          max_batch=max_batch, batch_wait_ms=20.0 if max_batch > 1 else 0.0,
                                          ground_optional=ground_optional, tool_prior=tool_prior,
                                          split_clauses=split_clauses)
                if raw_confidence:
                    router.calibration = Calibration()
            except ToolSpecError as exc:
                out[i] = Prediction(error=f"tools: {exc}")
            else:
                res = await router.route(item["query"], require_call=bool(item.get("require_call")))
                out[i] = Prediction(
                    calls=[{"name": c.name, "arguments": c.arguments} for c in res.calls],
                    valid=[True] * len(res.calls) + [False] * len(res.errors),
                    confidence=res.confidence, compute_ms=res.compute_ms,
                    output_tokens=res.usage.output_tokens, no_call_probability=res.no_call_probability,
                    tool_match=router.tool_match(item["query"]) if tool_match else None)
            if progress is not None:
                progress(1)

    async def main() -> None:
        gate = asyncio.Semaphore(in_flight)
        tasks = []
        for i in order:
            tasks.append(asyncio.ensure_future(one(i, gate)))
            await asyncio.sleep(0)  # start in size order: the batcher's queue is FIFO
        await asyncio.gather(*tasks)

    asyncio.run(main())
    return out  # type: ignore[return-value]
