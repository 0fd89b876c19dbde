"""`needle-router route`: tools from files, human and --json output, one-line errors (exit 2).

Only the tests that route load the model (needle-tiny); they all use the five example tools and
one query, so the process compiles one decode program and every later route reuses it.
"""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from needle_router.cli import main
from needle_router.tools import to_tool_specs
from needle_router.tools.loader import load_tools_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TOOL_NAMES = {"get_weather", "send_email", "create_calendar_event", "convert_currency", "search_web"}
QUERY = "What's the weather in Paris in celsius?"


def route(*args: str):
    return CliRunner().invoke(main, ["route", *args])


def route_json(*args: str) -> dict:
    result = route(QUERY, "--json", "-m", "needle-tiny", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # the whole of stdout is one JSON object


def calls_of(data: dict) -> list[tuple[str, dict]]:
    return [(c["name"], c["arguments"]) for c in data["calls"]]


@pytest.fixture(scope="module")
def json_result() -> dict:
    return route_json("--tools", str(EXAMPLES / "tools.py"))


# ---------------------------------------------------------------------------------- routing


def test_human_output_prints_calls_then_a_status_line(json_result):
    result = route(QUERY, "--tools", str(EXAMPLES / "tools.py"), "--model", "needle-tiny")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    expected = [f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
                for name, args in calls_of(json_result)] or ["no call"]
    assert lines == expected  # same model, query and tools: the same calls as --json
    for line in lines:
        assert line == "no call" or re.match(r"^(\w+)\(.*\)$", line, re.S).group(1) in TOOL_NAMES
    assert "UNTRAINED" in result.stderr and "needle-tiny" in result.stderr
    assert re.search(r"confidence \d\.\d{3}; [\d.]+ ms", result.stderr)
    assert "5 tools" in result.stderr


def test_json_output_is_one_route_result(json_result):
    assert {"query", "calls", "confidence", "usage", "latency_ms", "abstained", "truncated",
            "errors"} <= set(json_result)
    assert json_result["query"] == QUERY
    assert 0.0 <= json_result["confidence"] <= 1.0
    assert json_result["usage"]["input_tokens"] > 0
    for call in json_result["calls"]:
        assert call["name"] in TOOL_NAMES and isinstance(call["arguments"], dict)
        assert call["id"].startswith("call_")


def test_python_and_json_registries_and_split_files_route_the_same(json_result, tmp_path):
    schemas = json.loads((EXAMPLES / "tools.json").read_text())
    first, second = tmp_path / "first.json", tmp_path / "second.yaml"
    first.write_text(json.dumps(schemas[:3]))
    second.write_text(json.dumps({"tools": schemas[3:]}))  # JSON is YAML
    assert calls_of(route_json("--tools", str(EXAMPLES / "tools.json"))) == calls_of(json_result)
    assert calls_of(route_json("--tools", str(first), "-t", str(second))) == calls_of(json_result)


def test_min_confidence_one_abstains(json_result):
    result = route(QUERY, "-t", str(EXAMPLES / "tools.py"), "-m", "needle-tiny", "--min-confidence", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "no call\n"
    if json_result["calls"]:
        assert "abstained" in result.stderr


def test_a_fine_tuned_model_is_served_with_its_whole_registry_unless_top_k_says_otherwise(tmp_path):
    """Without --top-k the CLI routes as NeedleRouter does: a model tuned on 12 tools sees all 12."""
    from needle_router.model.weights import save_weights
    from needle_router.model import get_config, init_params

    folder = tmp_path / "tuned"
    save_weights(folder, init_params("needle-tiny"), get_config("needle-tiny"),
                 extra_metadata={"finetune": {"top_k": 12, "tools": []}})
    registry = str(EXAMPLES / "registries" / "smart_home" / "tools.py")

    def input_tokens(*extra: str) -> int:
        result = route("turn on the kitchen lights", "--json", "-m", str(folder), "--tools", registry, *extra)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["usage"]["input_tokens"]

    assert input_tokens() > input_tokens("--top-k", "8")


def test_keep_ungrounded_is_accepted_and_changes_only_optional_keys(json_result):
    kept = route_json("--tools", str(EXAMPLES / "tools.py"), "--keep-ungrounded")
    specs = {s.name: s for s in to_tool_specs(load_tools_file(EXAMPLES / "tools.py"))}
    assert calls_of(kept)
    assert [name for name, _ in calls_of(kept)] == [name for name, _ in calls_of(json_result)]
    for (name, loose), (_, grounded) in zip(calls_of(kept), calls_of(json_result)):   # the same decode
        params = specs[name].parameters
        for key in set(loose) ^ set(grounded):   # grounding only drops or fills optional keys
            assert key not in params.get("required", [])
            if key in grounded:                  # filled: an enum value the query names
                assert grounded[key] in params["properties"][key]["enum"]
                assert grounded[key].casefold() in QUERY.casefold()


def test_tool_prior_option_reaches_the_router_and_is_checked(json_result):
    off = route_json("--tools", str(EXAMPLES / "tools.py"), "--tool-prior", "0")
    assert {name for name, _ in calls_of(off)} <= TOOL_NAMES
    result = route(QUERY, "--tools", str(EXAMPLES / "tools.py"), "-m", "needle-tiny", "--tool-prior", "-1")
    assert result.exit_code == 2 and "--tool-prior" in result.output and "Traceback" not in result.output


# ----------------------------------------------------------------------------------- errors


def assert_usage_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a clean exit, no crash
    message = result.stderr.strip()
    assert message.startswith("Error:") and "\n" not in message, message
    for needle in needles:
        assert needle in message, message


def test_missing_tools_file(tmp_path):
    missing = str(tmp_path / "nope.py")
    result = route(QUERY, "--tools", missing, "--json")
    assert_usage_error(result, missing, "no such file")
    assert result.stdout == ""


def test_empty_query():
    assert_usage_error(route("   ", "--tools", str(EXAMPLES / "tools.py")), "query is empty")


def test_duplicate_tool_name(tmp_path):
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps([{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}]))
    assert_usage_error(route(QUERY, "--tools", str(dup), "--tools", str(dup)), "duplicate tool name")
    # across files, each index points into the file it came from
    result = route(QUERY, "-t", str(EXAMPLES / "tools.py"), "-t", str(dup))
    assert_usage_error(result, "duplicate tool name", f"tools[0] of {str(dup)!r}",
                       f"tools[0] of {str(EXAMPLES / 'tools.py')!r}")


def test_tool_file_with_a_syntax_error(tmp_path):
    bad = tmp_path / "bad_tools.py"
    bad.write_text("def f(x: int):\n    return x\n\nTOOLS = [f\n")
    assert_usage_error(route(QUERY, "--tools", str(bad)), str(bad), "SyntaxError", "line 4")


def test_invalid_tool_schema_names_the_file_and_parameter(tmp_path):
    bad = tmp_path / "schema.yaml"
    bad.write_text("- name: lookup\n  parameters: {type: object, properties: {x: {type: wat}}}\n")
    assert_usage_error(route(QUERY, "--tools", str(bad)), str(bad), "'lookup'", "parameter 'x'")


def test_bad_model(tmp_path):
    result = route(QUERY, "--tools", str(EXAMPLES / "tools.py"), "--model", str(tmp_path / "no-weights"))
    assert_usage_error(result, "no-weights", "neither a weights directory")


def test_a_multi_line_error_is_printed_on_one_line(tmp_path):
    bad = tmp_path / "noisy.py"
    bad.write_text('raise ValueError("first line\\nsecond line")\n')
    assert_usage_error(route(QUERY, "--tools", str(bad)), "ValueError", "first line second line")


def test_tools_option_is_required():
    result = route(QUERY)
    assert result.exit_code == 2 and "--tools" in result.output


def test_readme_quick_start_routes_with_the_shipped_weights(monkeypatch):
    """The README's quick start, command 2, as written: it routes with the shipped default
    weights, prints an answer line and a confidence line, and the answer is the one the README
    quotes (new default weights must update the README)."""
    import shlex

    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    (line,) = [ln for ln in block.splitlines() if "# 2." in ln]
    argv = shlex.split(line.split("# 2.", 1)[0])
    assert argv[:2] == ["needle-router", "route"] and "--model" not in argv and "-m" not in argv
    monkeypatch.chdir(EXAMPLES.parent)
    result = CliRunner().invoke(main, argv[1:])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    at = next(i for i, ln in enumerate(lines) if ln.startswith("confidence "))
    answers, info = lines[:at], lines[at]
    assert answers == ["no call"] or all(re.fullmatch(r"\w+\(.*\)", a) for a in answers), result.output
    assert f"`{answers[0]}`" in readme, f"the README quotes another answer than {answers[0]!r}"
    assert re.match(r"confidence [01]\.\d{3}; ", info) and "5 tools" in info, result.output
