"""The playground: a static page (package data, no build step) and the example tool sets it offers.

Example tool sets are ``tools.json`` and ``registries/*/tools.json`` (or ``tools.py``, where a
registry has no ``tools.json``) under an examples folder: the repository's ``examples/`` by
default, or ``--examples``. A ``tools.py`` is imported (it is the server's own, trusted example
code, never anything a client sends) and offered as OpenAI-style JSON. Only those files are
listed, and a download is served only if its path is one of them and resolves inside the folder.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
from pathlib import Path
from typing import Any

from needle_router.server.security import safe_file

__all__ = ["STATIC_DIR", "default_examples_dir", "list_examples", "read_example", "static_file"]

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("needle_router.server")
_LOADED: dict[tuple[Path, int], list[Any]] = {}
_LOCK = threading.Lock()


def default_examples_dir() -> Path | None:
    """The repository's ``examples/`` (checkouts and editable installs), else ``./examples``."""
    for candidate in (Path(__file__).resolve().parents[2] / "examples", Path.cwd() / "examples"):
        if (candidate / "tools.json").is_file() or (candidate / "registries").is_dir():
            return candidate
    return None


def _candidates(root: Path) -> list[Path]:
    found = [root / "tools.json"]
    for folder in sorted(p for p in (root / "registries").glob("*") if p.is_dir()):
        found.append(folder / "tools.json" if (folder / "tools.json").is_file() else folder / "tools.py")
    return [p for p in found if p.is_file()]


def _tool_set(path: Path) -> list[Any] | None:
    """The tools in ``path`` as JSON-ready OpenAI-style dicts (cached by modification time)."""
    key = (path, path.stat().st_mtime_ns)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
    try:
        if path.suffix == ".json":
            tools = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(tools, list):
                return None
        else:
            from needle_router.tools import load_tools_file
            from needle_router.tools.from_schema import to_tool_specs

            tools = [spec.to_openai() for spec in to_tool_specs(load_tools_file(path))]
    except Exception as err:  # a broken example is left out, not fatal
        log.warning("example tool set %s left out: %s", path, err)
        return None
    with _LOCK:
        _LOADED[key] = tools
    return tools


def list_examples(root: Path | None) -> list[dict[str, Any]]:
    """``[{"path": "registries/travel/tools.py", "name": "travel", "tools": 11}, ...]``."""
    if root is None or not root.is_dir():
        return []
    found = []
    for path in _candidates(root):
        rel = path.relative_to(root).as_posix()
        safe = safe_file(root, rel)
        tools = _tool_set(safe) if safe is not None else None
        if tools is None:
            continue
        name = "examples" if rel == "tools.json" else path.parent.name
        found.append({"path": rel, "name": name, "tools": len(tools)})
    return found


def read_example(root: Path | None, relative: str) -> bytes | None:
    """One listed example as JSON bytes, or None (unknown, or outside the folder)."""
    if root is None:
        return None
    listed = {e["path"] for e in list_examples(root)}
    path = safe_file(root, relative) if relative in listed else None
    tools = _tool_set(path) if path is not None else None
    return json.dumps(tools, ensure_ascii=False, indent=2).encode() if tools is not None else None


def static_file(relative: str) -> tuple[bytes, str] | None:
    """A packaged static file's bytes and content type, or None."""
    path = safe_file(STATIC_DIR, relative)
    if path is None:
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return path.read_bytes(), kind
