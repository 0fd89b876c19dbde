"""The call / no-call decision's bias, stored with the weights it was fitted for.

The first token a Needle decoder writes is the decision: ``<|no_call|>`` or ``<|call|>``. Where a
small model puts that threshold moves with training and with quantisation (round 3's INT4 file
said "no call" 15 points less often than its own float weights), and one logit offset restores
it. ``needle-router calibrate`` fits the offset on training-split tools (never the evaluation's)
and writes it into the weights folder's metadata; the engine adds it to the no-call logit at
the first decoding step. Folders without it decode unbiased.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_BIAS = 8.0  # a larger offset would all but fix the decision, whatever the query


def no_call_bias(info: Mapping[str, Any], source: str = "weights") -> float:
    """The no-call logit offset in a loaded weights folder's metadata (0 when there is none);
    ``source`` (the folder) opens the error message."""
    meta = (info.get("extra") or {}).get("decision")
    if not meta:
        return 0.0
    try:
        bias = float(meta["no_call_bias"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{source}: metadata 'decision' must hold a number 'no_call_bias', got {meta!r}") from None
    if not math.isfinite(bias) or abs(bias) > MAX_BIAS:
        raise ValueError(f"{source}: metadata 'decision': no_call_bias must be finite and within "
                         f"±{MAX_BIAS:g}, got {bias!r}")
    return bias


def decision_metadata(bias: float, **details: Any) -> dict[str, Any]:
    """What ``calibrate`` stores under the metadata key ``decision``."""
    return {"no_call_bias": float(bias), **details}
