"""What dropping ungrounded optional arguments does to accuracy, per suite and category.

Each suite is routed twice with the same weights: keeping every argument the model writes, and
with the router's default, which drops the optional arguments the query gives no ground for
(`needle_router/decoding/grounding.py`). Prints exact match (BFCL: its AST checker), argument
accuracy and invented / missing parameters per call, side by side.

    python benchmarks/bench_grounding.py                                   # held-out, shipped weights
    python benchmarks/bench_grounding.py --suite bfcl --limit 50
    python benchmarks/bench_grounding.py --model runs/travel --suite runs/travel/data/test.jsonl

A fine-tuned folder's own test split (``OUT/data/test.jsonl``) is a fair suite: like the
held-out set, nothing here is tuned on it.
"""

from __future__ import annotations

import argparse
import platform
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trainer"))

import jax  # noqa: E402

from needle_router.engine import get_engine  # noqa: E402
from needle_trainer.evaluation import scoring  # noqa: E402
from needle_trainer.evaluation.routing import predict  # noqa: E402
from needle_trainer.evaluation.suites import load_suite  # noqa: E402

MODES = {"keep every argument": False, "drop ungrounded (default)": True}


def _cell(metrics: dict, key: str, digits: int = 1) -> str:
    value = metrics.get(key)
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="weights dir or preset (default: the shipped weights)")
    ap.add_argument("--suite", default="heldout", help="heldout, bfcl, or a JSONL file of examples")
    ap.add_argument("--limit", type=int, default=None, help="cases per category (default: all)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    engine = get_engine(args.model)
    label, cases = load_suite(args.suite, limit=args.limit)
    reports = {}
    for mode, ground in MODES.items():
        preds = predict(engine, [c.item() for c in cases], ground_optional=ground)
        reports[mode] = scoring.score_cases(cases, preds)
    print(f"{platform.machine()}, {jax.default_backend()}; model: {engine.loaded.label}; suite: {label}, "
          f"{len(cases)} cases\n")
    print("| category | n | arguments | exact match | argument acc. | invented params / call | missing params / call |")
    print("|---|---|---|---|---|---|---|")
    for category in reports[next(iter(MODES))]["accuracy"]:
        for mode, report in reports.items():
            m = report["metrics"].get(category, {})
            print(f"| {category} | {report['n'][category]} | {mode} | {report['accuracy'][category]:.1f} | "
                  f"{_cell(m, 'argument_accuracy')} | {_cell(m, 'hallucinated_params_per_call', 3)} | "
                  f"{_cell(m, 'missing_params_per_call', 3)} |")
    for mode, report in reports.items():
        m, overall = report["metrics"].get("all", {}), report["overall"]
        print(f"| **all** ({overall['kind']}) | {overall['n']} | {mode} | {overall['accuracy']:.1f} | "
              f"{_cell(m, 'argument_accuracy')} | {_cell(m, 'hallucinated_params_per_call', 3)} | "
              f"{_cell(m, 'missing_params_per_call', 3)} |")


if __name__ == "__main__":
    main()
