"""The fixed held-out part of the tool space, and seed namespaces that keep splits apart.

A tool (catalogue tool by name, generic tool by noun, harvested tool by its service/API/module)
is held out when a stable hash of its key falls below :data:`HELDOUT_SHARE`. Training streams
never show a held-out tool, as a target or as a distractor; the held-out evaluation set is built
from held-out tools only. The hash is sha256 (never Python's salted ``hash``), so the split is
the same on every machine and in every process.
"""

from __future__ import annotations

import hashlib

HELDOUT_SHARE = 0.10
SPLITS = ("train", "heldout")


def _unit(key: str) -> float:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_heldout_tool(name: str) -> bool:
    return _unit(f"catalogue-tool:{name}") < HELDOUT_SHARE


def is_heldout_noun(noun: str) -> bool:
    return _unit(f"generic-noun:{noun}") < HELDOUT_SHARE


def is_heldout_group(source: str, group: str) -> bool:
    return _unit(f"harvest:{source}:{group}") < HELDOUT_SHARE


def stream_seed(seed: int, split: str, chunk: int) -> str:
    """The RNG seed of one chunk of one split: splits never share a random stream."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return f"needle-data:{split}:{seed}:{chunk}"
