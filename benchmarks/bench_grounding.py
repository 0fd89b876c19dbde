"""What grounding optional arguments in the query does to accuracy, per suite and category.

Each suite is routed once with the given weights, keeping every argument the model writes; the
router's grounding (`needle_router/decoding/grounding.py`) is then applied to those answers in
steps: dropping the optional arguments the query gives no ground for (and the items a list
repeats more often than the query says them), then filling an optional
enum parameter whose one value the query names, then the router's default, which also completes
proper names the model cut short ("Khao" -> "Kin Khao"). Prints exact match
(BFCL: its AST checker), argument accuracy and invented / missing parameters per call, side by
side.

    python benchmarks/bench_grounding.py                                   # held-out, shipped weights
    python benchmarks/bench_grounding.py --suite bfcl --limit 50
    python benchmarks/bench_grounding.py --model runs/travel --suite runs/travel/data/test.jsonl

A fine-tuned folder's own test split (``OUT/data/test.jsonl``) is a fair suite: like the
held-out set, nothing here is tuned on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trainer"))

import jax  # noqa: E402

from needle_router.decoding.grounding import ground_answer  # noqa: E402
from needle_router.engine import get_engine  # noqa: E402
from needle_router.tools import to_tool_specs  # noqa: E402
from needle_trainer.evaluation import scoring  # noqa: E402
from needle_trainer.evaluation.routing import predict  # noqa: E402
from needle_trainer.evaluation.suites import load_suite  # noqa: E402

# each grounded mode: (fill named enums, complete names)
STEPS = {"drop ungrounded": (False, False), "drop + fill named enums": (True, False),
         "drop + complete names + fill (default)": (True, True)}
MODES = ("keep every argument", *STEPS)


def grounded(case, pred, fill: bool, names: bool):
    """``pred`` (routed keeping every argument) as the router grounds it (ungrounded optional
    arguments dropped, then, with ``names``, names cut short completed, then, with ``fill``, the
    enum values the query names filled)."""
    if not pred.calls:
        return pred
    params = {spec.name: spec.parameters for spec in to_tool_specs(case.tools)}
    args = ground_answer([(c["arguments"], params[c["name"]]) for c in pred.calls], case.query, fill=fill,
                         names=names)
    return dataclasses.replace(pred, calls=[{**c, "arguments": a} for c, a in zip(pred.calls, args)])


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
    raw = predict(engine, [c.item() for c in cases], ground_optional=False)
    reports = {MODES[0]: scoring.score_cases(cases, raw)}
    for mode, (fill, names) in STEPS.items():
        reports[mode] = scoring.score_cases(cases, [grounded(c, p, fill, names) for c, p in zip(cases, raw)])
    print(f"{platform.machine()}, {jax.default_backend()}; model: {engine.loaded.label}; suite: {label}, "
          f"{len(cases)} cases\n")
    print("| category | n | arguments | exact match | argument acc. | invented params / call | missing params / call |")
    print("|---|---|---|---|---|---|---|")
    for category in reports[MODES[0]]["accuracy"]:
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
