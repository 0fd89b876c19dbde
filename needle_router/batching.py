"""Micro-batching: requests from any thread or event loop, gathered into batched model calls.

One worker thread per model owns the accelerator. A request waits at most ``max_wait_s``
for company (not at all while traffic is one request at a time); requests that arrive while
a batch runs form the next one. Requests carry a
group key: only requests of the same group share a batch. The engine keys by decoding mode
(constrained or free), so routers with different tool sets share batches, each row under its
own grammar.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any


ALONE_WAIT_S = 0.0002


@dataclass
class _Item:
    group: Hashable
    payload: Any
    max_batch: int
    max_wait_s: float
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


class MicroBatcher:
    """``submit(group, payload) -> Future``; ``run(group, payloads) -> results`` runs batches.
    ``max_wait_s`` is the default wait; a request may bring its own."""

    def __init__(self, run: Callable[[Hashable, Sequence[Any]], Sequence[Any]], *,
                 max_wait_s: float = 0.002, name: str = "needle-batcher") -> None:
        self._run = run
        self.max_wait_s = max_wait_s
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches_run = 0
        self._last_size = 0
        self.largest_batch = 0

    def submit(self, group: Hashable, payload: Any, *, max_batch: int,
               max_wait_s: float | None = None) -> concurrent.futures.Future:
        wait = self.max_wait_s if max_wait_s is None else max(0.0, max_wait_s)
        item = _Item(group, payload, max(1, max_batch), wait)
        self._ensure_thread()
        self._queue.put(item)
        return item.future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def _gather(self) -> list[_Item]:
        first = self._queue.get()
        items = [first]
        # A caller that has been alone (last batch of one, nobody queued) waits only long
        # enough to catch a burst submitted together (asyncio.gather, route_many).
        alone = self._last_size <= 1 and self._queue.empty()
        deadline = time.monotonic() + (min(first.max_wait_s, ALONE_WAIT_S) if alone else first.max_wait_s)
        while True:
            same = sum(1 for it in items if it.group == first.group)
            if same >= first.max_batch:
                break
            timeout = deadline - time.monotonic()
            try:
                items.append(self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _loop(self) -> None:
        while True:
            items = self._gather()
            groups: dict[Hashable, list[_Item]] = {}
            for it in items:
                groups.setdefault(it.group, []).append(it)
            for group, members in groups.items():
                limit = members[0].max_batch
                for start in range(0, len(members), limit):
                    self._run_batch(group, members[start:start + limit])

    def _run_batch(self, group: Hashable, members: list[_Item]) -> None:
        live = [m for m in members if m.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.batches_run += 1
        self.largest_batch = max(self.largest_batch, len(live))
        self._last_size = len(live)
        try:
            results = self._run(group, [m.payload for m in live])
        except BaseException as exc:  # the callers get the error, the worker lives on
            for m in live:
                m.future.set_exception(exc)
            return
        for m, result in zip(live, results):
            m.future.set_result(result)
