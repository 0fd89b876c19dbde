"""Sequence packing into fixed buckets, with segment ids.

Most examples are far shorter than the 2,048-token encoder limit, so one row holds several:
each example gets its own segment id (1, 2, ...; 0 is padding) and positions restarting at 0,
in the encoder and the decoder alike. The model must attend only within a segment (the
trainer builds the masks from the segment ids), so a packed row computes exactly what the
separate examples would.

Buckets fix the shapes XLA compiles for: an example goes to the smallest (encoder, decoder)
shape it fits, and a bucket yields a batch when it has ``rows`` full rows (rows scale inversely
with the encoder length so every batch holds about the same number of tokens).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from needle_trainer.data.encode import Encoded

DEFAULT_BUCKETS = ((1024, 128), (2048, 224), (2048, 416))   # (encoder, decoder) tokens per row
FIELDS = ("enc_tokens", "enc_segments", "enc_positions", "dec_inputs", "dec_targets",
          "dec_segments", "dec_positions", "loss_class")


@dataclass(eq=False)
class _Row:
    enc: list[np.ndarray] = field(default_factory=list)
    dec: list[Encoded] = field(default_factory=list)
    n_enc: int = 0
    n_dec: int = 0


def _write_row(batch: dict[str, np.ndarray], r: int, row: _Row) -> None:
    e = d = 0
    for seg, ex in enumerate(row.dec, start=1):
        n, m = len(ex.enc), len(ex.target)
        batch["enc_tokens"][r, e:e + n] = ex.enc
        batch["enc_segments"][r, e:e + n] = seg
        batch["enc_positions"][r, e:e + n] = np.arange(n)
        batch["dec_inputs"][r, d:d + m] = ex.dec_input
        batch["dec_targets"][r, d:d + m] = ex.target
        batch["dec_segments"][r, d:d + m] = seg
        batch["dec_positions"][r, d:d + m] = np.arange(m)
        batch["loss_class"][r, d:d + m] = ex.loss_class
        e, d = e + n, d + m


def empty_batch(rows: int, enc_len: int, dec_len: int) -> dict[str, np.ndarray]:
    out = {}
    for name in FIELDS:
        length = enc_len if name.startswith("enc") else dec_len
        out[name] = np.zeros((rows, length), np.int8 if name == "loss_class" else np.int32)
    return out


class Packer:
    """Packs a stream of :class:`Encoded` examples into per-bucket batches.

    ``pack=False`` puts one example per row (the unpacked baseline the benchmark compares).
    """

    def __init__(self, buckets: Sequence[tuple[int, int]] = DEFAULT_BUCKETS, tokens_per_batch: int = 16384,
                 pack: bool = True, open_rows: int = 16):
        self.buckets = sorted(buckets)
        self.rows = {b: max(1, tokens_per_batch // b[0]) for b in self.buckets}
        self.pack = pack
        self.open_rows = open_rows if pack else 1
        self._open: dict[tuple[int, int], list[_Row]] = {b: [] for b in self.buckets}
        self._full: dict[tuple[int, int], list[_Row]] = {b: [] for b in self.buckets}
        self.dropped = 0

    def bucket_for(self, ex: Encoded) -> tuple[int, int] | None:
        for b in self.buckets:
            if len(ex.enc) <= b[0] and len(ex.target) <= b[1]:
                return b
        return None

    def add(self, ex: Encoded) -> dict[str, np.ndarray] | None:
        """Add one example (first fit among a few open rows); returns a batch when one is ready."""
        b = self.bucket_for(ex)
        if b is None:
            self.dropped += 1
            return None
        rows = self._open[b]
        n, m = len(ex.enc), len(ex.target)
        row = next((r for r in rows if self.pack and r.n_enc + n <= b[0] and r.n_dec + m <= b[1]), None)
        if row is None:
            if len(rows) >= self.open_rows:           # close the fullest open row
                fullest = max(rows, key=lambda r: r.n_enc)
                rows.remove(fullest)
                self._full[b].append(fullest)
            row = _Row()
            rows.append(row)
        row.dec.append(ex)
        row.n_enc += n
        row.n_dec += m
        if len(self._full[b]) >= self.rows[b]:
            return self._emit(b)
        return None

    def _emit(self, b: tuple[int, int]) -> dict[str, np.ndarray]:
        rows, self._full[b] = self._full[b][:self.rows[b]], self._full[b][self.rows[b]:]
        batch = empty_batch(self.rows[b], *b)
        for r, row in enumerate(rows):
            _write_row(batch, r, row)
        return batch

    def flush(self) -> Iterator[dict[str, np.ndarray]]:
        """The partly filled batches (padded with empty rows) at the end of a stream."""
        for b in self.buckets:
            self._full[b] += [r for r in self._open[b] if r.dec]
            self._open[b] = []
            while self._full[b]:
                yield self._emit(b)


def pack_stream(examples: Iterable[Encoded], **kwargs) -> Iterator[dict[str, np.ndarray]]:
    packer = Packer(**kwargs)
    for ex in examples:
        batch = packer.add(ex)
        if batch is not None:
            yield batch
    yield from packer.flush()


def attention_mask(q_segments: np.ndarray, k_segments: np.ndarray, causal: bool = False) -> np.ndarray:
    """[B, Lq, Lk] boolean mask: same non-zero segment (and, when causal, key position <= query)."""
    mask = (q_segments[:, :, None] == k_segments[:, None, :]) & (q_segments[:, :, None] > 0)
    if causal:
        lq, lk = q_segments.shape[1], k_segments.shape[1]
        mask &= np.tril(np.ones((lq, lk), bool))[None]
    return mask
