"""ToolSpecs from typed Python callables, and docstring parsing.

A tool function needs a type hint on every parameter; its docstring gives the tool description
(the text before the first section) and per-parameter descriptions in Google (``Args:``), NumPy
(``Parameters`` + dashes) or reST (``:param x: ...``) style. A description given in the signature
(``Annotated[T, "text"]``, ``Annotated[T, Field(description=...)]`` or ``x: T = Field(...,
description=...)``) wins over the docstring.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, get_args, get_origin

from pydantic import Field, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from needle_router.tools.errors import ToolSpecError
from needle_router.tools.schema import resolve_refs
from needle_router.tools.spec import ToolSpec

__all__ = ["ParsedDocstring", "parse_docstring", "tool_spec_from_callable"]


# ------------------------------------------------------------------------------ docstrings


@dataclass
class ParsedDocstring:
    """What :func:`parse_docstring` found: the leading description and parameter descriptions."""

    description: str = ""
    params: dict[str, str] = field(default_factory=dict)


_GOOGLE_PARAM_HEADERS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "kwargs",
    "other parameters",
    "attributes",
}
_GOOGLE_OTHER_HEADERS = {
    "returns",
    "return",
    "yields",
    "yield",
    "raises",
    "raise",
    "except",
    "exceptions",
    "examples",
    "example",
    "notes",
    "note",
    "warnings",
    "warning",
    "warns",
    "see also",
    "references",
    "todo",
    "methods",
}
_NUMPY_PARAM_HEADERS = {
    "parameters",
    "other parameters",
    "attributes",
    "keyword arguments",
    "params",
    "arguments",
}

_GOOGLE_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*$")
_DASHES = re.compile(r"^\s*-{3,}\s*$")
_REST_FIELD = re.compile(r"^\s*[:@](\w+)(?:\s+([^:]*?))?\s*:\s?(.*)$")
_REST_PARAM_KINDS = {"param", "parameter", "arg", "argument", "key", "keyword"}
_GOOGLE_ENTRY = re.compile(r"^\s*\**([A-Za-z_]\w*)\s*(?:\((.*?)\))?\s*:(?:\s+(.*)|\s*)$")
_NUMPY_ENTRY = re.compile(r"^\s*(\**[A-Za-z_]\w*(?:\s*,\s*\**[A-Za-z_]\w*)*)\s*(?::\s*(.*))?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _squash(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def _section_at(lines: list[str], i: int) -> tuple[str, str] | None:
    """(style, kind) when a section starts at line i; kind is 'params' or 'other'."""
    line = lines[i]
    if not line.strip():
        return None
    if i + 1 < len(lines) and _DASHES.match(lines[i + 1]) and not _DASHES.match(line):
        title = line.strip().lower()
        return ("numpy", "params" if title in _NUMPY_PARAM_HEADERS else "other")
    m = _GOOGLE_HEADER.match(line)
    if m:
        title = m.group(1).strip().lower()
        if title in _GOOGLE_PARAM_HEADERS:
            return ("google", "params")
        if title in _GOOGLE_OTHER_HEADERS:
            return ("google", "other")
    m = _REST_FIELD.match(line)
    if m and line.lstrip()[:1] in ":@":
        return ("rest", "params" if m.group(1).lower() in _REST_PARAM_KINDS else "other")
    return None


def parse_docstring(doc: str | None) -> ParsedDocstring:
    """Split a docstring into its leading description and per-parameter descriptions.

    The description is the text before the first recognised section (paragraphs kept apart by a
    blank line, lines within a paragraph joined). Parameter descriptions come from Google
    ``Args:``/``Arguments:``/``Parameters:``/``Attributes:`` sections, NumPy ``Parameters``
    sections and reST/epydoc ``:param x:`` / ``:param int x:`` / ``@param x:`` fields; a
    description spanning several lines is joined into one line.
    """
    if not doc or not doc.strip():
        return ParsedDocstring()
    lines = inspect.cleandoc(doc).splitlines()
    n = len(lines)

    start = n
    for i in range(n):
        if _section_at(lines, i):
            start = i
            break
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines[:start]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    result = ParsedDocstring(description="\n\n".join(paragraphs))

    i = start
    while i < n:
        section = _section_at(lines, i)
        if section is None:
            i += 1
            continue
        style, kind = section
        if style == "google":
            i = _parse_google(lines, i, result.params if kind == "params" else None)
        elif style == "numpy":
            i = _parse_numpy(lines, i, result.params if kind == "params" else None)
        else:
            i = _parse_rest(lines, i, result.params if kind == "params" else None)
    return result


def _parse_google(lines: list[str], i: int, params: dict[str, str] | None) -> int:
    header_indent = _indent(lines[i])
    i += 1
    entry_indent: int | None = None
    name: str | None = None
    text: list[str] = []

    def flush() -> None:
        if params is not None and name is not None and name not in params:
            params[name] = _squash(text)

    while i < len(lines):
        line = lines[i]
        if line.strip():
            ind = _indent(line)
            if ind <= header_indent:
                break  # the next section, or text after this one
            if entry_indent is None:
                entry_indent = ind
            m = _GOOGLE_ENTRY.match(line) if ind == entry_indent else None
            if m:
                flush()
                name, text = m.group(1), [m.group(3) or ""]
            elif name is not None:
                text.append(line.strip())
        i += 1
    flush()
    return i


def _parse_numpy(lines: list[str], i: int, params: dict[str, str] | None) -> int:
    i += 2  # title + dashes
    entry_indent: int | None = None
    names: list[str] = []
    text: list[str] = []

    def flush() -> None:
        if params is not None:
            for nm in names:
                params.setdefault(nm, _squash(text))

    while i < len(lines):
        line = lines[i]
        if _section_at(lines, i):
            break
        if line.strip():
            ind = _indent(line)
            if entry_indent is None:
                entry_indent = ind
            if ind <= entry_indent:
                m = _NUMPY_ENTRY.match(line)
                if m is None:
                    break
                flush()
                names = [nm.strip().lstrip("*") for nm in m.group(1).split(",")]
                text = []
            elif names:
                text.append(line.strip())
        i += 1
    flush()
    return i


def _parse_rest(lines: list[str], i: int, params: dict[str, str] | None) -> int:
    m = _REST_FIELD.match(lines[i])
    assert m is not None
    base = _indent(lines[i])
    words = (m.group(2) or "").split()
    name = words[-1].lstrip("*") if words else None
    text = [m.group(3)]
    i += 1
    while i < len(lines):
        line = lines[i]
        if line.strip() and (_indent(line) <= base or _section_at(lines, i)):
            break
        text.append(line.strip())
        i += 1
    if params is not None and name:
        params.setdefault(name, _squash(text))
    return i


# ------------------------------------------------------------------------------- callables


def _unwrap_partial(func: Any) -> Any:
    while isinstance(func, functools.partial):
        func = func.func
    return func


def _callable_name(func: Any) -> str:
    target = _unwrap_partial(func)
    name = getattr(target, "__name__", None)
    if not isinstance(name, str):
        name = type(target).__name__  # a callable instance
    return name


def _docstring_of(func: Any) -> str | None:
    target = _unwrap_partial(func)
    if inspect.isroutine(target) or inspect.isclass(target):
        return inspect.getdoc(target)
    # a callable instance: its class docstring, else its __call__'s
    doc = type(target).__dict__.get("__doc__") or getattr(type(target).__call__, "__doc__", None)
    return inspect.cleandoc(doc) if doc else None


def _annotated_description(annotation: Any) -> str | None:
    if get_origin(annotation) is Annotated:
        for meta in get_args(annotation)[1:]:
            if isinstance(meta, str) and meta.strip():
                return meta.strip()
    return None


def tool_spec_from_callable(
    func: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> ToolSpec:
    """A :class:`ToolSpec` from a typed function, coroutine function, bound method,
    ``functools.partial`` or callable object.

    Each parameter's type hint becomes its JSON Schema (str, int, float, bool, list[T], dict,
    dict[str, T], tuple, Literal, Enum, Optional / ``T | None``, pydantic models, Annotated);
    parameters with a default are optional. ``name`` and ``description`` override the function
    name and the docstring's description. Parameters without a type hint, ``*args``/``**kwargs``
    and positional-only parameters are rejected with a :class:`ToolSpecError`.
    """
    if not callable(func):
        raise ToolSpecError(f"expected a callable, got {type(func).__name__}")
    tool_name = name if name is not None else _callable_name(func)
    if not name and tool_name.startswith("<"):
        raise ToolSpecError(f"a {tool_name} has no usable name; use a def function or pass name=")
    try:
        sig = inspect.signature(func, eval_str=True)
    except NameError as exc:
        raise ToolSpecError(
            f"cannot resolve the type hints ({exc}); import every type the hints use", tool=tool_name
        ) from None
    except (TypeError, ValueError) as exc:
        raise ToolSpecError(f"cannot read the signature: {exc}", tool=tool_name) from None

    doc = parse_docstring(_docstring_of(func))
    target = _unwrap_partial(func)
    first = next(iter(sig.parameters), None)

    properties: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in sig.parameters.items():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            raise ToolSpecError(
                "variable positional arguments cannot be tool parameters; declare each parameter explicitly",
                tool=tool_name,
                parameter=f"*{pname}",
            )
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            raise ToolSpecError(
                "variable keyword arguments cannot be tool parameters; declare each parameter explicitly",
                tool=tool_name,
                parameter=f"**{pname}",
            )
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ToolSpecError(
                "positional-only parameters cannot be filled by name; remove the '/' from the signature",
                tool=tool_name,
                parameter=pname,
            )
        if param.annotation is inspect.Parameter.empty:
            if pname in ("self", "cls") and pname == first and inspect.isfunction(target):
                hint = f"; {pname!r} looks like an unbound method's, pass a bound method (instance.method) instead"
            else:
                hint = f"; add one, e.g. `{pname}: str`"
            raise ToolSpecError(f"missing type hint{hint}", tool=tool_name, parameter=pname)
        prop, is_required = _parameter_schema(tool_name, pname, param)
        if "description" not in prop and pname in doc.params and doc.params[pname]:
            prop["description"] = doc.params[pname]
        properties[pname] = prop
        if is_required:
            required.append(pname)

    return ToolSpec(
        name=tool_name,
        description=doc.description if description is None else description,
        parameters={"type": "object", "properties": properties, "required": required},
        func=func,
    )


def _parameter_schema(tool: str, pname: str, param: inspect.Parameter) -> tuple[dict[str, Any], bool]:
    """(JSON Schema of one parameter, required?) via a one-field pydantic model."""
    annotation = param.annotation
    default = param.default
    info: FieldInfo
    if isinstance(default, FieldInfo):
        info = default
    elif default is inspect.Parameter.empty:
        info = Field()
    else:
        info = Field(default=default)
    has_default = not (info.default is PydanticUndefined and info.default_factory is None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-JSON defaults: pydantic leaves them out
            model = create_model(f"{tool}_{pname}", v=(annotation, info))
            schema = model.model_json_schema()
    except Exception as exc:  # pydantic raises several error types for unsupported hints
        raise ToolSpecError(
            f"unsupported type hint {_type_repr(annotation)} ({type(exc).__name__}); use JSON-compatible types "
            "(str, int, float, bool, list, dict, Literal, Enum, pydantic models)",
            tool=tool,
            parameter=pname,
        ) from exc
    prop = resolve_refs(schema["properties"]["v"], schema.get("$defs") or {}, tool=tool, parameter=pname)
    prop.pop("title", None)
    desc = info.description or _annotated_description(annotation)
    if desc:
        prop["description"] = desc.strip()
    return prop, not has_default and "v" in schema.get("required", [])


def _type_repr(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation)
