"""The `serve` / `playground` commands without a server: registration, lazy imports, missing extra."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from needle_router.cli import main
from server_helpers import modules_after_import


def test_commands_are_registered_with_help():
    runner = CliRunner()
    out = runner.invoke(main, ["--help"]).output
    assert "serve" in out and "playground" in out
    serve = runner.invoke(main, ["serve", "--help"])
    assert serve.exit_code == 0 and "127.0.0.1" in serve.output and "--model" in serve.output
    page = runner.invoke(main, ["playground", "--help"])
    assert page.exit_code == 0 and "7860" in page.output


def test_cli_import_does_not_load_the_server_stack():
    assert modules_after_import("import needle_router.cli", ("starlette", "uvicorn")) == []


def test_serve_without_the_extra_names_it():
    code = ("import sys; sys.modules['uvicorn'] = None; sys.modules['starlette'] = None; "
            "from needle_router.cli import main; main(['serve', '--model', 'needle-tiny'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert 'needle-router[serve]' in out.stderr and "Traceback" not in out.stderr
