"""The evaluation registries under examples/registries, and the development registries under
trainer/dev_registries, stay valid (same checks as check.py)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

CHECK_PY = Path(__file__).resolve().parent.parent / "examples" / "registries" / "check.py"


def _load_checker():
    spec = importlib.util.spec_from_file_location("registries_check", CHECK_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


check = _load_checker()
REGISTRIES = check.registry_dirs()


def test_the_three_registries_exist():
    assert {p.name for p in REGISTRIES} >= {"smart_home", "support_desk", "travel"}


@pytest.mark.parametrize("folder", REGISTRIES, ids=[p.name for p in REGISTRIES])
def test_registry_is_valid(folder):
    report = check.check_registry(folder)
    assert report.problems == [], "\n".join(report.problems)
    assert report.queries >= check.MIN_QUERIES
    assert report.single and report.parallel and report.no_call
    assert min(report.coverage.values()) >= check.MIN_QUERIES_PER_TOOL


DEV_REGISTRIES = sorted(p for p in (CHECK_PY.parents[2] / "trainer" / "dev_registries").iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", DEV_REGISTRIES, ids=[p.name for p in DEV_REGISTRIES])
def test_development_registry_is_valid_and_apart_from_the_evaluation_ones(folder):
    report = check.check_registry(folder)
    assert report.problems == [], "\n".join(report.problems)
    assert folder.name not in {p.name for p in REGISTRIES}
    evaluation_queries = {json.loads(line)["query"].casefold() for p in REGISTRIES
                          for line in (p / "queries.jsonl").read_text(encoding="utf-8").splitlines()}
    own = {json.loads(line)["query"].casefold() for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()}
    assert not own & evaluation_queries


def test_main_exits_zero(capsys):
    assert check.main([]) == 0
    assert "all registries OK" in capsys.readouterr().out


def test_checker_reports_bad_lines(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    travel_tools = (CHECK_PY.parent / "travel" / "tools.py").read_text(encoding="utf-8")
    (folder / "tools.py").write_text(travel_tools, encoding="utf-8")
    (folder / "README.md").write_text("bad\n")

    def line(query, *calls):
        return {"query": query, "calls": [{"name": n, "arguments": a} for n, a in calls]}

    status = "get_flight_status"
    lines = [
        line("is UA902 on time?", (status, {"flight_number": "UA902"})),
        line("Is  ua902 on time?"),
        line("x", ("no_such_tool", {})),
        line("5 USD in EUR", ("convert_currency", {"amount": "5", "from_currency": "USD", "to_currency": "EUR"})),
        line("status of BA117", (status, {"flight_number": "LH400"})),
        line("status of DL45", (status, {"flight_number": "DL45", "gate": "B1"})),
    ]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n\nnot json\n")

    problems = "\n".join(check.check_registry(folder).problems)

    assert "queries.jsonl:2: duplicate query (first at line 1)" in problems
    assert "queries.jsonl:3: calls[0]: unknown tool 'no_such_tool'" in problems
    assert "queries.jsonl:4: calls[0]: convert_currency arguments change when validated" in problems
    assert "queries.jsonl:5: calls[0]: get_flight_status.flight_number = 'LH400' does not appear" in problems
    assert "queries.jsonl:6: calls[0]: " in problems and "'gate'" in problems
    assert "queries.jsonl:7: blank line" in problems
    assert "queries.jsonl:8: invalid JSON" in problems
    assert "tool 'book_hotel' answers 0 queries, expected at least 3" in problems
    assert "counts out of date" in problems
    assert check.main([str(folder)]) == 1
