"""Describe a data file: call types, tools per example, tokens per example, scripts."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

_SCRIPT_WORDS = (("CJK", "Han (CJK)"), ("HIRAGANA", "Japanese kana"), ("KATAKANA", "Japanese kana"),
                 ("HANGUL", "Hangul"), ("CYRILLIC", "Cyrillic"), ("ARABIC", "Arabic"),
                 ("DEVANAGARI", "Devanagari"), ("GREEK", "Greek"), ("HEBREW", "Hebrew"), ("THAI", "Thai"),
                 ("LATIN", "Latin (accented)"))


def scripts(text: str) -> set[str]:
    """The writing systems in ``text`` beyond plain ASCII ("ASCII only" when none)."""
    found = set()
    for ch in text:
        if ord(ch) < 128:
            continue
        if unicodedata.category(ch) == "So":
            found.add("emoji/symbols")
            continue
        name = unicodedata.name(ch, "")
        for word, label in _SCRIPT_WORDS:
            if word in name:
                found.add(label)
                break
    return found or {"ASCII only"}


def call_kind(example: Mapping[str, Any]) -> str:
    meta = example.get("meta") or {}
    if meta.get("kind"):
        return meta["kind"] + (f" ({meta['no_call']})" if meta.get("no_call") else "")
    n = len(example["calls"])
    return "no_call" if n == 0 else "single" if n == 1 else "parallel"


def _tools_bucket(n: int) -> str:
    for lo, hi in ((0, 0), (1, 1), (2, 5), (6, 10), (11, 20)):
        if lo <= n <= hi:
            return f"{lo}" if lo == hi else f"{lo}-{hi}"
    return ">20"


def describe(examples: Iterable[Mapping[str, Any]], encoder=None, token_sample: int = 5000) -> dict[str, Any]:
    """Counters and token statistics (tokens over the first ``token_sample`` examples)."""
    kinds, tools, script, augment, sources, calls = Counter(), Counter(), Counter(), Counter(), Counter(), Counter()
    enc_lens, dec_lens = [], []
    n = 0
    for ex in examples:
        n += 1
        kinds[call_kind(ex)] += 1
        tools[_tools_bucket(len(ex["tools"]))] += 1
        calls[len(ex["calls"])] += 1
        for s in scripts(ex["query"]):
            script[s] += 1
        meta = ex.get("meta") or {}
        for tag in meta.get("augment", []):
            augment[tag] += 1
        sources[meta.get("source", "unknown")] += 1
        if encoder is not None and n <= token_sample:
            e = encoder.encode({k: ex[k] for k in ("query", "tools", "calls")})
            enc_lens.append(len(e.enc))
            dec_lens.append(len(e.target))
    out: dict[str, Any] = {"examples": n, "call types": kinds, "tools per example": tools,
                           "calls per example": calls, "scripts in query": script,
                           "augmentations": augment, "sources": sources}
    if enc_lens:
        e, d = np.array(enc_lens), np.array(dec_lens)
        out["tokens"] = {
            "encoder": {"mean": float(e.mean()), "p50": float(np.median(e)), "p95": float(np.percentile(e, 95)),
                        "max": int(e.max())},
            "decoder": {"mean": float(d.mean()), "p50": float(np.median(d)), "p95": float(np.percentile(d, 95)),
                        "max": int(d.max())},
            "sampled": len(e),
        }
    return out
