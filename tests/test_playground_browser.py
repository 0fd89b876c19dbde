"""The playground in a real browser: Debian's headless Chromium driven by Playwright.

Enter a tool set and a query, click Run, and check the rendered call; the screenshot is saved
to tests/artifacts/ (gitignored) and its path printed. Playwright never downloads a browser here:
it drives /usr/bin/chromium (``.ci/run`` installs it with apt).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from server_helpers import CHROMIUM

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); .ci/run installs it",
                allow_module_level=True)
pytest.importorskip("starlette")
sync_api = pytest.importorskip("playwright.sync_api")

from needle_router.server.app import ServerSettings  # noqa: E402
from needle_router.server.background import BackgroundServer  # noqa: E402
from server_helpers import PLAYGROUND_TOOLS, browser_page  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
TOOLS = PLAYGROUND_TOOLS


@pytest.fixture(scope="module")
def server():
    settings = ServerSettings(model="needle-tiny", max_new_tokens=64, examples_dir=ROOT / "examples")
    with BackgroundServer(settings) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(server):
    with browser_page(server.base_url + "/", viewport={"width": 1280, "height": 900}) as page:
        yield page


def test_run_renders_the_call(page):
    # the example list loads and fills the editor with the first example
    sync_api.expect(page.locator("#example option")).not_to_have_count(1)
    sync_api.expect(page.locator("#model")).to_contain_text("needle-tiny")
    page.wait_for_function("document.getElementById('tools').value.includes('get_weather')")

    page.fill("#tools", json.dumps(TOOLS, indent=2))
    sync_api.expect(page.locator("#tools-status")).to_have_text("2 tools")
    page.fill("#query", "Set the living room to 21 degrees")
    page.select_option("#tool-choice", "required")
    page.click("#run")

    name = page.locator("#calls .call-name").first
    sync_api.expect(name).to_be_visible(timeout=60_000)
    assert name.inner_text() in {"set_thermostat", "lock_door"}
    args = json.loads(page.locator("#calls .call-args").first.inner_text())
    assert isinstance(args, dict)
    required = {"set_thermostat": {"room", "celsius"}, "lock_door": {"door"}}[name.inner_text()]
    assert required <= set(args)
    confidence = float(page.locator("#confidence").inner_text())
    assert 0.0 <= confidence <= 1.0
    assert page.locator("#latency").inner_text().endswith(" ms")
    assert page.locator("#error").is_hidden()
    sync_api.expect(page.locator("#history li")).to_have_count(1)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "playground.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nplayground screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_bad_tool_set_shows_the_field(page):
    bad = [{"type": "function", "function": {"name": "pick", "parameters": {
        "type": "object", "properties": {"color": {"type": "string", "enum": []}}}}}]
    page.fill("#tools", json.dumps(bad))
    page.fill("#query", "pick a color")
    page.click("#run")
    error = page.locator("#error")
    sync_api.expect(error).to_be_visible(timeout=60_000)
    sync_api.expect(error).to_contain_text("422")
    sync_api.expect(error).to_contain_text("tools[0].function.parameters.properties.color")

    page.fill("#tools", "[{not json")
    sync_api.expect(page.locator("#tools-status")).to_contain_text("not valid JSON")


def test_example_registry_loads(page):
    options = page.locator("#example option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert "tools.json" in values
    registries = [v for v in values if v.startswith("registries/")]
    if registries:  # the repository's evaluation registries (tools.py), offered as JSON
        page.fill("#tools", "")
        page.select_option("#example", registries[0])
        page.wait_for_function("""() => {  // wait for the whole tool list, not a half-written editor
            try { const v = JSON.parse(document.getElementById('tools').value); return Array.isArray(v) && v.length > 0; }
            catch (e) { return false; } }""")
        tools = json.loads(page.locator("#tools").input_value())
        assert tools and all(t["type"] == "function" for t in tools)
        sync_api.expect(page.locator("#tools-status")).to_have_text(f"{len(tools)} tools")
