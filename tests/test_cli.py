"""The `needle-router` command, run for real (in process and as the installed script)."""

import shutil
import subprocess

from click.testing import CliRunner

from needle_router import __version__
from needle_router.cli import main


def test_installed_script_reports_its_version():
    exe = shutil.which("needle-router")
    assert exe, "the console script is not installed (pip install -e .)"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


def test_every_subcommand_has_help():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_generate_runs_the_model_and_labels_untrained_weights():
    result = CliRunner().invoke(main, ["generate", "turn on the kitchen lights", "-m", "needle-tiny", "-n", "8"])
    assert result.exit_code == 0, result.output
    assert "UNTRAINED" in result.output
    assert "8 output tokens" in result.output


def test_generate_rejects_an_empty_query():
    result = CliRunner().invoke(main, ["generate", "   ", "-m", "needle-tiny"])
    assert result.exit_code == 2
    assert "query is empty" in result.output


def test_a_bad_model_path_is_a_one_line_error(tmp_path):
    from needle_router.model import get_config, init_params
    from needle_router.model.weights import save_weights

    save_weights(tmp_path, init_params("needle-tiny"), get_config("needle-tiny"))
    result = CliRunner().invoke(main, ["info", "-m", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (tmp_path / "config.json").write_text("{not json")
    result = CliRunner().invoke(main, ["info", "-m", str(tmp_path)])
    assert result.exit_code == 1
    assert "config.json" in result.output and "Traceback" not in result.output
