"""The benchmark scripts run end to end (on needle-tiny, tiny budgets) and print their tables."""

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
