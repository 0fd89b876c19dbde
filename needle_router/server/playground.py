"""The playground: a static page (package data, no build step) and the example tool sets it offers.

Example tool sets are ``tools.json`` and ``registries/*/tools.json`` under an examples folder
(the repository's ``examples/`` by default). Only those files are listed, and a download is
served only if its path is one of them and resolves inside the folder.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from needle_router.server.security import safe_file

__all__ = ["STATIC_DIR", "default_examples_dir", "list_examples", "read_example", "static_file"]

STATIC_DIR = Path(__file__).parent / "static"


def default_examples_dir() -> Path | None:
    """The repository's ``examples/`` (checkouts and editable installs), else ``./examples``."""
    for candidate in (Path(__file__).resolve().parents[2] / "examples", Path.cwd() / "examples"):
        if (candidate / "tools.json").is_file() or (candidate / "registries").is_dir():
            return candidate
    return None


def list_examples(root: Path | None) -> list[dict[str, Any]]:
    """``[{"path": "registries/shop/tools.json", "name": "shop", "tools": 12}, ...]``."""
    if root is None or not root.is_dir():
        return []
    found = []
    candidates = [root / "tools.json"] + sorted((root / "registries").glob("*/tools.json"))
    for path in candidates:
        rel = path.relative_to(root).as_posix()
        if safe_file(root, rel) is None:
            continue
        try:
            count = len(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        name = "examples" if rel == "tools.json" else path.parent.name
        found.append({"path": rel, "name": name, "tools": count})
    return found


def read_example(root: Path | None, relative: str) -> bytes | None:
    """The bytes of one listed example, or None (unknown, or outside the folder)."""
    if root is None:
        return None
    listed = {e["path"] for e in list_examples(root)}
    path = safe_file(root, relative) if relative in listed else None
    return path.read_bytes() if path is not None else None


def static_file(relative: str) -> tuple[bytes, str] | None:
    """A packaged static file's bytes and content type, or None."""
    path = safe_file(STATIC_DIR, relative)
    if path is None:
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return path.read_bytes(), kind
