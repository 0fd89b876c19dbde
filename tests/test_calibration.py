"""Confidence calibration: the Platt fit, the reliability table, storing it with the weights,
and the router and `needle-router calibrate` applying it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from needle_router import NeedleRouter
from needle_router.calibration import Calibration
from needle_router.cli import main
from needle_router.model import get_config, init_params
from needle_router.model.weights import WeightsError, save_weights, update_metadata
from needle_trainer.evaluation.calibration import fit_platt, reliability

TIMER = {"type": "function", "function": {"name": "set_timer", "description": "Start a timer.",
         "parameters": {"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]}}}


def _overconfident(n: int, seed: int = 0):
    """Raw scores that claim p but are right only with probability p**3 (an overconfident model)."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0.05, 0.99, n)
    return raw, rng.uniform(size=n) < raw ** 3


def test_platt_fit_shrinks_the_calibration_error_of_an_overconfident_model():
    raw, right = _overconfident(4000)
    fitted = fit_platt(raw, right)
    calibrated = [fitted.apply(r) for r in raw]
    before, after = reliability(raw, right), reliability(calibrated, right)
    assert before["ece"] > 0.15
    assert after["ece"] < 0.04
    # monotone: the order of answers (and so any ranking by confidence) is unchanged
    order = np.argsort(raw)
    assert np.all(np.diff(np.asarray(calibrated)[order]) >= -1e-12)


def test_platt_fit_converges_when_many_answers_sit_at_the_clip():
    """A fitted no-call offset makes no-call answers all but certain (raw 1.0, logit at the
    clip) while most answers sit near logit 0 and are mostly wrong: plain Newton from (1, 0)
    diverged here (a ~ 1e6, every confidence 0 or 1)."""
    rng = np.random.default_rng(3)
    near = 1.0 / (1.0 + np.exp(-rng.normal(1.0, 1.5, 500)))
    raw = np.concatenate([np.ones(40), near])
    right = np.concatenate([rng.uniform(size=40) < 0.97, rng.uniform(size=500) < 0.3 * near / near.mean()])
    fitted = fit_platt(raw.tolist(), right.tolist())
    assert 0.0 < fitted.a < 10.0 and abs(fitted.b) < 10.0
    assert reliability([fitted.apply(r) for r in raw], right.tolist())["ece"] < 0.06


def test_reliability_bins_count_every_answer_and_measure_the_gap():
    table = reliability([0.95, 0.95, 0.15, 0.15], [True, False, False, False], bins=10)
    assert table["n"] == 4 and sum(b["n"] for b in table["bins"]) == 4
    top = next(b for b in table["bins"] if b["lo"] == pytest.approx(0.9))
    assert top["accuracy"] == 0.5 and top["confidence"] == pytest.approx(0.95)
    assert table["ece"] == pytest.approx((2 * 0.45 + 2 * 0.15) / 4)


@pytest.mark.parametrize("right", [[True] * 20, [False] * 20])
def test_platt_fit_refuses_a_set_with_one_outcome(right):
    with pytest.raises(ValueError, match="every answer was"):
        fit_platt(np.linspace(0.1, 0.9, 20), right)


@pytest.mark.parametrize("meta, message", [
    ({"method": "platt", "a": "x", "b": 0}, "must hold numbers"),
    ({"method": "platt", "a": -1.0, "b": 0.0}, "not a monotone"),
    ({"method": "isotonic", "a": 1.0, "b": 0.0}, "not a monotone"),
])
def test_bad_stored_calibration_is_a_clear_error(meta, message):
    with pytest.raises(ValueError, match=message):
        Calibration.from_info({"extra": {"calibration": meta}})


def _tiny_weights(path):
    save_weights(path, init_params("needle-tiny"), get_config("needle-tiny"), extra_metadata={"run": "t"})
    return path


def test_update_metadata_keeps_the_tensors_and_other_metadata(tmp_path):
    folder = _tiny_weights(tmp_path / "w")
    tensors = (folder / "model.safetensors").read_bytes()
    update_metadata(folder, {"calibration": {"method": "platt", "a": 2.0, "b": -1.0}})
    info = json.loads((folder / "config.json").read_text())
    assert info["metadata"] == {"run": "t", "calibration": {"method": "platt", "a": 2.0, "b": -1.0}}
    assert (folder / "model.safetensors").read_bytes() == tensors
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        update_metadata(folder, {"x": float("nan")})
    (folder / "config.json").write_text("{")
    with pytest.raises(WeightsError, match="config.json: malformed config"):
        update_metadata(folder, {"y": 1})


async def test_router_reports_the_calibrated_confidence(tmp_path):
    folder = _tiny_weights(tmp_path / "w")
    raw = (await NeedleRouter([TIMER], model=str(folder)).route("set a timer for 5 minutes")).confidence
    mapping = Calibration(0.5, 1.0)
    update_metadata(folder, {"calibration": mapping.to_metadata()})
    router = NeedleRouter([TIMER], model=str(folder))
    assert router.calibration == mapping
    calibrated = (await router.route("set a timer for 5 minutes")).confidence
    assert calibrated == pytest.approx(mapping.apply(raw), abs=1e-6)
    assert calibrated != pytest.approx(raw, abs=1e-3)


def test_cli_calibrate_fits_and_stores_a_mapping(tmp_path):
    folder = _tiny_weights(tmp_path / "w")
    res = CliRunner().invoke(main, ["calibrate", "--model", str(folder), "--n", "60"])
    assert res.exit_code == 0, res.output
    assert "expected calibration error" in res.output and "| confidence bin |" in res.output
    stored = json.loads((folder / "config.json").read_text())["metadata"]["calibration"]
    assert stored["method"] == "platt" and stored["a"] > 0 and stored["n"] == 60
    assert 0.0 <= stored["ece_after"] <= 1.0 and 0.0 <= stored["ece_before"] <= 1.0
    dry = CliRunner().invoke(main, ["calibrate", "--model", str(tmp_path / "missing")])
    assert dry.exit_code != 0 and "does not exist" in dry.output
