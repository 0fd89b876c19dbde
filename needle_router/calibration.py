"""Confidence calibration: turn the decoder's answer probability into P(answer is right).

The raw score (the decision's probability times the geometric mean of the argument tokens'
probabilities) ranks answers well but is not a probability of being right: a small model is
over- or under-confident in ways that depend on its training. A weights folder may carry a
two-parameter Platt mapping fitted on held-out examples (``needle-router calibrate``):

    confidence = sigmoid(a * logit(raw) + b)

It is monotone, so it never reorders answers; ``min_confidence`` thresholds act on the
calibrated value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_EPS = 1e-6


def logit(p: float) -> float:
    p = min(1.0 - _EPS, max(_EPS, p))
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass(frozen=True)
class Calibration:
    """``a``, ``b`` of the Platt mapping; ``None`` for both: identity (no calibration shipped)."""

    a: float | None = None
    b: float | None = None

    @property
    def is_identity(self) -> bool:
        return self.a is None

    def apply(self, raw: float) -> float:
        if self.a is None or self.b is None:
            return raw
        return sigmoid(self.a * logit(raw) + self.b)

    def to_metadata(self, **details: Any) -> dict[str, Any]:
        return {"method": "platt", "a": self.a, "b": self.b, **details}

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> "Calibration":
        """The calibration stored in a loaded weights folder's metadata (identity if none)."""
        meta = (info.get("extra") or {}).get("calibration")
        if not meta:
            return cls()
        try:
            a, b = float(meta["a"]), float(meta["b"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"weights metadata 'calibration' must hold numbers 'a' and 'b', got {meta!r}") from None
        if meta.get("method", "platt") != "platt" or not (math.isfinite(a) and math.isfinite(b)) or a <= 0:
            raise ValueError(f"weights metadata 'calibration' is not a monotone Platt mapping: {meta!r}")
        return cls(a, b)
