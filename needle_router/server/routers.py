"""One :class:`NeedleRouter` per tool set, shared by every request that sends that tool set.

Building a router compiles its tool set's grammar (milliseconds for a few tools, seconds for a
thousand), so requests repeating a tool set (the common case: one app, one registry) must not
pay it again. Routers are kept in a small LRU keyed by the tool set's canonical JSON; a build
runs in a worker thread (it is CPU work that would stall the event loop) and concurrent
requests for the same new tool set wait on the one build. Routers built here share the
process's one engine, so their concurrent ``route()`` calls share micro-batches.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import OrderedDict
from typing import Any

from needle_router.router import NeedleRouter

__all__ = ["RouterPool", "fingerprint"]


def fingerprint(tools: list[Any]) -> str:
    """Same tools (as JSON, whatever the key order) -> same key."""
    text = json.dumps(tools, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RouterPool:
    """LRU of routers by tool-set fingerprint (``size`` of them), all on one model."""

    def __init__(self, model: str | os.PathLike | None, *, size: int = 32, **router_options: Any) -> None:
        self.model = model
        self.size = max(1, size)
        self.options = router_options
        self._builds: OrderedDict[str, asyncio.Future[NeedleRouter]] = OrderedDict()

    def build(self, tools: list[Any]) -> NeedleRouter:
        """A new router (blocking; raises ToolSpecError for bad tools)."""
        return NeedleRouter(tools, model=self.model, **self.options)

    async def get(self, tools: list[Any]) -> NeedleRouter:
        """The router for ``tools``, built at most once while it stays in the LRU."""
        key = fingerprint(tools)
        fut = self._builds.get(key)
        if fut is None:
            fut = asyncio.ensure_future(asyncio.to_thread(self.build, tools))
            self._builds[key] = fut
            while len(self._builds) > self.size:
                self._builds.popitem(last=False)
        else:
            self._builds.move_to_end(key)
        try:
            return await asyncio.shield(fut)  # a timed-out request must not cancel a shared build
        except BaseException:
            if fut.done() and (fut.cancelled() or fut.exception() is not None) and self._builds.get(key) is fut:
                del self._builds[key]  # failures are not cached: the error is reported each time
            raise

    def __len__(self) -> int:
        return len(self._builds)
