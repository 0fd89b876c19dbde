"""Seeded, streaming, multi-process example iterators for the trainer and the CLI.

The stream is a sequence of chunks; chunk ``k`` of ``(seed, split)`` is always the same list of
examples (see :meth:`.generate.ExampleMaker.make_chunk`), so:

* the output does not depend on the number of worker processes;
* a trainer resumes exactly by remembering ``(chunk, offset)``: :class:`StreamPosition`;
* different seeds and splits never share a random stream.

Workers are ``spawn``-ed processes (safe next to a JAX runtime in the parent), each with its own
:class:`ExampleMaker` and :class:`.encode.Encoder`; at most ``2 * workers`` chunks are in flight.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from needle_trainer.data.generate import DataConfig, ExampleMaker

DEFAULT_CHUNK = 256
_worker: dict[str, Any] = {}


@dataclass
class StreamPosition:
    """Where a stream stands: the next example is ``offset`` within chunk ``chunk``."""

    chunk: int = 0
    offset: int = 0


def _init_worker(config: dict[str, Any], encode: bool) -> None:
    _worker["maker"] = ExampleMaker(DataConfig(**config))
    if encode:
        from needle_trainer.data.encode import Encoder

        _worker["encoder"] = Encoder()


def _run_chunk(seed: int, split: str, chunk: int, size: int, encode: bool):
    maker: ExampleMaker = _worker["maker"]
    before = Counter(maker.rejected)
    examples = maker.make_chunk(seed, split, chunk, size)
    rejected = maker.rejected - before
    if encode:
        encoder = _worker["encoder"]
        return chunk, encoder.encode_many(examples), rejected
    return chunk, examples, rejected


def chunk_stream(seed: int, split: str = "train", *, start: StreamPosition | None = None,
                 chunk_size: int = DEFAULT_CHUNK, workers: int = 0, encode: bool = False,
                 config: DataConfig | None = None, max_chunks: int | None = None,
                 rejected: Counter | None = None) -> Iterator[tuple[int, list]]:
    """Yield ``(chunk index, items)`` in order forever (or ``max_chunks`` chunks); items are
    example dicts, or :class:`.encode.Encoded` when ``encode``. Rejections are added to
    ``rejected`` when given."""
    start = start or StreamPosition()
    cfg = asdict(config or DataConfig())
    stop = None if max_chunks is None else start.chunk + max_chunks
    if workers <= 0:
        _init_worker(cfg, encode)
        k = start.chunk
        while stop is None or k < stop:
            idx, items, rej = _run_chunk(seed, split, k, chunk_size, encode)
            if rejected is not None:
                rejected.update(rej)
            yield idx, items[start.offset:] if k == start.chunk else items
            k += 1
        return
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(cfg, encode)) as pool:
        pending: deque = deque()
        k = start.chunk
        while True:
            while len(pending) < 2 * workers and (stop is None or k < stop):
                pending.append(pool.apply_async(_run_chunk, (seed, split, k, chunk_size, encode)))
                k += 1
            if not pending:
                return
            idx, items, rej = pending.popleft().get()
            if rejected is not None:
                rejected.update(rej)
            yield idx, items[start.offset:] if idx == start.chunk else items


def example_stream(seed: int, split: str = "train", *, position: StreamPosition | None = None,
                   **kwargs) -> Iterator[Any]:
    """Examples one by one; ``position`` (when given) is updated as they are consumed."""
    position = position if position is not None else StreamPosition()
    for idx, items in chunk_stream(seed, split, start=StreamPosition(position.chunk, position.offset), **kwargs):
        base = position.offset if idx == position.chunk else 0
        for i, item in enumerate(items):
            position.chunk, position.offset = idx, base + i + 1
            yield item
        position.chunk, position.offset = idx + 1, 0
