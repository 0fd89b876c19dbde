"""MicroBatcher: gathering, grouping, limits and errors (no model needed)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from needle_router.batching import MicroBatcher


class Recorder:
    def __init__(self, delay: float = 0.0, fail_on: object = None):
        self.batches: list[tuple[object, list]] = []
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, group, payloads):
        with self.lock:
            self.batches.append((group, list(payloads)))
        if self.fail_on in payloads:
            raise RuntimeError(f"bad payload {self.fail_on}")
        time.sleep(self.delay)
        return [f"{group}:{p}" for p in payloads]


def test_concurrent_requests_share_a_batch_and_groups_never_mix():
    rec = Recorder()
    batcher = MicroBatcher(rec, max_wait_s=0.05)
    futures = [batcher.submit("a" if i % 2 else "b", i, max_batch=32) for i in range(10)]
    assert [f.result(timeout=5) for f in futures] == [f"{'a' if i % 2 else 'b'}:{i}" for i in range(10)]
    assert len(rec.batches) == 2
    for group, payloads in rec.batches:
        assert all(("a" if p % 2 else "b") == group for p in payloads)


def test_max_batch_is_respected():
    rec = Recorder()
    batcher = MicroBatcher(rec, max_wait_s=0.05)
    futures = [batcher.submit("g", i, max_batch=4) for i in range(10)]
    assert [f.result(timeout=5) for f in futures] == [f"g:{i}" for i in range(10)]
    assert max(len(p) for _, p in rec.batches) <= 4


def test_wait_is_bounded_for_a_lone_request():
    batcher = MicroBatcher(Recorder(), max_wait_s=0.002)
    batcher.submit("g", 0, max_batch=32).result(timeout=5)  # start the worker
    t0 = time.perf_counter()
    batcher.submit("g", 1, max_batch=32).result(timeout=5)
    assert time.perf_counter() - t0 < 0.5


def test_requests_arriving_during_a_batch_form_the_next_one():
    rec = Recorder(delay=0.2)
    batcher = MicroBatcher(rec, max_wait_s=0.0)
    first = batcher.submit("g", 0, max_batch=32)
    time.sleep(0.05)  # the first batch is running
    rest = [batcher.submit("g", i, max_batch=32) for i in range(1, 6)]
    for f in [first, *rest]:
        f.result(timeout=5)
    assert [len(p) for _, p in rec.batches] == [1, 5]


def test_errors_reach_the_callers_and_the_worker_survives():
    batcher = MicroBatcher(Recorder(fail_on=3), max_wait_s=0.01)
    futures = [batcher.submit("g", i, max_batch=32) for i in range(5)]
    for f in futures:
        with pytest.raises(RuntimeError, match="bad payload 3"):
            f.result(timeout=5)
    assert batcher.submit("g", 7, max_batch=32).result(timeout=5) == "g:7"


def test_asyncio_callers():
    batcher = MicroBatcher(Recorder(), max_wait_s=0.02)

    async def main():
        return await asyncio.gather(*(asyncio.wrap_future(batcher.submit("g", i, max_batch=8)) for i in range(8)))

    assert asyncio.run(main()) == [f"g:{i}" for i in range(8)]
    assert batcher.largest_batch == 8
