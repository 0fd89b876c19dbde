"""Word overlap between a query and each bound tool (BM25), fused with the retrieval head.

The retrieval head ranks tools by meaning but, at the shipped model's size, misses many tools a
query names outright ("convert 20 USD to EUR" -> ``convert_currency``). BM25 over each tool's
name, description, parameter names and enum values catches those; the two rankings are fused per query
after z-scoring, so neither scale dominates. Pure numpy, indexed once per tool set.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np
import snowballstemmer

from needle_router.tools import ToolSpec

#: weight of the lexical z-score against the head's (chosen on training-split tools with
#: clause scoring and Snowball stems: ``benchmarks/bench_retrieval.py``)
LEXICAL_WEIGHT = 0.5
BM25_K1, BM25_B = 1.2, 0.75
NAME_REPEAT = 2            # a tool's name words count this many times: they say what it does

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or is are be it its this that as if any me my i "
    "you your we our us please can could would will should do does did what which who how when where "
    "there here some all get set e g eg not no yes so just".split())


_STEMMERS = threading.local()   # a Snowball stemmer keeps state while it works: one per thread


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Snowball (Porter 2) stem: "holdings" and "hold", "monthly" and "month" meet."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """Lowercase content words, stemmed; identifiers split at ``_`` / camelCase."""
    return [stem(word) for word in _WORD.findall(_CAMEL.sub(" ", text).lower())
            if word not in _STOPWORDS and len(word) >= 2]


def tool_terms(spec: ToolSpec) -> list[str]:
    """What a tool is about: its name (repeated), description, parameter names and
    descriptions, and the values of its enums ("celsius", "economy": words a query uses)."""
    parts = [spec.name] * NAME_REPEAT + [spec.description or ""]
    for key, node in (spec.parameters.get("properties") or {}).items():
        parts.append(key)
        if isinstance(node, dict):
            parts.append(str(node.get("description") or ""))
            parts += [str(v) for v in node.get("enum") or () if isinstance(v, str)]
    return terms(" ".join(parts))


class LexicalIndex:
    """BM25 over a fixed list of tools."""

    def __init__(self, documents: Sequence[Sequence[str]]):
        self.counts = [Counter(d) for d in documents]
        self.lengths = np.array([len(d) for d in documents], np.float32)
        self.mean_length = float(self.lengths.mean()) if len(documents) else 0.0
        df = Counter(t for c in self.counts for t in c)
        n = len(documents)
        self.idf = {t: math.log(1.0 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    @classmethod
    def for_tools(cls, specs: Sequence[ToolSpec]) -> "LexicalIndex":
        return cls([tool_terms(s) for s in specs])

    def scores(self, query: str) -> np.ndarray:
        """[T] BM25 score of each tool for ``query``."""
        out = np.zeros(len(self.counts), np.float32)
        norm = BM25_K1 * (1 - BM25_B + BM25_B * self.lengths / max(self.mean_length, 1e-6))
        for term in set(terms(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            tf = np.array([c.get(term, 0) for c in self.counts], np.float32)
            out += idf * tf * (BM25_K1 + 1) / (tf + norm)
        return out


def _zscore(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    if finite.sum() < 2:
        return np.where(finite, 0.0, x)
    mean, std = x[finite].mean(), x[finite].std()
    return np.where(finite, (x - mean) / std if std > 1e-9 else 0.0, x)


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float = LEXICAL_WEIGHT) -> np.ndarray:
    """One query's combined tool scores: z(head) + weight * z(BM25). ``-inf`` (a tool not
    allowed) stays ``-inf``."""
    return _zscore(dense) + weight * _zscore(np.where(np.isfinite(dense), lexical, -np.inf))


def fuse_clauses(dense: np.ndarray, lexical: np.ndarray, weight: float = LEXICAL_WEIGHT) -> np.ndarray:
    """[T] from rows [C, T], row 0 the whole query and the rest its clauses
    (:mod:`needle_router.clauses`): each tool's best fused score over the rows, so a tool one
    clause asks for ranks as if that clause were the query."""
    return np.max([fuse(d, x, weight) for d, x in zip(dense, lexical)], axis=0)


def clause_rows(query: np.ndarray, clauses: np.ndarray, tools: np.ndarray, index: LexicalIndex,
                texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The rows :func:`fuse_clauses` takes: head cosines [1 + C, T] of the query's embedding
    [r] and its clauses' [C, r] with the tools' [T, r], and BM25 scores [1 + C, T] of ``texts``
    (the query's text, then its clauses'; none: [0, T])."""
    words = np.stack([index.scores(t) for t in texts]) if texts else np.zeros((0, len(tools)), np.float32)
    return np.concatenate([query[None], clauses]) @ tools.T, words
