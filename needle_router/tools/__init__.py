"""Tool specs: any tool declaration -> one validated, normalised :class:`ToolSpec`.

Sources: typed Python functions (sync or async, bound methods, partials, callable objects),
pydantic model classes, LangChain tools (duck-typed, LangChain is never imported), OpenAI-style,
bare and BFCL function dicts, and ToolSpecs themselves::

    from needle_router.tools import to_tool_specs

    specs = to_tool_specs([get_weather, SendEmail, {"type": "function", "function": {...}}])

Tool registries in files (a ``.py`` with ``TOOLS = [...]``, or a JSON/YAML list) load with
:func:`load_tools_file`.
"""

from needle_router.tools.errors import ToolSpecError
from needle_router.tools.from_callable import ParsedDocstring, parse_docstring, tool_spec_from_callable
from needle_router.tools.from_schema import (
    is_langchain_tool,
    is_pydantic_model_class,
    to_tool_spec,
    to_tool_specs,
    tool_spec_from_dict,
    tool_spec_from_langchain,
    tool_spec_from_pydantic,
)
from needle_router.tools.loader import ToolsFileError, load_tools_file
from needle_router.tools.naming import (
    NameMap,
    internal_identifier,
    is_internal_identifier,
    unique_internal_names,
)
from needle_router.tools.schema import (
    ANY_SCHEMA,
    JSON_TYPES,
    canonical_json,
    normalize_parameters,
    resolve_refs,
)
from needle_router.tools.spec import ToolSpec, assign_internal_names, tool_set_fingerprint

__all__ = [
    "ANY_SCHEMA",
    "JSON_TYPES",
    "NameMap",
    "ParsedDocstring",
    "ToolSpec",
    "ToolSpecError",
    "ToolsFileError",
    "assign_internal_names",
    "canonical_json",
    "internal_identifier",
    "is_internal_identifier",
    "is_langchain_tool",
    "is_pydantic_model_class",
    "load_tools_file",
    "normalize_parameters",
    "parse_docstring",
    "resolve_refs",
    "to_tool_spec",
    "to_tool_specs",
    "tool_set_fingerprint",
    "tool_spec_from_callable",
    "tool_spec_from_dict",
    "tool_spec_from_langchain",
    "tool_spec_from_pydantic",
    "unique_internal_names",
]
