"""The playground's "Fine-tune on these tools" button in a real browser (Debian's headless
Chromium driven by Playwright), on needle-tiny with tiny fine-tune settings.

Click the button, watch the progress, wait for the tuned model to take over the badge, route
with it, download the zip; the screenshot goes to tests/artifacts/playground_finetune.png.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from server_helpers import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); .ci/run installs it",
                allow_module_level=True)
pytest.importorskip("starlette")
pytest.importorskip("optax")  # the train extra
sync_api = pytest.importorskip("playwright.sync_api")

from needle_router.server.app import ServerSettings  # noqa: E402
from needle_router.server.background import BackgroundServer  # noqa: E402
from server_helpers import PLAYGROUND_TOOLS, browser_page  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
TOOLS = PLAYGROUND_TOOLS + [
    {"type": "function", "function": {
        "name": "play_song", "description": "Play a song by its title.",
        "parameters": {"type": "object", "properties": {
            "title": {"type": "string", "description": "The song's title."}}, "required": ["title"]}}},
]
NAMES = {t["function"]["name"] for t in TOOLS}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = ServerSettings(model="needle-tiny", max_new_tokens=64, examples_dir=None,
                              finetune_dir=tmp_path_factory.mktemp("ft") / "jobs", finetune_per_tool=8,
                              finetune_epochs=1.0, finetune_eval_every=5, finetune_lora_rank=4)
    with BackgroundServer(settings) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(server):
    with browser_page(server.base_url + "/", viewport={"width": 1280, "height": 1000}, accept_downloads=True) as page:
        sync_api.expect(page.locator("#model")).to_contain_text("needle-tiny")
        yield page


def test_bad_tool_set_is_reported_plainly(page):
    page.fill("#tools", "[{not json")
    page.click("#finetune")
    sync_api.expect(page.locator("#ft-error")).to_contain_text("not valid JSON")
    assert page.locator("#ft-progress").is_hidden()


@pytest.mark.slow  # ~20-40 s of fine-tuning on a 2-core CPU
def test_finetune_switches_the_page_to_the_tuned_model(page, tmp_path):
    page.fill("#tools", json.dumps(TOOLS, indent=2))
    sync_api.expect(page.locator("#tools-status")).to_have_text("3 tools")
    page.fill("#ft-minutes", "1")
    t0 = time.monotonic()
    page.click("#finetune")
    sync_api.expect(page.locator("#ft-progress")).to_be_visible()
    sync_api.expect(page.locator("#finetune")).to_be_disabled()
    sync_api.expect(page.locator("#ft-text")).to_contain_text("step ", timeout=60_000)  # live progress

    sync_api.expect(page.locator("#ft-result")).to_be_visible(timeout=120_000)
    print(f"\nfine-tune in the browser: {time.monotonic() - t0:.1f} s")
    assert page.locator("#ft-error").is_hidden()
    badge = page.locator("#model")
    sync_api.expect(badge).to_contain_text("needle-tiny-ft-")
    sync_api.expect(badge).to_contain_text("fine-tuned here")
    tuned_id = badge.inner_text().split(" ")[0]
    sync_api.expect(page.locator("#ft-text")).to_contain_text("done")
    report = page.locator("#ft-report").inner_text()
    assert "base" in report and "tuned" in report and "%" in report

    # Run now routes with the tuned model
    page.fill("#query", "Lock the front door")
    page.select_option("#tool-choice", "required")
    with page.expect_response("**/v1/chat/completions") as answer:
        page.click("#run")
    assert answer.value.status == 200
    assert answer.value.json()["model"] == tuned_id
    assert json.loads(answer.value.request.post_data)["model"] == tuned_id
    name = page.locator("#calls .call-name").first
    sync_api.expect(name).to_be_visible(timeout=60_000)
    assert name.inner_text() in NAMES

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "playground_finetune.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"playground fine-tune screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    # the Download link gives the tuned model as a zip
    with page.expect_download() as download:
        page.click("#ft-download")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{tuned_id}.zip"
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as archive:
        names = set(archive.namelist())
    assert {f"{tuned_id}/{n}" for n in ("model.safetensors", "config.json", "tools.json", "report.json")} <= names
