"""Training batches: one fixed-shape packed batch per step, a pure function of the step.

Step ``s`` of a stage takes chunk ``s`` of that stage's data stream (``chunk_size`` examples),
packs them first-fit-decreasing into ``rows`` rows of ``(enc_len, dec_len)`` tokens, and adds
``retrieval_pairs`` (query, positive tool) pairs for the contrastive loss. Because nothing carries
over from one step to the next, a run killed at any point resumes to exactly the same batches
(the data position is just the step), and every device count sees the same global batch.

The ``denoise`` objective (pretraining) turns each example's encoder input into a T5-style span
corruption task: ~15% of the tokens, in spans of mean length 3, are replaced by sentinel ids
(the reserved ids 8..15, reused cyclically) and the decoder writes the sentinels followed by the
missing tokens. It teaches reading tool renderings and copying from the input through
cross-attention, the two skills routing needs, from text alone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from needle_router.tokenizer.specials import BOS_ID, EOS_ID, FIRST_RESERVED_ID, LAST_RESERVED_ID, PAD_ID
from needle_trainer.data.encode import STRUCTURE, VALUE, Encoded
from needle_trainer.data.pack import _Row, _write_row, empty_batch

SENTINELS = list(range(FIRST_RESERVED_ID, LAST_RESERVED_ID + 1))
QUERY_LEN, TOOL_LEN = 64, 128


def denoise(ex: Encoded, rng: random.Random, rate: float = 0.15, mean_span: float = 3.0,
            max_target: int = 200) -> Encoded:
    """Span-corrupt ``ex.enc`` (special tokens are never masked)."""
    src = ex.enc.tolist()
    n = len(src)
    budget = min(int(n * rate), max_target // 2)
    masked = np.zeros(n, bool)
    tries = 0
    while masked.sum() < budget and tries < 4 * budget + 10:
        tries += 1
        length = max(1, int(round(rng.expovariate(1 / mean_span))))
        start = rng.randrange(n)
        span = range(start, min(n, start + length))
        if any(src[i] < 16 for i in span):
            continue
        masked[list(span)] = True
    enc, target = [], []
    k = 0
    i = 0
    while i < n:
        if masked[i]:
            sentinel = SENTINELS[k % len(SENTINELS)]
            k += 1
            enc.append(sentinel)
            target.append(sentinel)
            while i < n and masked[i]:
                target.append(src[i])
                i += 1
        else:
            enc.append(src[i])
            i += 1
    target = target[:max_target - 1] + [EOS_ID]
    cls = [STRUCTURE if t in SENTINELS or t == EOS_ID else VALUE for t in target]
    return Encoded(np.asarray(enc, np.int32), np.asarray([BOS_ID] + target[:-1], np.int32),
                   np.asarray(target, np.int32), np.asarray(cls, np.int8), ex.query, ex.tools, ex.positives)


def pack_rows(examples: Sequence[Encoded], rows: int, enc_len: int, dec_len: int) -> tuple[dict, int]:
    """Pack into exactly ``rows`` rows (first fit, longest first); returns (batch, dropped)."""
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i].enc))
    packed = [_Row() for _ in range(rows)]
    dropped = 0
    for i in order:
        ex = examples[i]
        n, m = len(ex.enc), len(ex.target)
        row = next((r for r in packed if r.n_enc + n <= enc_len and r.n_dec + m <= dec_len), None)
        if row is None:
            dropped += 1
            continue
        row.dec.append(ex)
        row.n_enc += n
        row.n_dec += m
    batch = empty_batch(rows, enc_len, dec_len)
    for r, row in enumerate(packed):
        _write_row(batch, r, row)
    return batch, dropped


def retrieval_pairs(examples: Sequence[Encoded], n: int) -> dict[str, np.ndarray]:
    """Up to ``n`` (query, one called tool) pairs, padded to fixed shapes."""
    queries = np.full((n, QUERY_LEN), PAD_ID, np.int32)
    tools = np.full((n, TOOL_LEN), PAD_ID, np.int32)
    valid = np.zeros(n, bool)
    keys: list[bytes] = []
    k = 0
    for ex in examples:
        if k == n:
            break
        if not ex.positives:
            continue
        q = ex.query[:QUERY_LEN]
        t = ex.tools[ex.positives[0]][:TOOL_LEN]
        if len(q) == 0:
            continue
        queries[k, :len(q)] = q
        tools[k, :len(t)] = t
        valid[k] = True
        keys.append(t.tobytes())
        k += 1
    keys += [b""] * (n - len(keys))
    same = np.array([[a == b and a != b"" for b in keys] for a in keys], bool)
    return {"queries": queries, "tools": tools, "valid": valid, "same_tool": same}
