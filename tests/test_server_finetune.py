"""The playground's fine-tune jobs against a live server: needle-tiny as base, a 3-tool set and
tiny settings (the job takes seconds). needle-tiny is random, so routing is checked for
structure, and the report for shape, never for quality.
"""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("optax")  # the train extra

from needle_router.server.app import ServerSettings  # noqa: E402
from needle_router.server.background import BackgroundServer  # noqa: E402
from server_helpers import modules_after_import, raw  # noqa: E402


TOOLS = [
    {"type": "function", "function": {
        "name": "set_alarm", "description": "Set an alarm.",
        "parameters": {"type": "object", "properties": {
            "time": {"type": "string", "description": "When the alarm rings, e.g. 7:30."}}, "required": ["time"]}}},
    {"type": "function", "function": {
        "name": "play_song", "description": "Play a song by its title.",
        "parameters": {"type": "object", "properties": {
            "title": {"type": "string", "description": "The song's title."}}, "required": ["title"]}}},
    {"type": "function", "function": {
        "name": "set_lights", "description": "Switch the lights of a room on or off.",
        "parameters": {"type": "object", "properties": {
            "room": {"type": "string", "enum": ["kitchen", "bedroom", "office"]},
            "on": {"type": "boolean"}}, "required": ["room", "on"]}}},
]
NAMES = {t["function"]["name"] for t in TOOLS}
TINY = {"per_tool": 8, "epochs": 1, "minutes": 1}


def tiny_settings(tmp_path) -> ServerSettings:
    return ServerSettings(model="needle-tiny", max_new_tokens=64, examples_dir=None, timeout_s=120,
                          finetune_dir=tmp_path / "jobs", finetune_per_tool=8, finetune_epochs=1.0,
                          finetune_eval_every=5, finetune_lora_rank=4)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with BackgroundServer(tiny_settings(tmp_path_factory.mktemp("ft"))) as srv:
        yield srv


def call(server, method: str, path: str, payload=None, headers=None):
    body = None if payload is None else json.dumps(payload).encode()
    status, data, head = raw(server, method, path, body, {"content-type": "application/json", **(headers or {})})
    try:
        return status, json.loads(data), head
    except ValueError:
        return status, data, head


def wait_done(server, job_id: str, timeout_s: float = 240) -> tuple[dict, list[str]]:
    phases: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, body, _ = call(server, "GET", f"/playground/finetune/{job_id}")
        assert status == 200, body
        if not phases or phases[-1] != body["phase"]:
            phases.append(body["phase"])
        if not body["running"]:
            return body, phases
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s (phases {phases})")


@pytest.fixture(scope="module")
def finished(server):
    """One job run to the end; a second start while it runs is a 409."""
    t0 = time.monotonic()
    status, body, _ = call(server, "POST", "/playground/finetune", {"tools": TOOLS, **TINY})
    assert status == 202, body
    job_id = body["job"]
    again, err, _ = call(server, "POST", "/playground/finetune", {"tools": TOOLS, **TINY})
    assert again == 409 and err["error"]["code"] == "job_running", err
    final, phases = wait_done(server, job_id)
    print(f"\nfine-tune job {job_id}: {time.monotonic() - t0:.1f} s, phases {phases}")
    return final, phases


def test_cross_origin_start_is_refused(server):
    status, body, _ = call(server, "POST", "/playground/finetune", {"tools": TOOLS, **TINY},
                           headers={"origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in body["error"]["message"]


@pytest.mark.parametrize("payload, field", [
    ({"tools": []}, "tools"),
    ({"tools": "set_alarm"}, "tools"),
    ({"tools": TOOLS, "minutes": 31}, "minutes"),
    ({"tools": TOOLS, "minutes": "2"}, "minutes"),
    ({"tools": TOOLS, "per_tool": 2}, "per_tool"),
    ({"tools": TOOLS, "base": "/etc"}, "base"),
    ({"tools": TOOLS, "base": "../../weights"}, "base"),
    ({"tools": [{"type": "function", "function": {"name": "x", "parameters": {
        "type": "object", "properties": {"c": {"type": "string", "enum": []}}}}}]},
     "tools[0].function.parameters.properties.c"),
])
def test_bad_requests_name_the_field(server, payload, field):
    status, body, _ = call(server, "POST", "/playground/finetune", payload)
    assert status == 422 and body["error"]["param"] == field, body
    assert "Traceback" not in json.dumps(body)


@pytest.mark.parametrize("path", ["/playground/finetune/deadbeef", "/playground/finetune/deadbeef/download",
                                  "/playground/finetune/..%2F..%2Fetc/download",
                                  "/playground/finetune/../../etc/passwd"])
def test_unknown_jobs_are_404(server, path):
    status, body, _ = call(server, "GET", path)
    assert status == 404, body


def test_without_the_train_extra_the_answer_is_501(server, monkeypatch):
    monkeypatch.setitem(sys.modules, "needle_trainer.finetune.workflow", None)  # import fails
    status, body, _ = call(server, "POST", "/playground/finetune", {"tools": TOOLS, **TINY})
    assert status == 501 and "needle-router[train]" in body["error"]["message"], body


@pytest.mark.slow  # the job: ~20 s on a 2-core CPU, plus scoring
def test_job_reports_progress_and_the_report(finished):
    final, phases = finished
    assert final["phase"] == "done" and final["error"] is None, final
    assert phases[-1] == "done" and {"training", "scoring"} & set(phases), phases
    assert final["step"] == final["total"] > 0 and final["loss"] is not None
    assert 0 <= final["validation_exact_match"] <= 100
    report = final["report"]
    assert report["test_examples"] > 0
    assert 0 <= report["base_exact_match"] <= 100 and 0 <= report["tuned_exact_match"] <= 100
    assert final["model"] == f"needle-tiny-ft-{final['job']}"
    assert final["download"] == f"/playground/finetune/{final['job']}/download"
    assert final["elapsed_s"] > 0


@pytest.mark.slow  # the job: ~20 s on a 2-core CPU, plus scoring
def test_download_is_a_zip_of_the_tuned_model(server, finished):
    final, _ = finished
    status, data, head = raw(server, "GET", final["download"])
    assert status == 200 and head["content-type"] == "application/zip"
    assert "attachment" in head["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        prefix = final["model"] + "/"
        assert {prefix + n for n in ("model.safetensors", "config.json", "tools.json", "report.json",
                                     "report.md")} <= names
        assert all(n.startswith(prefix) and ".." not in n for n in names)
        tools = json.loads(archive.read(prefix + "tools.json"))
        assert {t["function"]["name"] for t in tools} == NAMES
        report = json.loads(archive.read(prefix + "report.json"))
        assert report["tuned"]["metrics"]["exact_match"] == final["report"]["tuned_exact_match"]


@pytest.mark.slow  # the job: ~20 s on a 2-core CPU, plus scoring
def test_chat_routes_with_the_tuned_model(server, finished):
    final, _ = finished
    status, models, _ = call(server, "GET", "/v1/models")
    assert final["model"] in {m["id"] for m in models["data"]}
    payload = {"model": final["model"], "tools": TOOLS, "tool_choice": "required",
               "messages": [{"role": "user", "content": "switch the kitchen lights off"}]}
    status, body, _ = call(server, "POST", "/v1/chat/completions", payload)
    assert status == 200, body
    assert body["model"] == final["model"]
    calls = body["choices"][0]["message"]["tool_calls"]
    assert calls and {c["function"]["name"] for c in calls} <= NAMES
    # any other model name keeps the server's own model (the OpenAI endpoint is unchanged)
    status, body, _ = call(server, "POST", "/v1/chat/completions", {**payload, "model": "gpt-4o"})
    assert status == 200 and body["model"] == "needle-tiny"


@pytest.mark.slow  # the job: ~20 s on a 2-core CPU, plus scoring
def test_a_tuned_model_can_be_the_next_base(server, finished):
    final, _ = finished
    status, body, _ = call(server, "POST", "/playground/finetune", {"tools": TOOLS, "base": "nope", **TINY})
    assert status == 422 and final["model"] in body["error"]["message"]


def test_the_server_does_not_import_the_trainer_until_a_job_starts():
    assert modules_after_import("import needle_router.server.app", ("needle_trainer",)) == []
