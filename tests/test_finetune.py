"""`needle-router finetune` end to end on needle-tiny and a 3-tool registry (seconds)."""

from __future__ import annotations

import io
import json
import shutil
import warnings

import pytest
from click.testing import CliRunner

from needle_router import NeedleRouter
from needle_router.cli import main

REGISTRY = '''
from typing import Literal


def set_alarm(time: str, label: str = "") -> dict:
    """Set an alarm.

    Args:
        time: When the alarm rings, e.g. "7:30".
        label: A name for the alarm.
    """
    return {}


def play_song(title: str, volume: int = 5) -> dict:
    """Play a song by its title.

    Args:
        title: The song's title.
        volume: Loudness from 1 to 10.
    """
    return {}


def set_lights(room: Literal["kitchen", "bedroom", "office"], on: bool) -> dict:
    """Switch the lights of a room on or off.

    Args:
        room: Which room.
        on: True to switch on, False to switch off.
    """
    return {}


TOOLS = [set_alarm, play_song, set_lights]
'''


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    root = tmp_path_factory.mktemp("finetune")
    tools = root / "tools.py"
    tools.write_text(REGISTRY)
    out = root / "out"
    res = CliRunner().invoke(main, ["finetune", "--tools", str(tools), "--base", "needle-tiny", "--full",
                                    "--examples-per-tool", "60", "--epochs", "10", "--minutes", "3",
                                    "--eval-every", "40", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return tools, out, res.output


def test_outputs_exist_and_load(tuned):
    tools, out, output = tuned
    for name in ("model.safetensors", "config.json", "tools.json", "report.json", "report.md", "curve.png",
                 "data/train.jsonl", "data/validation.jsonl", "data/test.jsonl"):
        assert (out / name).is_file(), name
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((out / "report.json").read_text())
    assert report["tuned"]["n"] == len((out / "data/test.jsonl").read_text().splitlines())
    assert "tuned exact" in output
    timings = report["timings"]        # --minutes limits the whole run, so training got less
    assert timings["budget_minutes"] == 3 and 0 < timings["training_minutes"] < 3
    assert timings["total"] >= timings["data"] + timings["base_scoring"] + timings["training"]
    assert report["base"] == json.loads((out / "base_scores.json").read_text())["test"]
    assert "Time: " in (out / "report.md").read_text()
    # the no-call decision was fitted on the validation split and travels with the weights
    stored = json.loads((out / "config.json").read_text())["metadata"]["decision"]
    assert report["decision"] == stored and stored["split"] == "validation"
    from needle_router.decision import no_call_decision
    assert no_call_decision({"extra": {"decision": stored}}).bias == stored["no_call_bias"]
    assert stored["accuracy_after"] >= stored["accuracy_before"] and stored["calls_kept"] >= 0.75
    assert "no-call offset" in output and "(validation split)" in output
    # so was the confidence mapping, for the answers that decision writes
    mapping = json.loads((out / "config.json").read_text())["metadata"]["calibration"]
    assert mapping["split"] == "validation" and mapping["n"] >= 10 and mapping["a"] > 0
    assert report["calibration"] == mapping
    assert 0.0 <= mapping["ece_after"] <= 1.0 and 0.0 <= mapping["ece_before"] <= 1.0
    assert "confidence calibrated on" in output
    from needle_router.calibration import Calibration
    assert not Calibration.from_info({"extra": {"calibration": mapping}}).is_identity
    from needle_router.tools import load_tools_file
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same tools: no warning
        router = NeedleRouter(load_tools_file(tools), model=str(out))
    assert router.top_k >= 3
    res = router.route_sync("switch the kitchen lights off")
    assert all(c.name in {"set_alarm", "play_song", "set_lights"} for c in res.calls)


def test_the_tuned_model_beats_its_base_on_its_test_split(tuned):
    report = json.loads((tuned[1] / "report.json").read_text())
    base, after = report["base"]["metrics"], report["tuned"]["metrics"]
    assert after["tool_name_f1"] > base["tool_name_f1"] + 10
    assert after["exact_match"] > base["exact_match"]


def test_other_tools_warn(tuned):
    def other(x: int) -> int:
        """Another tool."""
        return x

    with pytest.warns(UserWarning, match="fine-tuned on another tool set"):
        NeedleRouter([other], model=str(tuned[1]))


def test_resume_reads_the_base_scores_back(tuned, tmp_path):
    tools, out, _ = tuned
    again = tmp_path / "again"
    shutil.copytree(out, again)
    res = CliRunner().invoke(main, ["finetune", "--tools", str(tools), "--base", "needle-tiny", "--full",
                                    "--examples-per-tool", "60", "--epochs", "10", "--minutes", "3",
                                    "--eval-every", "40", "--out", str(again), "--resume"])
    assert res.exit_code == 0, res.output
    assert "scoring the base model" not in res.output and "scoring the tuned model" in res.output
    first, second = (json.loads((d / "report.json").read_text()) for d in (out, again))
    assert second["base"] == first["base"]
    # resumed, not restarted: a run that ended its epochs or stalled has nothing left to do; one
    # stopped by the time limit (a slow or busy machine) may go on from its step with a fresh limit
    if first["summary"]["stop"] == "time_limit":
        assert second["summary"]["steps"] >= first["summary"]["steps"]
    else:
        assert second["summary"]["steps"] == first["summary"]["steps"]


def test_existing_output_needs_resume(tuned):
    tools, out, _ = tuned
    res = CliRunner().invoke(main, ["finetune", "--tools", str(tools), "--base", "needle-tiny", "--out", str(out)])
    assert res.exit_code == 2 and "--resume" in res.output


def test_bad_tools_file_is_one_line(tmp_path):
    bad = tmp_path / "tools.json"
    bad.write_text('[{"name": "x", "parameters": {"type": "object", "required": ["y"]}}]')
    res = CliRunner().invoke(main, ["finetune", "--tools", str(bad), "--base", "needle-tiny", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "tools.json" in res.output and "Traceback" not in res.output


def _small_run(tmp_path):
    from needle_router.tools import assign_internal_names, load_tools_file, to_tool_specs
    from needle_trainer.finetune import data

    tools = tmp_path / "tools.py"
    tools.write_text(REGISTRY)
    specs = assign_internal_names(to_tool_specs(load_tools_file(tools)))
    splits = data.split_per_tool(data.synthesize(specs, per_tool=12, seed=1), seed=1)
    return specs, splits


def test_resuming_a_stalled_run_trains_no_further(tmp_path):
    """Early stopping holds across --resume: a run that stopped for lack of progress is done."""
    from needle_trainer.finetune.train import FinetuneConfig, finetune

    specs, splits = _small_run(tmp_path)
    cfg = FinetuneConfig(out_dir=str(tmp_path / "out"), base="needle-tiny", epochs=50, eval_every=2,
                         eval_share=None, minutes=None, eval_examples=4, patience=2,
                         learning_rate=1e-12)  # a rate this small cannot move validation: it stalls
    first = finetune(specs, splits, cfg)
    assert first["stop"] == "no_progress" and first["steps"] < first["total_steps"]
    second = finetune(specs, splits, cfg, resume=True)
    assert second["stop"] == "no_progress" and second["steps"] == first["steps"]


def test_interrupt_keeps_the_best_weights_and_resume_continues(tmp_path):
    from needle_router.model.loading import load_model
    from needle_trainer.finetune.train import FinetuneConfig, finetune

    specs, splits = _small_run(tmp_path)
    cfg = FinetuneConfig(out_dir=str(tmp_path / "out"), base="needle-tiny", lora_rank=4, epochs=4,
                         eval_every=3, eval_share=None, minutes=None, eval_examples=8, patience=100)

    def ctrl_c(event):
        if event["step"] == 7:
            raise KeyboardInterrupt

    first = finetune(specs, splits, cfg, on_step=ctrl_c)
    assert first["stop"] == "interrupted" and first["steps"] == 7
    loaded = load_model(str(tmp_path / "out"))  # the best weights so far are a loadable directory
    assert loaded.info["extra"]["finetune"]["tools"] == [s.name for s in specs]
    second = finetune(specs, splits, cfg, resume=True)
    assert second["stop"] == "epochs" and second["steps"] == second["total_steps"] > 7
    steps = [h["step"] for h in second["history"]]
    assert steps[:3] == [0, 3, 6] and steps == sorted(steps)  # continued from the step-6 checkpoint


def test_the_steps_before_the_time_limit_are_validated(tmp_path):
    from needle_trainer.finetune.train import FinetuneConfig, finetune

    specs, splits = _small_run(tmp_path)
    cfg = FinetuneConfig(out_dir=str(tmp_path / "out"), base="needle-tiny", lora_rank=4, epochs=50,
                         eval_every=10_000, minutes=0.05, eval_examples=4)
    summary = finetune(specs, splits, cfg)
    assert summary["stop"] == "time_limit" and 0 < summary["steps"] < summary["total_steps"]
    assert [h["step"] for h in summary["history"]] == [0, summary["steps"]]


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    from needle_trainer.finetune.train import learning_rate

    assert learning_rate(0, 400, 1e-3) == 0.0
    assert abs(learning_rate(20, 400, 1e-3) - 1e-3) < 1e-12
    rates = [learning_rate(s, 400, 1e-3) for s in range(20, 401, 20)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert abs(rates[-1] - 1e-4) < 1e-12


def test_the_schedule_is_fitted_to_the_time_limit():
    from needle_trainer.finetune.train import Horizon

    h = Horizon(total=825, minutes=15, eval_every=50)
    assert h.refit(0, 100, 200.0) == 450          # 2 s a step: 450 steps fit in 15 minutes
    assert h.refit(0, 100, 20.0) == 825           # fast enough for every epoch
    assert h.refit(0, 400, 890.0) == 404          # in the last interval: the steps that still fit
    assert h.refit(300, 400, 200.0) == 750        # resumed at step 300: this run's pace and budget
    assert Horizon(total=825, minutes=None, eval_every=50).refit(0, 100, 200.0) == 825


def test_validation_takes_at_most_its_share_of_the_time():
    from needle_trainer.finetune.train import Cadence

    cadence = Cadence(every=50, share=0.1)
    assert cadence.interval(step_seconds=1.0, eval_seconds=2.0) == 50     # cheap validation: the fewest steps
    assert cadence.interval(step_seconds=1.0, eval_seconds=12.0) == 108   # 108 s of steps per 12 s validating
    assert cadence.next(100, 1000, 1.0, 12.0) == 208
    assert cadence.next(900, 1000, 1.0, 12.0) == 1000                     # no short interval before the end
    assert Cadence(every=50, share=None).interval(1.0, 12.0) == 50
    with pytest.raises(ValueError, match="eval_share"):
        Cadence(every=50, share=1.5)


def test_the_time_limit_covers_data_scoring_and_training():
    from rich.console import Console

    from needle_trainer.finetune.workflow import training_minutes

    quiet = Console(file=io.StringIO())
    # 60 s spent; scoring 400 examples took 100 s, 800 remain: 1.1 x 200 s + 5 s are kept for them
    assert training_minutes(20, 60, 100, 400, 800, quiet) == pytest.approx((1200 - 60 - 225) / 60)
    assert training_minutes(None, 60, 100, 400, 800, quiet) is None
    loud = io.StringIO()
    assert training_minutes(2, 60, 100, 400, 800, Console(file=loud)) == pytest.approx(0.5)  # a quarter at least
    assert "time limit is tight" in loud.getvalue()


def test_every_epoch_shows_every_example_once_however_its_shuffle_packs():
    """Shuffles pack into different numbers of batches; each step still names a batch, and the
    steps of an epoch hold each example exactly once (a regression: epoch 1 packing into fewer
    batches than epoch 0 once raised IndexError mid-run)."""
    import numpy as np

    from needle_trainer.data.encode import Encoded
    from needle_trainer.finetune.train import BatchPlan

    rng = np.random.default_rng(0)

    def example(i: int) -> Encoded:
        n, m = int(rng.integers(20, 400)), int(rng.integers(4, 60))
        enc = np.full(n, 100 + i, np.int32)
        return Encoded(enc, np.zeros(m, np.int32), np.full(m, 100 + i, np.int32), np.ones(m, np.int8), enc, [], [])

    plan = BatchPlan([example(i) for i in range(150)], rows=4, seed=0)
    counts = [len(plan._pack(e)) for e in range(6)]
    assert len(set(counts)) > 1, counts           # the case this test is about does occur
    step = 0
    for epoch, count in enumerate(counts):
        seen = []
        for _ in range(count):
            batch = plan.batch(step)
            ids = batch["dec_targets"][batch["dec_targets"] >= 100]
            seen += sorted(set(ids.tolist()))
            step += 1
        assert sorted(seen) == list(range(100, 250)), epoch


def test_validation_routes_as_the_tuned_folder_is_served():
    """A registry larger than the router's default top_k (8): the tuned folder is served with
    every tool shown, so its in-training validation must show every tool too."""
    from needle_router.model import init_params
    from needle_router.model.config import get_config
    from needle_router.tools import to_tool_specs
    from needle_trainer.finetune.train import FinetuneConfig, tuned_metadata
    from needle_trainer.loop import ParamsEvaluator

    tools = [{"type": "function", "function": {
        "name": f"tool_{i}", "description": f"Tool number {i}.",
        "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}}}
        for i in range(10)]
    specs = to_tool_specs(tools)
    cfg = get_config("needle-tiny")
    example = {"query": "use tool 3 with x abc", "tools": tools, "calls": []}
    served = {"extra": tuned_metadata(specs, FinetuneConfig(out_dir="unused"), "base", 0, {})}
    shown = {}
    for label, info in (("served", served), ("plain", None)):
        evaluate = ParamsEvaluator(cfg, max_new_tokens=16, info=info)
        assert evaluate(init_params(cfg, seed=0), [example], None)["n"] == 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shown[label] = NeedleRouter(tools, model=evaluate.engine).top_k
    assert shown == {"served": 10, "plain": 8}


def test_a_resume_keeps_the_first_runs_method(tuned, tmp_path):
    tools, out, _ = tuned                  # tuned with --full: the checkpoint holds every trained weight
    again = tmp_path / "again"
    shutil.copytree(out, again)
    res = CliRunner().invoke(main, ["finetune", "--tools", str(tools), "--base", "needle-tiny", "--freeze-encoder",
                                    "--out", str(again), "--resume"])
    assert res.exit_code == 2
    assert "'full'" in res.output and "'full-frozen-encoder'" in res.output and "--freeze-encoder" in res.output


def test_frozen_encoder_gets_no_gradient_and_the_same_logits():
    import jax
    import jax.numpy as jnp

    from needle_router.model import Needle
    from needle_router.model.loading import load_model

    loaded = load_model("needle-tiny")
    model = Needle(loaded.config)
    b, s, t = 2, 12, 6
    enc = jnp.arange(b * s, dtype=jnp.int32).reshape(b, s) % 50 + 10
    dec = jnp.arange(b * t, dtype=jnp.int32).reshape(b, t) % 40 + 10
    ones_s, ones_t = jnp.ones((b, s), jnp.int32), jnp.ones((b, t), jnp.int32)
    pos_s, pos_t = jnp.broadcast_to(jnp.arange(s), (b, s)), jnp.broadcast_to(jnp.arange(t), (b, t))

    def loss(params, freeze):
        logits = model.apply({"params": params}, enc, ones_s, pos_s, dec, ones_t, pos_t,
                             freeze_encoder=freeze, method=Needle.packed_logits)
        return jnp.mean(jax.nn.log_softmax(logits)[..., 3]), logits

    (_, frozen_logits), frozen = jax.value_and_grad(loss, has_aux=True)(loaded.params, True)
    (_, logits), grads = jax.value_and_grad(loss, has_aux=True)(loaded.params, False)
    assert jnp.allclose(frozen_logits, logits)
    norm = lambda tree: float(sum(jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(tree)))  # noqa: E731
    assert norm(frozen["encoder"]) == 0.0 and norm(grads["encoder"]) > 0
    assert norm(frozen["decoder"]) > 0 and norm(frozen["embed"]) > 0


def test_a_frozen_encoder_fine_tune_changes_only_the_decoder_and_embeddings(tmp_path):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from needle_router.model.loading import load_model
    from needle_trainer.data.encode import Encoder
    from needle_trainer.finetune.train import BatchPlan, initial_state, make_step, merged_params

    _, splits = _small_run(tmp_path)
    loaded = load_model("needle-tiny")
    base = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), loaded.params)
    plan = BatchPlan(Encoder().encode_many(splits["train"]), 4, 0)
    tx, state = initial_state(base, None, freeze_encoder=True)
    assert set(state.params) == {"decoder", "embed"}
    step = make_step(loaded.config, base, None, 32.0, tx, freeze_encoder=True)
    losses = []
    for i in range(4):
        state, metrics = step(state, plan.batch(0), jnp.float32(3e-3))  # one batch: its loss must fall
        losses.append(float(metrics["loss"]))
    assert losses[-1] < losses[0]
    tuned = merged_params(base, state.params, None, 32.0)

    def changed(part: str) -> bool:
        pairs = zip(jax.tree.leaves(base[part]), jax.tree.leaves(tuned[part]))
        return any(not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in pairs)

    assert not changed("encoder") and not changed("retrieval")
    assert changed("decoder") and changed("embed")


def test_a_second_ctrl_c_skips_scoring_and_leaves_the_weights(tmp_path):
    from rich.console import Console

    from needle_router.model.loading import load_model
    from needle_router.tools import assign_internal_names, load_tools_file, to_tool_specs
    from needle_trainer.finetune import workflow

    tools = tmp_path / "tools.py"
    tools.write_text(REGISTRY)
    specs = assign_internal_names(to_tool_specs(load_tools_file(tools)))
    out = tmp_path / "out"

    def ctrl_c(event):
        if event.get("step") == 3 or event.get("phase") == "scoring":
            raise KeyboardInterrupt

    console = Console(file=io.StringIO(), width=200)
    with pytest.raises(KeyboardInterrupt):
        workflow.run(specs, out, tools_file=str(tools), per_tool=10, epochs=5, minutes=None, base="needle-tiny",
                     eval_every=2, console=console, on_event=ctrl_c)
    said = console.file.getvalue()
    assert "Ctrl-C again skips that" in said and f"{out} holds the best weights so far" in said
    assert not (out / "report.json").exists()
    assert "finetune" in load_model(str(out)).info["extra"]       # the kept weights load
