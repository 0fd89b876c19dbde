"""Helpers shared by the server and playground tests."""

from __future__ import annotations

import ast
import contextlib
import http.client
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser

# A small tool set the playground browser tests type into the page.
PLAYGROUND_TOOLS = [
    {"type": "function", "function": {
        "name": "set_thermostat", "description": "Set the thermostat to a temperature.",
        "parameters": {"type": "object", "properties": {
            "room": {"type": "string", "description": "Room name."},
            "celsius": {"type": "number", "description": "Target temperature."}},
            "required": ["room", "celsius"]}}},
    {"type": "function", "function": {
        "name": "lock_door", "description": "Lock a door.",
        "parameters": {"type": "object", "properties": {
            "door": {"type": "string", "enum": ["front", "back", "garage"]}}, "required": ["door"]}}},
]


def raw(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request with the path sent byte for byte (no client-side normalisation of '..')."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read(), dict(res.getheaders())
    finally:
        conn.close()


@contextlib.contextmanager
def browser_page(url: str, **page_options):
    """A headless Chromium page on ``url``; JavaScript errors on the page fail the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(**page_options)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        yield page
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def modules_after_import(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    """Which modules starting with ``prefixes`` a fresh interpreter has loaded after ``statement``."""
    code = (f"import sys; {statement}; "
            f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return ast.literal_eval(out.stdout)
