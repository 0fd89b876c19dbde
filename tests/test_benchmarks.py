"""The benchmark scripts run end to end (on needle-tiny, tiny budgets) and print their tables."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> str:
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_bench_decode_prints_speed_and_baseline_tables():
    out = _run("benchmarks/bench_decode.py", "--preset", "needle-tiny", "--repeats", "2",
               "--baseline-tokens", "4")
    assert "| batch | prefill tok/s | decode tok/s | latency p50 ms | latency p95 ms |" in out
    assert "| 1 | 4 |" in out and "x |" in out


def test_bench_train_step_prints_a_table():
    out = _run("benchmarks/bench_train_step.py", "--preset", "needle-tiny", "--batch", "2",
               "--enc-len", "32", "--dec-len", "8", "--steps", "1", "--dtypes", "float32", "--qat", "off,4")
    assert "| 2 | float32 | int4 |" in out


# --- router and grammar benchmarks: run in-process through their main(argv) --------------------

_NUM = r"-?[\d,]+(?:\.\d+)?"


def _bench(name: str):
    """The benchmark script ``benchmarks/<name>.py`` as a module (it finds its siblings itself)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_tools_are_valid_varied_and_deterministic():
    from needle_router.tools import assign_internal_names, to_tool_specs

    synthetic = _bench("synthetic_tools")
    tools = synthetic.make_tools(300, seed=1)
    assert tools == synthetic.make_tools(300, seed=1) and tools != synthetic.make_tools(300, seed=2)
    names = [t["function"]["name"] for t in tools]
    assert len(set(names)) == 300
    specs = assign_internal_names(to_tool_specs(tools))  # every tool is a valid OpenAI-style tool
    assert [s.name for s in specs] == names
    kinds = set()
    for t in tools:
        params = t["function"]["parameters"]
        assert 1 <= len(params["properties"]) <= 6 and t["function"]["description"]
        kinds |= {"enum" if "enum" in p else p["type"] for p in params["properties"].values()}
    assert kinds == {"string", "integer", "number", "boolean", "enum", "array", "object"}
    assert any(t["function"]["parameters"]["required"] for t in tools)
    assert len(synthetic.make_tools(5000)) == 5000
    queries = synthetic.make_queries(40, seed=3)
    assert queries == synthetic.make_queries(40, seed=3) and len(set(queries)) > 30


def test_bench_router_prints_concurrency_table(capsys):
    rows = _bench("bench_router").main([
        "--preset", "needle-tiny", "--requests", "4", "--callers", "1,2", "--max-batch", "2", "--warmup", "1"])
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "model: needle-tiny" in out
    assert ("| mode | callers | requests | routes/s | p50 ms | p99 ms | speedup vs baseline | mean batch size "
            "| mean output tokens |") in out
    assert re.search(rf"\| baseline \(max_batch=1, sequential\) \| 1 \| 4 \| {_NUM} \| {_NUM} \| {_NUM} \| 1\.00x \| 1\.0 \|", out)
    for callers in (1, 2):
        assert re.search(rf"\| batched \| {callers} \| 4 \| {_NUM} \| {_NUM} \| {_NUM} \| {_NUM}x \| {_NUM} \| {_NUM} \|", out)
    assert [r["callers"] for r in rows] == [1, 1, 2] and all(r["rps"] > 0 for r in rows)
    assert all(1.0 <= r["batch"] <= 2.0 for r in rows[1:])


def test_bench_grammar_compile_table(capsys):
    rows = _bench("bench_grammar").main(["--tables", "a", "--sizes", "5,20", "--compile-reps", "1"])["a"]
    out = capsys.readouterr().out
    assert "| tools | states | symbol classes | table KiB | compile ms | tokens per tool |" in out
    assert re.search(rf"\| 5 \| {_NUM} \| \d+ \| {_NUM} \| {_NUM} \| {_NUM} \|", out)
    assert re.search(rf"\| 20 \| {_NUM} \| \d+ \| {_NUM} \| {_NUM} \| {_NUM} \|", out)
    assert rows[0][1] < rows[1][1]  # more tools, more states


def test_bench_grammar_decode_and_routing_tables(capsys):
    out_rows = _bench("bench_grammar").main([
        "--preset", "needle-tiny", "--quick", "--tables", "bc", "--batches", "1", "--route-sizes", "10"])
    out = capsys.readouterr().out
    assert "| batch | unconstrained ms/step | constrained ms/step | overhead % |" in out
    assert re.search(rf"\| 1 \| {_NUM} \| {_NUM} \| [+-]{_NUM} \| {_NUM} \| {_NUM} \| \d+ / \d+ \|", out)
    assert "| tools | bind ms | of which grammar ms | embed ms | route p50 ms | route p99 ms |" in out
    assert re.search(rf"\| 10 \| {_NUM} \| {_NUM} \| {_NUM} \| {_NUM} \| {_NUM} \| {_NUM} \|", out)
    (batch, unc, con, _, mask), = out_rows["b"]
    assert batch == 1 and unc[1] > 0 and con[1] > 0 and mask > 0


def test_bench_data_prints_its_tables():
    out = _run("benchmarks/bench_data.py", "--examples", "256", "--warm-chunks", "1", "--workers", "0",
               "--no-harvest")
    assert "| warm: generate + validate + tokenize | 256 |" in out
    assert "| packed with segment ids |" in out and "| encoder |" in out


def test_bench_eval_prints_batched_vs_sequential_table():
    import importlib.util as iu
    import pytest

    if iu.find_spec("bfcl_eval") is None:
        pytest.skip('bfcl-eval is not installed (pip install --no-deps "bfcl-eval==2026.3.23")')
    out = _run("benchmarks/bench_eval.py", "--model", "needle-tiny", "--subset", "1", "--batches", "1,4",
               "--limit", "2", "--batch", "4")
    assert "| run | entries | mean answer tokens | max_batch | cold s (compiles) | warm s |" in out
    assert re.search(r"\| subset \(1 per category\) \| 5 \| [\d.]+ \| 4 \| .* \| [\d.]+x \|", out)
    assert re.search(r"\| whole suite, as `eval` runs it \| 10 \|", out)


def test_bench_grounding_prints_each_mode_per_category():
    out = _run("benchmarks/bench_grounding.py", "--model", "needle-tiny", "--limit", "2")
    assert "| category | n | arguments | exact match |" in out
    for mode in ("keep every argument", "drop ungrounded", "drop + fill named enums",
                 "drop + complete names + fill (default)"):
        assert re.search(rf"\| single \| 2 \| {re.escape(mode)} \| [\d.]+ \|", out)
        assert re.search(rf"\| \*\*all\*\* \(all cases\) \| \d+ \| {re.escape(mode)} \| [\d.]+ \|", out)


def test_bench_retrieval_prints_each_ranking_and_what_clauses_cost():
    out = _run("benchmarks/bench_retrieval.py", "--model", "needle-tiny", "--n", "40")
    assert "recall@5 among 100 tools (needle-tiny)" in out
    assert re.search(r"clauses, z-sum w=0\.5 \(router\) │\s+[\d.]+ │\s+[\d.]+ │", out)
    assert re.search(r"2\+ tools: queries │\s+\d+ │\s+\d+ │", out)
    assert re.search(r"embedding the clauses adds [\d.]+ ms per query \(\d+% of held-out queries have clauses\) "
                     r"beside [\d.]+ ms", " ".join(out.split()))


def test_bench_tool_prior_times_it_against_no_prior_and_sweeps_its_weight():
    out = _run("benchmarks/bench_tool_prior.py", "--model", "needle-tiny", "--n", "12", "--weights", "0,3",
               "--rounds", "1")
    assert re.search(r"off \(baseline\) │\s+[\d.]+ │\s+[\d.]+ │\s+1\.00x", out)
    assert re.search(r"weight 3 │\s+[\d.]+ │\s+[\d.]+ │\s+[\d.]+x", out)
    assert re.search(r"3 \(default\) │\s+[\d.]+ │", out) and re.search(r"│\s+0 │\s+[\d.]+ │", out)


def test_bench_clauses_times_clause_routing_against_none_and_scores_both():
    out = _run("benchmarks/bench_clauses.py", "--model", "needle-tiny", "--n", "12", "--rounds", "1")
    assert re.search(r"off \(baseline\)\s*│\s+[\d.]+ │\s+[\d.]+ │\s+[\d.]+ │\s+1\.00x", out)
    assert re.search(r"on \(default\)\s*│\s+[\d.]+ │\s+[\d.]+ │\s+[\d.]+ │\s+[\d.]+x", out)
    assert re.search(r"dining hand-written │\s+60 │\s+[\d.]+ -> [\d.]+ │", out)
    assert re.search(r"training-split │\s+12 │\s+[\d.]+ -> [\d.]+ │", out)
