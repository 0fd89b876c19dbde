"""ToolSpecs from schema-shaped declarations, and the dispatch over every kind of tool.

* dicts: OpenAI ``{"type": "function", "function": {...}}`` (and the flat Responses-API form),
  bare ``{"name", "description", "parameters"}``, BFCL (``"type": "dict"``, ``float``, ``tuple``,
  ``any``...), and ``input_schema`` / ``inputSchema`` in place of ``parameters``;
* pydantic model classes (v2, and v1 through ``.schema()``);
* LangChain tools, duck-typed (``name``, ``description`` and ``args_schema`` /
  ``tool_call_schema`` / ``args``): nothing here imports LangChain;
* :func:`to_tool_spec` / :func:`to_tool_specs` pick the right converter (functions go to
  :mod:`needle_router.tools.from_callable`).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from needle_router.tools.from_callable import parse_docstring, tool_spec_from_callable
from needle_router.tools.errors import ToolSpecError
from needle_router.tools.spec import ToolSpec, assign_internal_names

__all__ = [
    "is_langchain_tool",
    "is_pydantic_model_class",
    "to_tool_spec",
    "to_tool_specs",
    "tool_spec_from_dict",
    "tool_spec_from_langchain",
    "tool_spec_from_pydantic",
]

_ACCEPTED = (
    "a typed function, a pydantic model class, a LangChain tool, an OpenAI-style / bare / BFCL "
    "function dict or a ToolSpec"
)


# ------------------------------------------------------------------------------------ dicts


def tool_spec_from_dict(tool: Mapping[str, Any]) -> ToolSpec:
    """A :class:`ToolSpec` from an OpenAI-style, bare or BFCL function dict."""
    if not isinstance(tool, Mapping):
        raise ToolSpecError(f"expected a dict, got {type(tool).__name__}")
    fn: Mapping[str, Any] = tool
    kind = tool.get("type")
    if "function" in tool and isinstance(tool["function"], Mapping):
        if kind not in (None, "function"):
            raise ToolSpecError(f"unsupported tool type {kind!r} (only 'function' tools can be routed)")
        fn = tool["function"]
    elif kind not in (None, "function") and "parameters" not in tool:
        raise ToolSpecError(f"unsupported tool type {kind!r} (only 'function' tools can be routed)")
    elif "function" in tool:
        raise ToolSpecError(f"'function' must be an object, got {type(tool['function']).__name__}")

    name = fn.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ToolSpecError(f"tool name must be a non-empty string, got {name!r}")
    if "parameters" in fn:
        parameters = fn["parameters"]
    elif "input_schema" in fn:
        parameters = fn["input_schema"]
    else:
        parameters = fn.get("inputSchema")
    return ToolSpec(name=name, description=fn.get("description") or "", parameters=parameters)


# --------------------------------------------------------------------------------- pydantic


def is_pydantic_model_class(obj: Any) -> bool:
    """True for pydantic v2 model classes, and v1-style ones (``pydantic.v1``)."""
    if not inspect.isclass(obj):
        return False
    if issubclass(obj, BaseModel):
        return True
    return callable(getattr(obj, "schema", None)) and hasattr(obj, "__fields__")


def _model_schema(model: Any) -> dict[str, Any]:
    if isinstance(model, Mapping):
        return dict(model)
    if hasattr(model, "model_json_schema"):
        return model.model_json_schema()
    return model.schema()  # pydantic v1


def _class_name(model: Any) -> str:
    config = getattr(model, "model_config", None)
    title = config.get("title") if isinstance(config, Mapping) else None
    return title or model.__name__


def tool_spec_from_pydantic(
    model: type[Any], *, name: str | None = None, description: str | None = None
) -> ToolSpec:
    """A :class:`ToolSpec` from a pydantic model class: the fields are the parameters.

    The name is ``model_config["title"]`` or the class name, the description the class
    docstring's leading text; fields without a ``Field(description=...)`` take their description
    from the docstring's ``Attributes:``/``Args:`` section.
    """
    if not is_pydantic_model_class(model):
        raise ToolSpecError(f"expected a pydantic model class, got {type(model).__name__}")
    tool_name = name or _class_name(model)
    try:
        schema = _model_schema(model)
    except Exception as exc:
        raise ToolSpecError(f"cannot build the model's JSON Schema: {exc}", tool=tool_name) from exc
    doc = parse_docstring(model.__dict__.get("__doc__"))
    schema.pop("title", None)
    schema.pop("description", None)
    _fill_descriptions(schema, doc.params)
    return ToolSpec(
        name=tool_name,
        description=doc.description if description is None else description,
        parameters=schema,
    )


def _fill_descriptions(schema: dict[str, Any], descriptions: Mapping[str, str]) -> None:
    props = schema.get("properties")
    if not isinstance(props, Mapping) or not descriptions:
        return
    filled = {}
    for pname, pschema in props.items():
        if isinstance(pschema, Mapping) and not pschema.get("description") and descriptions.get(pname):
            pschema = {**pschema, "description": descriptions[pname]}
        filled[pname] = pschema
    schema["properties"] = filled


# -------------------------------------------------------------------------------- LangChain


def is_langchain_tool(obj: Any) -> bool:
    """Duck-typed: an instance with a string ``name``, a ``description`` and one of
    ``args_schema`` / ``tool_call_schema`` / ``args`` (LangChain's ``BaseTool`` shape)."""
    if inspect.isclass(obj) or isinstance(obj, Mapping):
        return False
    if not isinstance(getattr(obj, "name", None), str) or not hasattr(obj, "description"):
        return False
    return any(
        hasattr(type(obj), attr) or hasattr(obj, attr) for attr in ("args_schema", "tool_call_schema", "args")
    )


def tool_spec_from_langchain(tool: Any) -> ToolSpec:
    """A :class:`ToolSpec` from a LangChain tool (or anything shaped like one).

    The schema is the tool's ``tool_call_schema`` (which leaves out injected arguments), else its
    ``args_schema``; a tool without ``args_schema`` (a plain ``Tool``) is described by ``args``.
    A raw docstring in ``description`` (``@tool`` without ``parse_docstring``) is split into the
    description and parameter descriptions. ``func`` calls ``tool.invoke`` (``ainvoke`` for
    coroutine-only tools) with the arguments dict.
    """
    name = tool.name
    if not isinstance(name, str) or not name.strip():
        raise ToolSpecError(f"LangChain tool name must be a non-empty string, got {name!r}")
    description = tool.description or ""
    if not isinstance(description, str):
        raise ToolSpecError(f"description must be a string, got {type(description).__name__}", tool=name)

    args_schema = getattr(tool, "args_schema", None)
    schema: dict[str, Any] | None = None
    try:
        if args_schema is None and isinstance(getattr(tool, "args", None), Mapping):
            props = dict(tool.args)
            schema = {
                "type": "object",
                "properties": props,
                "required": [k for k, v in props.items() if not (isinstance(v, Mapping) and "default" in v)],
            }
        else:
            source = getattr(tool, "tool_call_schema", None) or args_schema
            if source is None:
                schema = None
            elif isinstance(source, Mapping) or is_pydantic_model_class(source):
                schema = _model_schema(source)
            else:
                raise ToolSpecError(
                    f"args_schema must be a pydantic model class or a JSON Schema dict, got {type(source).__name__}",
                    tool=name,
                )
    except ToolSpecError:
        raise
    except Exception as exc:
        raise ToolSpecError(f"cannot read the tool's argument schema: {exc}", tool=name) from exc

    parsed = parse_docstring(description)
    if parsed.params:
        description = parsed.description
    if schema is not None:
        schema = dict(schema)
        schema.pop("title", None)
        schema.pop("description", None)
        _fill_descriptions(schema, parsed.params)
    return ToolSpec(name=name, description=description, parameters=schema, func=_langchain_caller(tool))


def _langchain_caller(tool: Any) -> Any:
    sync_func = getattr(tool, "func", None)
    coroutine = getattr(tool, "coroutine", None)
    if sync_func is None and coroutine is not None and hasattr(tool, "ainvoke"):

        async def acall(**kwargs: Any) -> Any:
            return await tool.ainvoke(kwargs)

        acall.__name__ = tool.name if tool.name.isidentifier() else "acall"
        return acall
    if hasattr(tool, "invoke"):

        def call(**kwargs: Any) -> Any:
            return tool.invoke(kwargs)

        call.__name__ = tool.name if tool.name.isidentifier() else "call"
        return call
    return None


# --------------------------------------------------------------------------------- dispatch


def to_tool_spec(obj: Any) -> ToolSpec:
    """One :class:`ToolSpec` from any supported declaration (a ToolSpec passes through)."""
    if isinstance(obj, ToolSpec):
        return obj
    if isinstance(obj, Mapping):
        return tool_spec_from_dict(obj)
    if is_pydantic_model_class(obj):
        return tool_spec_from_pydantic(obj)
    if inspect.isclass(obj):
        raise ToolSpecError(
            f"cannot make a tool from the class {obj.__qualname__!r}: expected {_ACCEPTED} "
            "(make it a pydantic model, or pass a function)"
        )
    if is_langchain_tool(obj):
        return tool_spec_from_langchain(obj)
    if callable(obj):
        return tool_spec_from_callable(obj)
    raise ToolSpecError(f"cannot make a tool from a {type(obj).__name__} object: expected {_ACCEPTED}")


def to_tool_specs(objs: Iterable[Any]) -> list[ToolSpec]:
    """ToolSpecs for a tool set, in order, with unique internal names.

    Errors name the offending tool's position (``tools[2]``); duplicate user names are rejected.
    """
    if isinstance(objs, (str, bytes, Mapping, ToolSpec)) or callable(objs) or not isinstance(objs, Iterable):
        raise ToolSpecError(
            f"expected a list of tools, got a {type(objs).__name__}; wrap a single tool in a list"
        )
    specs = []
    for i, obj in enumerate(objs):
        try:
            specs.append(to_tool_spec(obj))
        except ToolSpecError as exc:
            raise exc.at(i) from exc.__cause__
    return assign_internal_names(specs)
