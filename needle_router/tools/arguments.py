"""Arguments models: a normalised parameter schema -> a pydantic model that validates arguments.

Builds (and caches) the model behind :meth:`ToolSpec.arguments_model
<needle_router.tools.spec.ToolSpec.arguments_model>` and turns its validation errors back into
one message naming the offending parameter, so :class:`~needle_router.tools.spec.ToolSpec` only
has to wire them together.
"""

from __future__ import annotations

import copy
import keyword
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from needle_router.tools.naming import internal_identifier
from needle_router.tools.schema import _join

__all__ = [
    "arguments_model_name",
    "build_arguments_model",
    "cached_arguments_model",
    "cache_arguments_model",
    "describe_validation_error",
]

_MODEL_CACHE: "OrderedDict[str, type[BaseModel]]" = OrderedDict()
_MODEL_CACHE_SIZE = 1024
_MODEL_CACHE_LOCK = threading.Lock()


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


def _camel(identifier: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in identifier.split("_") if part) or "Tool"


def _field_name(name: str, taken: set[str]) -> str:
    """A Python field name for a parameter (the parameter name itself when that is safe)."""
    safe = (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and not name.startswith("model_")
        and not hasattr(BaseModel, name)
        and name not in taken
    )
    if safe:
        return name
    base = internal_identifier(name).lstrip("_") or "param"
    candidate, k = f"p_{base}", 2
    while candidate in taken or hasattr(BaseModel, candidate):
        candidate, k = f"p_{base}_{k}", k + 1
    return candidate


def _bounds(schema: Mapping[str, Any], kind: str) -> dict[str, Any]:
    if kind in ("integer", "number"):
        mapping = {
            "minimum": "ge",
            "maximum": "le",
            "exclusiveMinimum": "gt",
            "exclusiveMaximum": "lt",
            "multipleOf": "multiple_of",
        }
    elif kind == "string":
        mapping = {"minLength": "min_length", "maxLength": "max_length", "pattern": "pattern"}
    elif kind == "array":
        mapping = {"minItems": "min_length", "maxItems": "max_length"}
    else:
        return {}
    return {
        arg: schema[key]
        for key, arg in mapping.items()
        if isinstance(schema.get(key), (int, float, str)) and not isinstance(schema.get(key), bool)
    }


def _annotation(schema: Mapping[str, Any], model_name: str) -> Any:
    """The Python type that validates values of one normalised schema node."""
    if "anyOf" in schema:
        members = tuple(_annotation(m, f"{model_name}_{i}") for i, m in enumerate(schema["anyOf"]))
        return Union[members] if len(members) > 1 else members[0]  # type: ignore[valid-type]
    if "enum" in schema:
        values = schema["enum"]
        try:
            hash(tuple(values))
        except TypeError:
            return Any
        return Literal[tuple(values)]  # type: ignore[valid-type]
    kind = schema.get("type")
    if kind == "string":
        ann: Any = str
    elif kind == "integer":
        ann = Annotated[int, BeforeValidator(_reject_bool)]
    elif kind == "number":
        ann = Annotated[float, BeforeValidator(_reject_bool), Field(allow_inf_nan=False)]
    elif kind == "boolean":
        ann = bool
    elif kind == "null":
        return type(None)
    elif kind == "array":
        items = schema.get("items")
        ann = list[_annotation(items, f"{model_name}_item")] if items else list[Any]  # type: ignore[misc]
    elif kind == "object":
        if schema.get("properties"):
            return build_arguments_model(schema, model_name)
        extra = schema.get("additionalProperties")
        value = _annotation(extra, f"{model_name}_value") if isinstance(extra, Mapping) else Any
        ann = dict[str, value]  # type: ignore[valid-type]
    else:
        return Any
    bounds = _bounds(schema, kind)
    return Annotated[ann, Field(**bounds)] if bounds else ann


def build_arguments_model(schema: Mapping[str, Any], model_name: str) -> type[BaseModel]:
    """A pydantic model validating argument dicts against the normalised object ``schema``:
    unknown keys are rejected (unless ``additionalProperties`` is ``true``), optional parameters
    default to their ``default`` or ``None``, field aliases are the parameter names."""
    required = set(schema.get("required", ()))
    fields: dict[str, Any] = {}
    taken: set[str] = set()
    for pname, pschema in schema.get("properties", {}).items():
        fname = _field_name(pname, taken)
        taken.add(fname)
        ann = _annotation(pschema, f"{model_name}_{_camel(internal_identifier(pname))}")
        desc = pschema.get("description")
        if pname in required:
            fields[fname] = (ann, Field(alias=pname, description=desc))
        else:
            default = copy.deepcopy(pschema.get("default"))
            fields[fname] = (Optional[ann], Field(default=default, alias=pname, description=desc))
    extra = "allow" if schema.get("additionalProperties") is True else "forbid"
    return create_model(  # type: ignore[call-overload]
        model_name,
        __config__=ConfigDict(extra=extra, populate_by_name=False, protected_namespaces=()),
        **fields,
    )


def _locate(loc: Sequence[Any], schema: Mapping[str, Any]) -> tuple[str | None, tuple[Any, ...] | None]:
    """(parameter path, rest) for a pydantic error location.

    The path (``location.city``, ``stops[2].name``) follows the schema alongside the location.
    When the walk reaches a union (``anyOf``) the rest of the location, after the union's branch
    tag, is returned as ``rest`` (``None`` when the error is not inside a union).
    """
    path = ""
    node: Any = schema
    for i, step in enumerate(loc):
        if isinstance(node, Mapping) and "anyOf" in node:
            return path or None, tuple(loc[i + 1 :])
        kind = node.get("type") if isinstance(node, Mapping) else None
        if kind == "object" and isinstance(step, str):
            path = _join(path, step)
            props = node.get("properties") or {}
            extra = node.get("additionalProperties")
            if step in props:
                node = props[step]
            elif isinstance(extra, Mapping):
                node = extra
            else:
                break  # an unexpected key: name it and stop
        elif kind == "array" and isinstance(step, int):
            path += f"[{step}]"
            node = node.get("items") or {}
        else:
            break
    return path or None, None


def _format_step(loc: Sequence[Any]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


_ERROR_REASONS = {
    "extra_forbidden": "unexpected parameter (not in the tool's schema)",
    "missing": "missing required parameter",
    "model_type": "Input should be an object",
    "model_attributes_type": "Input should be an object",
    "dict_type": "Input should be an object",
}


def arguments_model_name(tool_name: str) -> str:
    """The class name of a tool's arguments model (``get_weather`` -> ``GetWeatherArguments``)."""
    return f"{_camel(internal_identifier(tool_name))}Arguments"


def cached_arguments_model(key: str) -> type[BaseModel] | None:
    """The model cached under ``key`` (a tool fingerprint), or ``None``."""
    with _MODEL_CACHE_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is not None:
            _MODEL_CACHE.move_to_end(key)
        return model


def cache_arguments_model(key: str, model: type[BaseModel]) -> None:
    """Cache ``model`` under ``key``, evicting the least recently used beyond the cache size."""
    with _MODEL_CACHE_LOCK:
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)


def describe_validation_error(exc: ValidationError, schema: Mapping[str, Any]) -> tuple[str | None, str]:
    """(parameter path, reason) for a failed validation against an arguments model of ``schema``:
    the first offending parameter, with the others appended to the reason."""
    problems: dict[tuple[str | None, bool], list[str]] = {}
    for err in exc.errors(include_url=False):
        param, rest = _locate(err["loc"], schema)
        reason = _ERROR_REASONS.get(err["type"], err["msg"])
        inner = (err.get("ctx") or {}).get("error")
        if err["type"] == "value_error" and inner is not None:
            reason = str(inner)
        if rest:
            reason = f"{_format_step(rest)}: {reason}"
        reasons = problems.setdefault((param, rest is not None), [])
        if reason not in reasons:
            reasons.append(reason)
    rendered = []
    for (param, in_union), reasons in problems.items():
        if in_union:
            rendered.append((param, f"fits none of its allowed types ({'; '.join(reasons)})"))
        else:
            rendered.append((param, "; ".join(reasons)))
    (param, reason), others = rendered[0], rendered[1:]
    if others:
        reason += "; also " + "; ".join(f"parameter {p!r}: {r}" if p else r for p, r in others)
    return param, reason
