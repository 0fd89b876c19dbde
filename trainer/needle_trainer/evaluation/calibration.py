"""Fit and check the confidence calibration of a weights folder.

``fit_platt`` fits ``P(right) = sigmoid(a * logit(raw) + b)`` by logistic regression (Newton's
method from the base rate, each step halved until the likelihood improves, two parameters, a
small ridge so a separable set cannot diverge). ``reliability``
bins answers by confidence and compares each bin's mean confidence with its accuracy; the
expected calibration error (ECE) is the count-weighted mean gap.

The fitting set is the held-out tools' distribution under its own seed
(``CALIBRATION_SEED``), never the evaluation examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from needle_router.calibration import Calibration, logit

CALIBRATION_SEED = 31_415   # examples for fitting; the held-out evaluation uses HELDOUT_SEED


def raw_outcomes(engine: Any, n: int, seed: int = CALIBRATION_SEED) -> tuple[list[float], list[bool]]:
    """Route ``n`` held-out-tool examples of ``seed`` with calibration off: (raw confidence, right)."""
    from needle_trainer.data.heldout import heldout_examples
    from needle_trainer.evaluation.routing import predict
    from needle_trainer.metrics import Scores

    examples = heldout_examples(n, seed=seed)
    preds = predict(engine, [{"query": e["query"], "tools": e["tools"]} for e in examples], raw_confidence=True)
    right = [Scores().add(e["calls"], p.calls, p.valid) and p.error is None for e, p in zip(examples, preds)]
    return [p.confidence for p in preds], right


def fit_logistic(features: np.ndarray, y: np.ndarray, ridge: float = 1e-3, iterations: int = 100) -> np.ndarray:
    """Weights of ``P(y) = sigmoid(features @ w)`` (the last column the constant 1) by Newton's
    method from the base rate, each step halved until the penalised likelihood improves, so
    saturated or nearly separable data cannot make it diverge."""
    y = np.asarray(y, dtype=np.float64)

    def loss(w: np.ndarray) -> float:          # penalised negative log-likelihood, overflow-free
        z = features @ w
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * ridge * w @ w)

    w = np.zeros(features.shape[1])
    w[-1] = logit(float(np.clip(y.mean(), 1e-6, 1 - 1e-6)))
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * (features @ w)))
        grad = features.T @ (p - y) + ridge * w
        hess = (features * (p * (1 - p))[:, None]).T @ features + ridge * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        size, before = 1.0, loss(w)
        while loss(w - size * step) > before and size > 1e-6:
            size /= 2
        w = w - size * step
        if np.abs(size * step).max() < 1e-9:
            break
    return w


def fit_platt(raw: Sequence[float], correct: Sequence[bool], ridge: float = 1e-3,
              iterations: int = 100) -> Calibration:
    """The Platt mapping that maximises the likelihood of ``correct`` given ``raw``."""
    x = np.array([logit(float(p)) for p in raw], dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if x.size < 10:
        raise ValueError(f"need at least 10 answers to calibrate, got {x.size}")
    if y.min() == y.max():
        raise ValueError("cannot calibrate: every answer was " + ("right" if y[0] else "wrong"))
    # Plain Newton from (1, 0) diverged on a decision whose no-call answers sit at the clip
    # (logit 13.8) while most answers sit near 0: fit_logistic starts from the base rate.
    w = fit_logistic(np.stack([x, np.ones_like(x)], axis=1), y, ridge, iterations)
    a, b = float(w[0]), float(w[1])
    if a <= 0:  # a confidence that does not rank answers at all: fall back to the base rate
        a, b = 1e-3, float(logit(float(y.mean())))
    return Calibration(a, b)


def reliability(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> dict[str, Any]:
    """``{"ece", "n", "bins": [{"lo", "hi", "n", "confidence", "accuracy"}]}`` over equal-width bins."""
    c = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(c, edges[1:-1]), 0, bins - 1)
    rows, gap = [], 0.0
    for i in range(bins):
        mask = index == i
        n = int(mask.sum())
        if n:
            conf, acc = float(c[mask].mean()), float(y[mask].mean())
            gap += n * abs(conf - acc)
            rows.append({"lo": float(edges[i]), "hi": float(edges[i + 1]), "n": n,
                         "confidence": conf, "accuracy": acc})
    return {"ece": gap / max(len(c), 1), "n": int(len(c)), "bins": rows}


def reliability_lines(table: dict[str, Any], title: str) -> list[str]:
    """A markdown table of ``reliability``'s result."""
    lines = [f"{title}: expected calibration error {100 * table['ece']:.1f} points over {table['n']} answers",
             "", "| confidence bin | answers | mean confidence | accuracy |", "|---|---|---|---|"]
    for r in table["bins"]:
        lines.append(f"| {r['lo']:.1f}-{r['hi']:.1f} | {r['n']} | {100 * r['confidence']:.1f}% | "
                     f"{100 * r['accuracy']:.1f}% |")
    return lines
