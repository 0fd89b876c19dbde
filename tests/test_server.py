"""The HTTP server against a live uvicorn on localhost, called with the ``openai`` client.

needle-tiny is random: answers are asserted for structure (a tool from the request, JSON
arguments, usage), never content.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
openai = pytest.importorskip("openai")

from needle_router.server.app import ServerSettings  # noqa: E402
from needle_router.server.background import BackgroundServer  # noqa: E402
from server_helpers import raw  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOOLS = json.loads((ROOT / "examples" / "tools.json").read_text())
NAMES = {t["function"]["name"] for t in TOOLS}
QUERY = "What's the weather in Paris in celsius?"
SECRET = "TOP-SECRET-DO-NOT-SERVE"


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory) -> Path:
    """An examples folder with a secret beside it and a symlink pointing out of it."""
    base = tmp_path_factory.mktemp("site")
    (base / "secret.json").write_text(json.dumps([SECRET]))
    root = base / "examples"
    (root / "registries" / "shop").mkdir(parents=True)
    (root / "tools.json").write_text(json.dumps(TOOLS))
    (root / "registries" / "shop" / "tools.json").write_text(json.dumps(TOOLS[:2]))
    (root / "registries" / "py").mkdir()
    (root / "registries" / "py" / "tools.py").write_text(
        'def ring(room: str) -> str:\n    """Ring the bell in a room."""\n    return room\n\nTOOLS = [ring]\n')
    (root / "registries" / "link").mkdir()
    os.symlink(base / "secret.json", root / "registries" / "link" / "tools.json")
    return root


@pytest.fixture(scope="module")
def server(examples_dir):
    settings = ServerSettings(model="needle-tiny", max_new_tokens=128, examples_dir=examples_dir, timeout_s=120)
    with BackgroundServer(settings) as srv:
        yield srv


@pytest.fixture(scope="module")
def strict():
    """Small limits: an 8 KiB body and a timeout no routing can meet."""
    settings = ServerSettings(model="needle-tiny", max_new_tokens=128, max_body_bytes=8192, timeout_s=0.001,
                              examples_dir=None, warmup=False)
    with BackgroundServer(settings) as srv:
        yield srv


@pytest.fixture()
def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0, timeout=120)


def post_chat(server, payload, headers=None):
    status, body, _ = raw(server, "POST", "/v1/chat/completions", json.dumps(payload).encode(),
                          {"content-type": "application/json", **(headers or {})})
    return status, body


def assert_call_shape(call, allowed_names):
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name in allowed_names
    assert isinstance(json.loads(call.function.arguments), dict)


# --- the OpenAI API ----------------------------------------------------------------------------
def test_required_call(client):
    res = client.chat.completions.create(model="needle-tiny", messages=[{"role": "user", "content": QUERY}],
                                         tools=TOOLS, tool_choice="required")
    choice = res.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls, "tool_choice=required must call a tool"
    for call in choice.message.tool_calls:
        assert_call_shape(call, NAMES)
    assert res.usage.prompt_tokens > 0 and res.usage.completion_tokens > 0
    assert res.usage.total_tokens == res.usage.prompt_tokens + res.usage.completion_tokens
    assert res.model == "needle-tiny" and res.object == "chat.completion"
    extra = res.model_extra["needle"]
    assert 0.0 <= extra["confidence"] <= 1.0 and extra["latency_ms"] > 0


def test_named_function_and_auto(client):
    res = client.chat.completions.create(
        model="needle-tiny", messages=[{"role": "user", "content": QUERY}], tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "send_email"}})
    calls = res.choices[0].message.tool_calls
    assert calls and {c.function.name for c in calls} == {"send_email"}
    args = json.loads(calls[0].function.arguments)
    assert {"to", "subject", "body"} <= set(args)  # required keys, by the grammar

    auto = client.chat.completions.create(model="needle-tiny", messages=[{"role": "user", "content": QUERY}],
                                          tools=TOOLS)
    message = auto.choices[0].message
    if message.tool_calls:
        assert auto.choices[0].finish_reason == "tool_calls"
        for call in message.tool_calls:
            assert_call_shape(call, NAMES)
    else:
        assert auto.choices[0].finish_reason == "stop" and message.content


def test_tool_choice_none_and_tool_results(client):
    for kwargs in ({"tools": TOOLS, "tool_choice": "none"}, {}):  # "none", and no tools at all
        res = client.chat.completions.create(model="needle-tiny", messages=[{"role": "user", "content": QUERY}],
                                             **kwargs)
        assert res.choices[0].message.tool_calls is None
        assert res.choices[0].finish_reason == "stop" and res.choices[0].message.content

    # a conversation ending with tool results gets text, not another call (agent loops end)
    messages = [{"role": "user", "content": QUERY},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}]
    res = client.chat.completions.create(model="needle-tiny", messages=messages, tools=TOOLS)
    assert res.choices[0].message.tool_calls is None
    assert "sunny, 21 C" in res.choices[0].message.content


def test_streaming(client):
    stream = client.chat.completions.create(
        model="needle-tiny", messages=[{"role": "user", "content": QUERY}], tools=TOOLS,
        tool_choice="required", stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"name": "", "arguments": ""})
                entry["name"] += tc.function.name or ""
                entry["arguments"] += tc.function.arguments or ""
    assert calls
    for entry in calls.values():
        assert entry["name"] in NAMES and isinstance(json.loads(entry["arguments"]), dict)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens > 0


def test_streaming_wire_format(server):
    status, body = post_chat(server, {"messages": [{"role": "user", "content": QUERY}], "tools": TOOLS,
                                      "tool_choice": "required", "stream": True})
    assert status == 200
    events = [line for line in body.decode().split("\n\n") if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["object"] == "chat.completion.chunk"


def test_models_and_health(client, server):
    models = client.models.list()
    assert [m.id for m in models.data] == ["needle-tiny"]
    status, body, headers = raw(server, "GET", "/healthz")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["model"] == "needle-tiny"
    assert health["untrained"] is True


async def test_concurrent_requests_share_batches(server):
    """32 requests at once: every one answered, with its own call ids, in shared batches."""
    client = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0, timeout=300)
    queries = [f"{QUERY} (request {i})" for i in range(32)]
    before = json.loads(raw(server, "GET", "/healthz")[1])
    results = await asyncio.gather(*(
        client.chat.completions.create(model="needle-tiny", messages=[{"role": "user", "content": q}],
                                       tools=TOOLS, tool_choice="required") for q in queries))
    await client.close()
    ids = []
    for res in results:
        calls = res.choices[0].message.tool_calls
        assert calls
        for call in calls:
            assert_call_shape(call, NAMES)
            ids.append(call.id)
    assert len(set(ids)) == len(ids)
    after = json.loads(raw(server, "GET", "/healthz")[1])
    assert after["largest_batch"] > 1, "concurrent requests were decoded one at a time"
    assert after["batches"] - before["batches"] < len(queries)


# --- bad input ---------------------------------------------------------------------------------
def test_schema_errors_are_422_naming_the_field(client, server):
    bad = [TOOLS[0], {"type": "function", "function": {"name": "pick", "parameters": {
        "type": "object", "properties": {"color": {"type": "string", "enum": []}}}}}]
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": QUERY}], tools=bad)
    error = info.value.body
    assert error["param"] == "tools[1].function.parameters.properties.color"
    assert "enum" in error["message"] and "Traceback" not in json.dumps(error)

    cases = [
        ({"messages": "hi"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "   "}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": QUERY}], "tools": {"a": 1}}, "tools"),
        ({"messages": [{"role": "user", "content": QUERY}], "tools": [TOOLS[0], "x"]}, "tools[1]"),
        ({"messages": [{"role": "user", "content": QUERY}], "tools": [{"type": "function", "function": {}}]},
         "tools[0].function.name"),
        ({"messages": [{"role": "user", "content": QUERY}], "tools": TOOLS, "tool_choice": "sometimes"},
         "tool_choice"),
        ({"messages": [{"role": "user", "content": QUERY}], "tools": TOOLS,
          "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice.function.name"),
        ({"messages": [{"role": "user", "content": QUERY}], "stream": "yes"}, "stream"),
        ({"messages": [{"role": "user", "content": QUERY}], "n": 2}, "n"),
        ({"messages": [{"role": "user", "content": QUERY}], "tool_choice": "required"}, "tool_choice"),
        ({"messages": [{"role": "assistant", "content": "hi"}], "tools": TOOLS}, "messages"),
    ]
    for payload, field in cases:
        status, body = post_chat(server, payload)
        assert status == 422, (payload, body)
        error = json.loads(body)["error"]
        assert error["param"] == field, (payload, error)
        assert error["message"].startswith(field + ":")
        assert b"Traceback" not in body

    status, body = raw(server, "POST", "/v1/chat/completions", b"{not json", {"content-type": "application/json"})[:2]
    assert status == 400 and json.loads(body)["error"]["param"] == "body"
    deep = b"[" * 100_000 + b"]" * 100_000
    status, body = raw(server, "POST", "/v1/chat/completions", deep, {"content-type": "application/json"})[:2]
    assert status == 400 and b"Traceback" not in body


def test_body_limit_413(strict):
    big = json.dumps({"messages": [{"role": "user", "content": "x" * 16384}]}).encode()
    status, body, _ = raw(strict, "POST", "/v1/chat/completions", big, {"content-type": "application/json"})
    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"

    # no Content-Length (chunked): counted while reading. The fixture's 1 ms timeout would race
    # the second chunk (a 504 instead of the 413), so this part runs with a long one.
    settings = strict.app.state.settings
    settings.timeout_s = 60.0
    try:
        conn = http.client.HTTPConnection(strict.host, strict.port, timeout=60)
        conn.request("POST", "/v1/chat/completions", body=iter([big[:5000], big[5000:]]),
                     headers={"content-type": "application/json"}, encode_chunked=True)
        res = conn.getresponse()
        assert res.status == 413
        assert json.loads(res.read())["error"]["code"] == "request_too_large"
        conn.close()
    finally:
        settings.timeout_s = 0.001


def test_timeout_504_and_no_traceback_on_internal_error(strict):
    status, body = post_chat(strict, {"messages": [{"role": "user", "content": QUERY}], "tools": TOOLS})
    assert status == 504 and json.loads(body)["error"]["code"] == "timeout"

    # a client trickling its body is cut off by the same timeout
    import socket

    with socket.create_connection((strict.host, strict.port), timeout=60) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"messages\"")
        assert sock.recv(4096).startswith(b"HTTP/1.1 504")

    # a fault inside routing (a router option the library rejects) is a bare 500
    pool, settings = strict.app.state.pool, strict.app.state.settings
    saved = dict(pool.options)
    pool.options["top_k"] = 0
    settings.timeout_s = 60.0
    try:
        status, body = post_chat(strict, {"messages": [{"role": "user", "content": QUERY}],
                                          "tools": [{"name": "fresh_tool", "parameters": {}}]})
    finally:
        pool.options.clear()
        pool.options.update(saved)
        settings.timeout_s = 0.001
    assert status == 500
    assert b"Traceback" not in body and b"top_k" not in body
    assert json.loads(body)["error"]["type"] == "server_error"


# --- browser safety ----------------------------------------------------------------------------
def test_origin_check(server):
    payload = {"messages": [{"role": "user", "content": QUERY}], "tools": TOOLS, "tool_choice": "none"}
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{server.port + 1}"):
        status, body = post_chat(server, payload, {"origin": origin})
        assert status == 403, origin
        assert json.loads(body)["error"]["type"] == "forbidden"
    status, _ = post_chat(server, payload, {"sec-fetch-site": "cross-site"})
    assert status == 403
    assert post_chat(server, payload, {"origin": server.base_url})[0] == 200
    assert post_chat(server, payload)[0] == 200  # non-browser clients send no Origin
    # a rebound DNS name is not this server
    assert raw(server, "GET", "/healthz", headers={"host": "evil.example"})[0] == 400


def test_files_cannot_escape_their_folder(server, examples_dir):
    assert (examples_dir.parent / "secret.json").read_text().count(SECRET) == 1
    status, body, _ = raw(server, "GET", "/playground/examples")
    listed = {e["path"] for e in json.loads(body)["examples"]}
    # not the symlink pointing out
    assert listed == {"tools.json", "registries/shop/tools.json", "registries/py/tools.py"}
    status, body, _ = raw(server, "GET", "/playground/examples/registries/shop/tools.json")
    assert status == 200 and json.loads(body) == TOOLS[:2]
    status, body, _ = raw(server, "GET", "/playground/examples/registries/py/tools.py")
    assert status == 200 and json.loads(body)[0]["function"]["name"] == "ring"  # a tools.py, as JSON

    attempts = [
        "/playground/examples/../secret.json",
        "/playground/examples/%2e%2e/secret.json",
        "/playground/examples/..%2fsecret.json",
        "/playground/examples/registries/../../secret.json",
        "/playground/examples/registries/link/tools.json",
        "/playground/examples/" + str(examples_dir.parent / "secret.json"),
        "/playground/examples//" + str(examples_dir.parent / "secret.json").lstrip("/"),
        "/playground/examples/..\\secret.json",
        "/static/../../pyproject.toml",
        "/static/%2e%2e/app.py",
        "/static/..%2f..%2f..%2fpyproject.toml",
        "/static//etc/passwd",
        "/static/%00index.html",
    ]
    for path in attempts:
        status, body, _ = raw(server, "GET", path)
        assert status in (400, 404), (path, status)
        assert SECRET.encode() not in body and b"[build-system]" not in body and b"root:" not in body, path


def test_playground_page_and_assets(server):
    status, body, headers = raw(server, "GET", "/")
    assert status == 200 and b'id="run"' in body
    assert "default-src 'self'" in headers.get("content-security-policy", "")
    for asset in ("/static/app.js", "/static/style.css"):
        status, body, headers = raw(server, "GET", asset)
        assert status == 200 and body, asset
    assert raw(server, "GET", "/static/missing.js")[0] == 404


# --- the load test ------------------------------------------------------------------------------
@pytest.mark.slow
def test_bench_server_short_run(capsys):
    """bench_server.py end to end, briefly: its own server process, a baseline and one level."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bench_server", ROOT / "benchmarks" / "bench_server.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--model", "needle-tiny", "--clients", "4", "--seconds", "2", "--baseline-seconds", "1",
                       "--warmup-seconds", "1", "--max-batch", "4", "--max-new-tokens", "32"])
    out = capsys.readouterr().out
    assert "| baseline: 1 client, sequential | 1 |" in out and "| concurrent clients | 4 |" in out
    assert [r["clients"] for r in rows] == [1, 4]
    for row in rows:
        assert row["ok"] > 0 and row["errors"] == 0 and row["lost"] == 0
        assert row["p50"] <= row["p99"]
