"""Load test of ``needle-router serve``: N concurrent HTTP clients on localhost, against one client.

Starts the server in a subprocess on a free loopback port (``--url`` targets a running one
instead), then, for a fixed time per level, every client posts OpenAI chat-completions requests
back to back (``tool_choice="required"``, the tools of ``--tools``) and checks each answer: HTTP
200, a call of a requested tool, JSON arguments. The baseline, in the same run, is one client
sending the same requests one at a time. Each level first runs an untimed warm-up round, so no
timed request pays for an XLA compile.

Prints a markdown table: mode | clients | seconds | requests | ok | errors | lost | req/s |
p50 ms | p99 ms | speedup vs baseline | mean batch (requests per decode, from /healthz).
``errors`` counts every request that failed (non-200, malformed answer, or no answer) and
``lost`` those of them that got no HTTP answer at all (timeouts, dropped connections). Every loop is bounded (time and count) and only loopback is contacted.

    python benchmarks/bench_server.py [--model needle-26m] [--clients 64] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TOOLS = ROOT / "examples" / "tools.json"
QUERIES = [
    "What's the weather in Paris in celsius?",
    "Send an email to ana@example.com saying the report is ready",
    "Convert 250 US dollars to euros",
    "Put a meeting with Bob on my calendar tomorrow at 10",
    "Is it going to rain in Tokyo today?",
    "Email the team that the build is green, subject: CI",
    "How many yen is 40 pounds?",
    "Remind me to call mom on Friday at 6pm",
]
MAX_REQUESTS_PER_CLIENT = 100_000  # a bound on every loop, whatever the clock does


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, "-c", "import sys; from needle_router.cli import main; sys.exit(main())", "serve",
           "--host", "127.0.0.1", "--port", str(port), "--model", args.model,
           "--max-new-tokens", str(args.max_new_tokens), "--max-batch", str(args.max_batch),
           "--timeout", str(args.request_timeout)]
    if not args.access_log:
        cmd.append("--no-access-log")
    # the server's log goes to a file: an unread pipe would fill up and stall the server
    log = tempfile.NamedTemporaryFile("w+", prefix="bench_server_", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log_path = log.name  # type: ignore[attr-defined]
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(url: str, proc: subprocess.Popen | None, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            log = Path(proc.log_path).read_text()[-3000:]  # type: ignore[attr-defined]
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log}")
        try:
            return httpx.get(url + "/healthz", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            time.sleep(0.25)
    raise TimeoutError(f"the server at {url} was not ready within {timeout_s:g} s")


class Connection:
    """A minimal HTTP/1.1 keep-alive client: one request at a time on one socket.

    httpx's pool costs milliseconds per request at 64 connections (measured: ~125 req/s on
    this machine against a server that answers 2,700 req/s), which would measure the client,
    not the server. This one only speaks what the benchmark needs: POST JSON, read a
    Content-Length body.
    """

    IDLE_S = 2.0  # reconnect after this long unused: the server drops keep-alive connections idle 5 s

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is not None and time.monotonic() - self.last_used > self.IDLE_S:
            await self.close()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        try:
            self.writer.write(head + body)
            await self.writer.drain()
            raw = await self.reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
            data = await self.reader.readexactly(int(headers.get("content-length", "0")))
            self.last_used = time.monotonic()
            if headers.get("connection", "").lower() == "close":
                await self.close()
            return status, data
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _check(status: int, data: bytes, names: set[str]) -> str | None:
    """None for a good answer, else what is wrong with it."""
    if status != 200:
        return f"HTTP {status}"
    try:
        calls = json.loads(data)["choices"][0]["message"]["tool_calls"]
        if not calls:
            return "no tool call under tool_choice=required"
        for call in calls:
            if call["function"]["name"] not in names:
                return f"unknown tool {call['function']['name']!r}"
            if not isinstance(json.loads(call["function"]["arguments"]), dict):
                return "arguments are not a JSON object"
    except (ValueError, KeyError, IndexError, TypeError) as err:
        return f"malformed answer ({err!r})"
    return None


def _body(tools: list, query: str) -> bytes:
    return json.dumps({"model": "bench", "messages": [{"role": "user", "content": query}], "tools": tools,
                       "tool_choice": "required"}).encode()


async def run_level(url: str, tools: list, clients: int, seconds: float, timeout_s: float) -> dict:
    names = {t["function"]["name"] for t in tools}
    bodies = [_body(tools, q) for q in QUERIES]
    parts = urlsplit(url)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = answered = 0
    deadline = time.monotonic() + seconds

    async def one_client(index: int) -> None:
        nonlocal sent, answered
        conn = Connection(parts.hostname, parts.port)
        try:
            for n in range(MAX_REQUESTS_PER_CLIENT):
                if time.monotonic() >= deadline:
                    return
                sent += 1
                t0 = time.perf_counter()
                try:
                    status, data = await asyncio.wait_for(
                        conn.post("/v1/chat/completions", bodies[(index + n) % len(bodies)]), timeout_s)
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as err:
                    problem = f"no answer: {type(err).__name__}"
                else:
                    answered += 1
                    problem = _check(status, data, names)
                if problem is None:
                    latencies.append((time.perf_counter() - t0) * 1000.0)
                else:
                    errors[problem] = errors.get(problem, 0) + 1
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    lat = np.asarray(latencies) if latencies else np.asarray([float("nan")])
    return {"clients": clients, "seconds": elapsed, "requests": sent, "ok": len(latencies),
            "errors": sum(errors.values()), "error_kinds": errors, "lost": sent - answered,
            "rps": len(latencies) / elapsed, "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99))}


def _health(url: str) -> dict:
    return httpx.get(url + "/healthz", timeout=10).json()


async def compile_batches(url: str, tools: list, max_batch: int, timeout_s: float) -> None:
    """Bursts of 1, 2, 4, ... max_batch simultaneous requests, twice each, so the server compiles
    the batch shapes a level will use before it is timed (a compile takes seconds on a CPU)."""
    parts = urlsplit(url)
    sizes, b = [], 1
    while b <= max_batch:
        sizes.append(b)
        b *= 2
    conns = [Connection(parts.hostname, parts.port) for _ in range(max_batch)]
    try:
        for size in sizes:
            for _ in range(2):
                await asyncio.wait_for(asyncio.gather(*(
                    conns[i].post("/v1/chat/completions", _body(tools, QUERIES[i % len(QUERIES)]))
                    for i in range(size)), return_exceptions=True), timeout_s)
    finally:
        for conn in conns:
            await conn.close()


def measure(url: str, tools: list, clients: int, seconds: float, warm_s: float, timeout_s: float) -> dict:
    asyncio.run(run_level(url, tools, clients, warm_s, timeout_s))  # untimed warm-up round
    before = _health(url)
    row = asyncio.run(run_level(url, tools, clients, seconds, timeout_s))
    after = _health(url)
    if before.get("batches") is not None and after.get("batches") is not None:
        batches = after["batches"] - before["batches"]
        row["mean_batch"] = row["requests"] / batches if batches else float("nan")
    else:
        row["mean_batch"] = float("nan")
    return row


def table(rows: list[dict]) -> str:
    base = rows[0]["rps"]
    lines = ["| mode | clients | seconds | requests | ok | errors | lost | req/s | p50 ms | p99 ms | speedup | mean batch |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(rows):
        mode = "baseline: 1 client, sequential" if i == 0 else "concurrent clients"
        lines.append(f"| {mode} | {r['clients']} | {r['seconds']:.1f} | {r['requests']} | {r['ok']} | {r['errors']} "
                     f"| {r['lost']} | {r['rps']:.2f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['rps'] / base:.2f}x "
                     f"| {r['mean_batch']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="needle-26m", help="preset or weights directory for the server")
    parser.add_argument("--clients", type=_ints, default=[64], help="concurrent clients per level, e.g. 8,64")
    parser.add_argument("--seconds", type=float, default=60.0, help="timed seconds per concurrent level")
    parser.add_argument("--baseline-seconds", type=float, default=None,
                        help="timed seconds of the 1-client baseline (default: --seconds, at most 20)")
    parser.add_argument("--warmup-seconds", type=float, default=None,
                        help="untimed seconds before each level (default: min(10, --seconds))")
    parser.add_argument("--max-new-tokens", type=int, default=64,
                        help="answer budget; random weights run to it, so it sets the decode cost")
    parser.add_argument("--max-batch", type=int, default=32, help="the server's max_batch (its default: 32)")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's per-request log line")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds, client and server")
    parser.add_argument("--tools", default=str(DEFAULT_TOOLS), help="a JSON list of OpenAI-style tools")
    parser.add_argument("--url", default=None, help="benchmark this running server (loopback only)")
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    if args.url and (urlsplit(args.url).hostname or "") not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address")
    tools = json.loads(Path(args.tools).read_text())
    warm = args.warmup_seconds if args.warmup_seconds is not None else min(10.0, args.seconds)
    base_s = args.baseline_seconds if args.baseline_seconds is not None else min(20.0, args.seconds)

    proc, url = (None, args.url.rstrip("/")) if args.url else start_server(args)
    try:
        health = wait_ready(url, proc, args.startup_timeout)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
        print(f"server: {url}, model {health['model']}{' (UNTRAINED, random weights)' if health.get('untrained') else ''}, "
              f"{len(tools)} tools, tool_choice=required, max_new_tokens={args.max_new_tokens}, "
              f"max_batch={args.max_batch}")
        t0 = time.perf_counter()
        asyncio.run(compile_batches(url, tools, min(args.max_batch, max(args.clients)), args.request_timeout))
        print(f"compiled the batch shapes in {time.perf_counter() - t0:.1f} s (untimed)")
        rows = [measure(url, tools, 1, base_s, min(warm, 5.0), args.request_timeout)]
        for clients in args.clients:
            rows.append(measure(url, tools, clients, args.seconds, warm, args.request_timeout))
        print()
        print(table(rows))
        kinds = {k: v for r in rows for k, v in r["error_kinds"].items()}
        print(f"\nerrors by kind: {kinds or 'none'}")
        return rows
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
