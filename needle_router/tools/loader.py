"""Load a tool registry from a file: a Python module with ``TOOLS = [...]``, or a JSON/YAML list.

    from needle_router.tools import load_tools_file

    tools = load_tools_file("my_tools.py")     # TOOLS = [get_weather, SendEmail, {...}]
    tools = load_tools_file("tools.json")      # [{"type": "function", "function": {...}}, ...]
    tools = load_tools_file("tools.yaml")      # the same, or {"tools": [...]}

The result is the raw list (functions, pydantic classes, dicts...), ready for
:func:`~needle_router.tools.to_tool_specs` or ``NeedleRouter(tools=...)``. Every problem with the
file itself is a :class:`ToolsFileError` whose message names the file and what is wrong.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["PYTHON_SUFFIXES", "JSON_SUFFIXES", "YAML_SUFFIXES", "ToolsFileError", "load_tools_file"]

PYTHON_SUFFIXES = (".py",)
JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")

_COUNTER = itertools.count()
_IMPORT_LOCK = threading.RLock()  # sys.path is process-wide; a tools file may load another


class ToolsFileError(ValueError):
    """A tools file that cannot be loaded: the message names the file and the problem.

    ``path`` and ``reason`` are also attributes.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"tools file {self.path!r}: {reason}")

    def __reduce__(self):
        return (ToolsFileError, (self.path, self.reason))


def load_tools_file(path: str | os.PathLike) -> list[Any]:
    """The tool list declared in ``path`` (``.py`` with ``TOOLS``, ``.json``, ``.yaml``/``.yml``)."""
    file = Path(path).expanduser()
    if not file.exists():
        raise ToolsFileError(path, "no such file")
    if not file.is_file():
        raise ToolsFileError(path, "not a file")
    suffix = file.suffix.lower()
    if suffix in PYTHON_SUFFIXES:
        return _load_python(file, path)
    if suffix in JSON_SUFFIXES:
        return _tool_list(_load_json(file, path), path)
    if suffix in YAML_SUFFIXES:
        return _tool_list(_load_yaml(file, path), path)
    known = ", ".join(PYTHON_SUFFIXES + JSON_SUFFIXES + YAML_SUFFIXES)
    raise ToolsFileError(path, f"unknown extension {file.suffix or '(none)'!r} (expected one of {known})")


# ----------------------------------------------------------------------------------- python


def _load_python(file: Path, shown: str | os.PathLike) -> list[Any]:
    module_name = f"_needle_tools_{next(_COUNTER)}_{_identifier(file.stem)}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always have a loader
        raise ToolsFileError(shown, "cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    directory = str(file.resolve().parent)
    with _IMPORT_LOCK:
        sys.modules[module_name] = module  # dataclasses, pydantic and pickling look it up
        added = directory not in sys.path
        if added:
            sys.path.insert(0, directory)
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            sys.modules.pop(module_name, None)
            where = f" (line {exc.lineno})" if exc.lineno else ""
            if exc.filename and Path(exc.filename).resolve() != file.resolve():
                where = f" (in {exc.filename}, line {exc.lineno})"
            raise ToolsFileError(shown, f"{type(exc).__name__}{where}: {exc.msg}") from None
        except BaseException as exc:  # noqa: BLE001 - a tools file may raise anything, even SystemExit
            sys.modules.pop(module_name, None)
            if isinstance(exc, KeyboardInterrupt):
                raise
            line = _line_in(exc, file)
            where = f" (line {line})" if line else ""
            raise ToolsFileError(shown, f"raised {type(exc).__name__} on import{where}: {exc}") from exc
        finally:
            if added:
                try:
                    sys.path.remove(directory)
                except ValueError:
                    pass
    if not hasattr(module, "TOOLS"):
        raise ToolsFileError(shown, "defines no TOOLS (add TOOLS = [tool, ...] at module level)")
    tools = module.TOOLS
    if isinstance(tools, tuple):
        tools = list(tools)
    if not isinstance(tools, list):
        raise ToolsFileError(shown, f"TOOLS must be a list, got {type(tools).__name__}")
    return list(tools)


def _identifier(stem: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in stem)


def _line_in(exc: BaseException, file: Path) -> int | None:
    """The last line of ``file`` in ``exc``'s traceback (where the module raised)."""
    line = None
    target = str(file.resolve())
    tb = exc.__traceback__
    while tb is not None:
        try:
            if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == target:
                line = tb.tb_lineno
        except OSError:  # pragma: no cover
            pass
        tb = tb.tb_next
    return line


# ------------------------------------------------------------------------------- json / yaml


def _read_text(file: Path, shown: str | os.PathLike) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ToolsFileError(shown, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ToolsFileError(shown, f"cannot be read: {exc.strerror or exc}") from None


def _load_json(file: Path, shown: str | os.PathLike) -> Any:
    text = _read_text(file, shown)
    if not text.strip():
        raise ToolsFileError(shown, "is empty (expected a JSON list of tools)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolsFileError(shown, f"invalid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None


def _load_yaml(file: Path, shown: str | os.PathLike) -> Any:
    import yaml

    text = _read_text(file, shown)
    if not text.strip():
        raise ToolsFileError(shown, "is empty (expected a YAML list of tools)")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ToolsFileError(shown, f"invalid YAML{where}: {problem}") from None


def _tool_list(data: Any, shown: str | os.PathLike) -> list[Any]:
    if isinstance(data, dict) and "tools" in data:
        data = data["tools"]
        if not isinstance(data, list):
            raise ToolsFileError(shown, f"'tools' must be a list, got {_kind(data)}")
    elif not isinstance(data, list):
        raise ToolsFileError(shown, f"top level must be a list of tools (or {{\"tools\": [...]}}), got {_kind(data)}")
    return data


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)
