"""JSON Schema normalisation: any tool parameter schema -> one small canonical dialect.

A :class:`~needle_router.tools.spec.ToolSpec` keeps its ``parameters`` in this dialect, so that
the renderer and the grammar can rely on it:

* every schema node has exactly one of ``type`` (one of ``string``, ``integer``, ``number``,
  ``boolean``, ``array``, ``object``, ``null``), ``enum`` (a non-empty list of distinct values,
  with a ``type`` when all values share one) or ``anyOf`` (a list of such nodes);
* "any value" is ``{"anyOf": [one node per JSON type]}`` (:data:`ANY_SCHEMA`);
* no ``$ref`` / ``$defs`` / ``allOf`` / ``oneOf`` / ``const`` / type lists / ``prefixItems``:
  references are inlined, ``oneOf`` becomes ``anyOf``, ``const`` a one-value ``enum``, a type list
  an ``anyOf``, a tuple an array whose ``items`` cover all its positions;
* BFCL type names are mapped (``dict`` -> object, ``float`` -> number, ``tuple`` -> array,
  ``any`` -> any), as are ``int``, ``str``, ``bool``, ``list``;
* objects with properties carry ``properties`` and ``required`` (in property order; the
  top-level object always carries both); per-property ``"optional": true`` (BFCL) or
  ``"required": true`` (draft 3) flags are folded into ``required``;
* an optional property (not in ``required``) never lists ``null``: leaving it out means its
  ``default``, or ``None`` when it has none; a ``null`` default is therefore dropped;
* kept: ``description`` (stripped; empty ones dropped), ``default``, ``items``,
  ``additionalProperties`` (a schema, or ``true`` next to properties), ``format``, numeric, length
  and item-count bounds, ``pattern``, ``uniqueItems``, ``examples``; dropped: ``title`` and the
  other annotation keywords.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from needle_router.tools.errors import ToolSpecError

__all__ = ["ANY_SCHEMA", "JSON_TYPES", "canonical_json", "normalize_parameters", "resolve_refs"]

JSON_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "array", "object", "null")
"""The JSON Schema types a normalised schema uses."""

ANY_SCHEMA: dict[str, Any] = {"anyOf": [{"type": t} for t in JSON_TYPES]}
"""How a normalised schema says "any JSON value" (BFCL ``any``, a missing type, Python ``Any``)."""

_TYPE_ALIASES = {
    "dict": "object",
    "float": "number",
    "double": "number",
    "tuple": "array",
    "list": "array",
    "int": "integer",
    "str": "string",
    "bool": "boolean",
    "none": "null",
}
_ANY_TYPE_NAMES = {"any"}
_KEPT_KEYS = (
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "examples",
)
_NULL = {"type": "null"}


# ------------------------------------------------------------------------------ canonical helpers


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no spaces, UTF-8 kept, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _join(path: str | None, name: str) -> str:
    return name if not path else f"{path}.{name}"


def _type_name_of(value: Any) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def _fits_type(value: Any, type_name: str) -> bool:
    actual = _type_name_of(value)
    if type_name == "number":
        return actual in ("number", "integer")
    if type_name == "integer" and actual == "number":
        return float(value).is_integer()
    return actual == type_name


# ----------------------------------------------------------------------------- $ref inlining


def resolve_refs(
    schema: Any,
    defs: Mapping[str, Any] | None = None,
    *,
    tool: str | None = None,
    parameter: str | None = None,
) -> Any:
    """A copy of ``schema`` with every local ``$ref`` (``#/$defs/X`` or ``#/definitions/X``)
    replaced by its definition. Keywords next to a ``$ref`` win over the definition's (a field's
    own description beats its class docstring). ``defs`` defaults to the schema's own
    ``$defs``/``definitions``; recursive definitions raise :class:`ToolSpecError`.
    """
    if defs is None:
        defs = {}
        if isinstance(schema, Mapping):
            defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    return _Inliner(dict(defs), tool).inline(schema, parameter, ())


class _Inliner:
    def __init__(self, defs: dict[str, Any], tool: str | None):
        self.defs = defs
        self.tool = tool

    def inline(self, node: Any, path: str | None, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self.inline(v, path, stack) for v in node]
        if not isinstance(node, Mapping):
            return node
        local = {**(node.get("definitions") or {}), **(node.get("$defs") or {})}
        if local and any(self.defs.get(k) is not v for k, v in local.items()):
            # nested definitions (rare): visible below this node
            return _Inliner({**self.defs, **local}, self.tool).inline(
                {k: v for k, v in node.items() if k not in ("$defs", "definitions")}, path, stack
            )
        if "$ref" in node:
            ref = node["$ref"]
            name = self._ref_name(ref, path)
            if name in stack:
                raise ToolSpecError(
                    f"recursive schema ({' -> '.join(stack + (name,))}) is not supported",
                    tool=self.tool,
                    parameter=path,
                )
            target = self.defs[name]
            if not isinstance(target, Mapping):
                raise ToolSpecError(
                    f"$ref {ref!r} does not point to a schema", tool=self.tool, parameter=path
                )
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return self.inline(merged, path, stack + (name,))
        out = {}
        for key, value in node.items():
            if key in ("$defs", "definitions"):
                continue
            if key == "properties" and isinstance(value, Mapping):
                out[key] = {k: self.inline(v, _join(path, str(k)), stack) for k, v in value.items()}
            elif key in ("items", "prefixItems", "additionalProperties"):
                out[key] = self.inline(
                    value, f"{path or ''}[]" if key != "additionalProperties" else path, stack
                )
            elif key in ("anyOf", "oneOf", "allOf"):
                out[key] = self.inline(value, path, stack)
            else:
                out[key] = copy.deepcopy(value)
        return out

    def _ref_name(self, ref: Any, path: str | None) -> str:
        if isinstance(ref, str):
            for prefix in ("#/$defs/", "#/definitions/"):
                if ref.startswith(prefix):
                    name = ref[len(prefix) :]
                    if name in self.defs:
                        return name
                    raise ToolSpecError(f"$ref {ref!r} has no definition", tool=self.tool, parameter=path)
        raise ToolSpecError(
            f"only local $ref ('#/$defs/...') is supported, got {ref!r}", tool=self.tool, parameter=path
        )


# ---------------------------------------------------------------------------- normalisation


def normalize_parameters(parameters: Any, *, tool: str | None = None) -> dict[str, Any]:
    """The canonical form (see the module docstring) of a tool's parameter schema.

    ``None`` means "no parameters". Raises :class:`ToolSpecError` naming ``tool`` and the
    offending parameter when the schema is not a valid object schema.
    """
    if parameters is None:
        return {"type": "object", "properties": {}, "required": []}
    if not isinstance(parameters, Mapping):
        raise ToolSpecError(
            f"parameters must be a JSON Schema object (a dict), got {type(parameters).__name__}", tool=tool
        )
    schema = resolve_refs(parameters, tool=tool)
    raw_type = schema.get("type")
    kind = _map_type(raw_type, tool, None) if isinstance(raw_type, str) else raw_type
    if kind is None and (
        "properties" in schema
        or not schema
        or set(schema) <= {"title", "description", "required", "additionalProperties"}
    ):
        kind = "object"
    if kind != "object":
        raise ToolSpecError(
            f"parameters must be a JSON Schema of type 'object' with 'properties', got type {raw_type!r}",
            tool=tool,
        )
    return _Normaliser(tool).object_node(schema, None, top=True)


def _map_type(raw: Any, tool: str | None, path: str | None) -> str | None:
    """A canonical JSON type for one type name; ``None`` for "any"."""
    if not isinstance(raw, str):
        raise ToolSpecError(
            f"type must be a string or a list of strings, got {raw!r}", tool=tool, parameter=path
        )
    name = raw.strip().lower()
    if name in _ANY_TYPE_NAMES:
        return None
    name = _TYPE_ALIASES.get(name, name)
    if name not in JSON_TYPES:
        raise ToolSpecError(
            f"unknown type {raw!r} (expected one of {', '.join(JSON_TYPES)}, or dict/float/tuple/any)",
            tool=tool,
            parameter=path,
        )
    return name


class _Normaliser:
    def __init__(self, tool: str | None):
        self.tool = tool

    def err(self, path: str | None, reason: str) -> ToolSpecError:
        return ToolSpecError(reason, tool=self.tool, parameter=path)

    # one schema node ---------------------------------------------------------------------
    def node(self, schema: Any, path: str | None) -> dict[str, Any]:
        if schema is True:
            return copy.deepcopy(ANY_SCHEMA)
        if not isinstance(schema, Mapping):
            raise self.err(path, f"schema must be a JSON object (a dict), got {type(schema).__name__}")
        schema = dict(schema)

        if "allOf" in schema:
            parts = schema.pop("allOf")
            if not isinstance(parts, list) or len(parts) != 1 or not isinstance(parts[0], Mapping):
                raise self.err(path, "allOf is only supported with exactly one schema")
            schema = {**parts[0], **schema}
        if "oneOf" in schema and "anyOf" not in schema:
            schema["anyOf"] = schema.pop("oneOf")
        if "const" in schema and "enum" not in schema:
            schema["enum"] = [schema.pop("const")]

        common: dict[str, Any] = {}
        if "description" in schema and schema["description"] is not None:
            desc = schema["description"]
            if not isinstance(desc, str):
                raise self.err(path, f"description must be a string, got {type(desc).__name__}")
            if desc.strip():
                common["description"] = desc.strip()
        if "default" in schema and schema["default"] is not None:
            default = schema["default"]
            try:
                canonical_json(default)
            except (TypeError, ValueError):
                raise self.err(path, f"default {default!r} is not JSON-serialisable") from None
            common["default"] = copy.deepcopy(default)
        for key in _KEPT_KEYS:
            if key in schema and schema[key] is not None:
                common[key] = copy.deepcopy(schema[key])

        raw_type = schema.get("type")
        if isinstance(raw_type, list):
            names = []
            for t in raw_type:
                mapped = _map_type(t, self.tool, path)
                if mapped is None:  # "any" inside a list: the whole node is any
                    names = list(JSON_TYPES)
                    break
                if mapped not in names:
                    names.append(mapped)
            if not names:
                raise self.err(path, "type list must not be empty")
            if len(names) == 1:
                schema["type"] = names[0]
            else:
                schema.pop("type")
                members = []
                for t in names:
                    member = {"type": t}
                    if t == "array" and "items" in schema:
                        member["items"] = schema["items"]
                    if t == "object":
                        for key in ("properties", "required", "additionalProperties"):
                            if key in schema:
                                member[key] = schema[key]
                    members.append(member)
                if "enum" in schema:
                    return self.enum_node(schema["enum"], None, common, path)
                return self.any_of_node(members, common, path)
            raw_type = schema["type"]

        kind = None
        if raw_type is not None:
            kind = _map_type(raw_type, self.tool, path)
            if kind is None and "enum" not in schema and "anyOf" not in schema:
                return {**copy.deepcopy(ANY_SCHEMA), **common}

        if "enum" in schema:
            return self.enum_node(schema["enum"], kind, common, path)
        if "anyOf" in schema:
            return self.any_of_node(schema["anyOf"], common, path)
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                return {**copy.deepcopy(ANY_SCHEMA), **common}

        if kind == "object":
            out = self.object_node(schema, path, top=False)
        elif kind == "array":
            out = self.array_node(schema, path)
        else:
            out = {"type": kind}
        for key, value in common.items():
            out.setdefault(key, value)
        return out

    def enum_node(self, values: Any, kind: str | None, common: dict, path: str | None) -> dict[str, Any]:
        if not isinstance(values, (list, tuple)) or not values:
            raise self.err(path, "enum must be a non-empty list")
        seen: set[str] = set()
        for v in values:
            try:
                key = canonical_json(v)
            except (TypeError, ValueError):
                raise self.err(path, f"enum value {v!r} is not JSON-serialisable") from None
            if key in seen:
                raise self.err(path, f"enum has duplicate value {v!r}")
            seen.add(key)
        values = copy.deepcopy(list(values))
        if kind is not None:
            for v in values:
                if v is not None and not _fits_type(v, kind):
                    raise self.err(path, f"enum value {v!r} is not of type {kind!r}")
        else:
            kinds = {_type_name_of(v) for v in values if v is not None}
            if kinds == {"integer", "number"}:
                kinds = {"number"}
            if len(kinds) == 1:
                kind = kinds.pop()
        out: dict[str, Any] = {}
        if kind is not None:
            out["type"] = kind
        out["enum"] = values
        return {**out, **common}

    def any_of_node(self, members: Any, common: dict, path: str | None) -> dict[str, Any]:
        if not isinstance(members, list) or not members:
            raise self.err(path, "anyOf must be a non-empty list of schemas")
        flat: list[dict[str, Any]] = []
        seen: set[str] = set()

        def add(member: dict[str, Any]) -> None:
            if set(member) == {"anyOf"}:
                for m in member["anyOf"]:
                    add(m)
                return
            key = canonical_json(member)
            if key not in seen:
                seen.add(key)
                flat.append(member)

        for m in members:
            add(self.node(m, path))
        if len(flat) == 1:
            return {**flat[0], **{k: v for k, v in common.items()}}
        return {"anyOf": flat, **common}

    def array_node(self, schema: dict, path: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array"}
        item_path = f"{path or ''}[]"
        items = schema.get("items")
        positional = schema.get("prefixItems")
        if isinstance(items, list):  # draft-4 tuple form
            positional, items = items, None
        if positional is not None:
            if not isinstance(positional, list):
                raise self.err(path, "prefixItems must be a list of schemas")
            members = [self.node(m, item_path) for m in positional]
            if isinstance(items, Mapping) and items:
                members.append(self.node(items, item_path))
            if members:
                merged = self.any_of_node(members, {}, item_path) if len(members) > 1 else members[0]
                if merged != ANY_SCHEMA:
                    out["items"] = merged
        elif items is not None and items is not True and items != {}:
            normalised = self.node(items, item_path)
            if normalised != ANY_SCHEMA:
                out["items"] = normalised
        return out

    def object_node(self, schema: Mapping, path: str | None, *, top: bool) -> dict[str, Any]:
        props_in = schema.get("properties")
        if props_in is None:
            props_in = {}
        if isinstance(props_in, list):  # [{"name": ..., ...}, ...]
            as_dict: dict[str, Any] = {}
            for entry in props_in:
                if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                    raise self.err(path, "properties given as a list must hold objects with a 'name'")
                pname = entry["name"]
                if pname in as_dict:
                    raise self.err(_join(path, pname), "duplicate property name")
                as_dict[pname] = {k: v for k, v in entry.items() if k != "name"}
            props_in = as_dict
        if not isinstance(props_in, Mapping):
            raise self.err(path, f"properties must be an object, got {type(props_in).__name__}")

        required_in = schema.get("required")
        required: list[str] = []
        if required_in is not None and not isinstance(required_in, bool):
            if not isinstance(required_in, (list, tuple)) or not all(isinstance(r, str) for r in required_in):
                raise self.err(path, "required must be a list of property names")
            for r in required_in:
                if r in required:
                    raise self.err(_join(path, r), "listed twice in 'required'")
                if r not in props_in:
                    raise self.err(_join(path, r), "listed in 'required' but not in 'properties'")
                required.append(r)

        props: dict[str, Any] = {}
        for pname, pschema in props_in.items():
            if not isinstance(pname, str) or not pname.strip():
                raise self.err(path, f"property names must be non-empty strings, got {pname!r}")
            ppath = _join(path, pname)
            if pname in props:
                raise self.err(ppath, "duplicate property name")
            if isinstance(pschema, Mapping):
                pschema = dict(pschema)
                flag = pschema.pop("required", None) if isinstance(pschema.get("required"), bool) else None
                optional = pschema.pop("optional", None)
                if flag is True and pname not in required:
                    required.append(pname)
                if optional is True and pname in required:
                    required.remove(pname)
                elif optional is False and pname not in required:
                    required.append(pname)
            props[pname] = self.node(pschema, ppath)

        for pname, pschema in props.items():
            if pname not in required:
                props[pname] = _drop_null(pschema)

        out: dict[str, Any] = {"type": "object"}
        if props or top:
            out["properties"] = props
            out["required"] = [p for p in props if p in required]
        extra = schema.get("additionalProperties")
        if not top:
            if isinstance(extra, Mapping) and extra:
                normalised = self.node(extra, f"{path or ''}.*" if path else "*")
                if normalised != ANY_SCHEMA:
                    out["additionalProperties"] = normalised
            elif extra is True and props:
                out["additionalProperties"] = True
        return out


def _drop_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional property's schema without a ``null`` alternative (absence already means None)."""
    members = schema.get("anyOf")
    if members is None or _NULL not in members or schema.get("anyOf") == ANY_SCHEMA["anyOf"]:
        return schema
    rest = [m for m in members if m != _NULL]
    common = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(rest) == 1:
        return {**rest[0], **common}
    return {"anyOf": rest, **common}


def _empty_parameters() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "required": []}
