"""Request guards that do not depend on the endpoint: who may change state, which files may be read.

* Origin: a browser page on another site can make a user's browser POST to a server on
  localhost. Every state-changing request (any method but GET/HEAD/OPTIONS) that carries an
  ``Origin`` (browsers always send it on such requests) must come from the server's own origin
  or one allowed explicitly, else 403. Clients that are not browsers send no Origin and pass.
* Host: with a loopback bind, only loopback host names are answered (400 otherwise), so a DNS
  name rebound to 127.0.0.1 cannot make another site "same origin".
* Files: :func:`safe_file` resolves a client-given relative path inside one folder and refuses
  anything that would leave it (``..``, absolute paths, symlinks pointing out, NUL bytes).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_HOSTS", "GuardMiddleware", "is_loopback", "safe_file"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    return host.strip("[]") in LOOPBACK_HOSTS or host.startswith("127.")


def _hostname(host_header: str) -> str:
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def _origin(value: str) -> str:
    """'http://Host:80/' -> 'http://host' (scheme://host[:port], default port dropped)."""
    parts = urlsplit(value.strip())
    if not parts.scheme or not parts.hostname:
        return value.strip().lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        return value.strip().lower()
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port and port != default else "")


class GuardMiddleware:
    """ASGI middleware: the Host and Origin rules above, answered in JSON (OpenAI's error shape)."""

    def __init__(self, app: ASGIApp, *, loopback_only: bool, allow_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.loopback_only = loopback_only
        self.allow_origins = {_origin(o) for o in allow_origins}

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.loopback_only and host and not is_loopback(_hostname(host)):
            await _deny(send, 400, f"host {host!r} is not served: this server answers loopback names only")
            return
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            own = _origin(f"{scope.get('scheme', 'http')}://{host}") if host else None
            if origin is not None and _origin(origin) != own and _origin(origin) not in self.allow_origins:
                await _deny(send, 403, f"cross-origin request from {origin!r} refused")
                return
            if origin is None and headers.get("sec-fetch-site") in ("cross-site", "same-site"):
                await _deny(send, 403, "cross-site request refused")
                return
        await self.app(scope, receive, send)


async def _deny(send, status: int, message: str) -> None:
    body = json.dumps({"error": {"message": message, "type": "forbidden" if status == 403 else "invalid_request_error",
                                 "param": None, "code": None}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def safe_file(root: Path, relative: str) -> Path | None:
    """``root / relative`` if that is an existing file inside ``root`` (after resolving links), else None."""
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    rel = Path(relative)
    if rel.is_absolute() or any(part in ("..", "") for part in relative.split("/")):
        return None
    base = root.resolve()
    try:
        target = (base / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target
