"""The authored tool catalogue: loading and checking ``trainer/catalogue/domains/*.yaml``.

The catalogue is the data engine's teacher: real-looking tools with natural query templates.
One YAML file per domain (its stem is the domain id)::

    domain: smart_home
    description: Lights, thermostats, locks and appliances at home.
    tools:
      - name: set_thermostat
        description: Set the target temperature of a thermostat.
        parameters:                       # JSON Schema (object), plus x- generation hints
          type: object
          properties:
            temperature: {type: number, minimum: 10, maximum: 30, description: Target temperature}
            room: {type: string, description: Room name, x-values: [living room, bedroom, ...]}
            unit: {type: string, enum: [celsius, fahrenheit], x-say: {celsius: [°C, degrees C]}}
            eco: {type: boolean, description: Eco mode}
          required: [temperature]
        queries:                          # >= 8 templates
          - set the {room} thermostat to {temperature}
          - make it {temperature} {unit} in here with eco mode on{eco=true}
    no_call:                              # optional: on-topic requests no tool here can serve
      - why does my thermostat keep clicking?

Template slots: ``{param}`` is replaced by a generated value's surface text; ``{param.field}``
fills a field of an object parameter; ``{param=JSON}`` fixes a value without any text (``true``,
``3``, ``"celsius"``; a bare word is a string). Every required parameter appears in every
template; optional parameters a template leaves out are absent from its call.

Value hints on string schemas (and array items): ``x-values`` (a list of realistic examples),
``x-faker`` (one of :data:`FAKER_KINDS`), or ``format: date|time|date-time``. ``x-say`` maps enum
values (and booleans) to the phrases people use for them.

``python -m needle_trainer.data.catalogue [FILES...]`` checks files and prints counts.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from needle_router.tools import ToolSpec
from needle_router.tools.errors import ToolSpecError

CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "catalogue" / "domains"
MIN_QUERIES = 8
MIN_VALUES = 4

#: value generators a string schema may name with ``x-faker`` (see :mod:`.values`)
FAKER_KINDS = (
    "name", "first_name", "last_name", "city", "country", "street_address", "address", "postcode",
    "company", "email", "phone_number", "url", "domain_name", "user_name", "job", "color_name",
    "currency_code", "language_name", "file_path", "file_name", "ipv4", "word", "sentence",
    "catch_phrase", "license_plate", "iban", "isbn13", "uuid4", "hex_color", "date", "time",
    "date_time", "month_name", "day_of_week", "country_code", "timezone", "airport_code",
    "product_name", "street_name", "state", "text",
)
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_SLOT = re.compile(r"\{([^{}]*)\}")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false (so a parameter named ``on`` or a value ``no`` stays a string)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _ch in "tTfF":
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_ch])


class CatalogueError(ValueError):
    """A catalogue file is invalid; the message names the file, tool and template."""


@dataclass(frozen=True)
class Slot:
    """A ``{...}`` in a template: a parameter path and, for ``{p=v}``, its fixed value."""

    path: tuple[str, ...]
    fixed: Any = None
    has_fixed: bool = False


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[str | Slot, ...]

    @property
    def slots(self) -> list[Slot]:
        return [p for p in self.parts if isinstance(p, Slot)]


@dataclass(frozen=True)
class CatalogueTool:
    domain: str
    name: str
    description: str
    schema: dict[str, Any]            # parameters with the x- hints (what generation reads)
    templates: tuple[Template, ...]

    @functools.cached_property
    def parameters(self) -> dict[str, Any]:
        """The clean JSON Schema (x- hints removed): what a model sees."""
        return strip_hints(self.schema)

    def openai(self) -> dict[str, Any]:
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.parameters}}


@dataclass(frozen=True)
class Domain:
    name: str
    description: str
    tools: tuple[CatalogueTool, ...]
    no_call: tuple[str, ...] = field(default=())


def strip_hints(node: Any) -> Any:
    """A schema without the catalogue's ``x-`` keys (recursively)."""
    if isinstance(node, Mapping):
        return {k: strip_hints(v) for k, v in node.items() if not str(k).startswith("x-")}
    if isinstance(node, list):
        return [strip_hints(v) if isinstance(v, (Mapping, list)) else v for v in node]
    return node


def parse_template(text: str) -> Template:
    """Split a template into text and :class:`Slot` parts (raises ValueError when malformed)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a query template must be a non-empty string")
    parts: list[str | Slot] = []
    pos = 0
    for m in _SLOT.finditer(text):
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        body = m.group(1).strip()
        name, eq, raw = body.partition("=")
        name = name.strip()
        if not _PATH.match(name):
            raise ValueError(f"bad slot {{{body}}}: expected {{param}}, {{param.field}} or {{param=value}}")
        if eq:
            raw = raw.strip()
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
            parts.append(Slot(tuple(name.split(".")), value, True))
        else:
            parts.append(Slot(tuple(name.split("."))))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    if "{" in "".join(p for p in parts if isinstance(p, str)) or "}" in "".join(
            p for p in parts if isinstance(p, str)):
        raise ValueError("unbalanced '{' or '}' in template")
    return Template(text, tuple(parts))


# ------------------------------------------------------------------------------- checks

def _node_at(schema: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] | None = schema
    for key in path:
        if node is None or node.get("type", "object") != "object":
            return None
        node = (node.get("properties") or {}).get(key)
    return node


def _value_fits(value: Any, node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    if "enum" in node:
        return value in node["enum"]
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(_value_fits(v, node.get("items") or {}) for v in value)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _check_generatable(node: Mapping[str, Any], where: str) -> None:
    """Every string (outside enums) must say how to generate values."""
    kind = node.get("type")
    if "enum" in node:
        if not node["enum"]:
            raise ValueError(f"{where}: empty enum")
        say = node.get("x-say") or {}
        if not isinstance(say, Mapping) or any(str(k) not in {str(v) for v in node["enum"]} for k in say):
            raise ValueError(f"{where}: x-say keys must be enum values")
        return
    if kind == "string":
        values = node.get("x-values")
        faker = node.get("x-faker")
        if values is not None:
            if not isinstance(values, list) or len(values) < MIN_VALUES or not all(
                    isinstance(v, str) and v.strip() for v in values):
                raise ValueError(f"{where}: x-values must list at least {MIN_VALUES} non-empty strings")
        elif faker is not None:
            if faker not in FAKER_KINDS:
                raise ValueError(f"{where}: unknown x-faker {faker!r} (known: {', '.join(FAKER_KINDS)})")
        elif node.get("format") not in ("date", "time", "date-time"):
            raise ValueError(f"{where}: a string needs x-values, x-faker or format date/time/date-time")
    elif kind in ("integer", "number"):
        lo, hi = node.get("minimum"), node.get("maximum")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"{where}: minimum > maximum")
        values = node.get("x-values")
        if values is not None and not all(_value_fits(v, node) for v in values):
            raise ValueError(f"{where}: x-values do not match type {kind}")
    elif kind == "array":
        items = node.get("items")
        if not isinstance(items, Mapping):
            raise ValueError(f"{where}: an array needs an items schema")
        _check_generatable(items, where + "[]")
    elif kind == "object":
        for key, sub in (node.get("properties") or {}).items():
            _check_generatable(sub, f"{where}.{key}")
    elif kind == "boolean":
        return
    else:
        raise ValueError(f"{where}: unsupported type {kind!r} (use string/integer/number/boolean/array/object)")


def _check_template(tpl: Template, schema: Mapping[str, Any]) -> None:
    seen: set[tuple[str, ...]] = set()
    for slot in tpl.slots:
        node = _node_at(schema, slot.path)
        name = ".".join(slot.path)
        if node is None:
            raise ValueError(f"slot {{{name}}} names no parameter")
        if slot.path in seen:
            raise ValueError(f"slot {{{name}}} appears twice")
        seen.add(slot.path)
        if slot.has_fixed:
            if not _value_fits(slot.fixed, node):
                raise ValueError(f"fixed value {slot.fixed!r} does not fit {{{name}}}")
        elif node.get("type") == "boolean" and "x-say" not in node:
            raise ValueError(f"boolean {{{name}}} needs a fixed value ({{{name}=true}}) or x-say phrases")
        elif node.get("type") == "object" and node.get("properties"):
            raise ValueError(f"object {{{name}}}: fill its fields ({{{name}.field}}) instead")
    top = {p[0] for p in seen}
    for req in schema.get("required", []):
        if req not in top:
            raise ValueError(f"required parameter {req!r} is missing")
    for key in top:
        node = (schema.get("properties") or {})[key]
        if node.get("type") == "object" and node.get("properties"):
            have = {p[1] for p in seen if p[0] == key and len(p) > 1}
            for req in node.get("required", []):
                if req not in have:
                    raise ValueError(f"required field {key}.{req} is missing")
    if not "".join(p for p in tpl.parts if isinstance(p, str)).strip():
        raise ValueError("a template needs words besides its slots")


def _tool_from(raw: Any, domain: str, where: str) -> CatalogueTool:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: a tool must be a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not _SNAKE.match(name):
        raise CatalogueError(f"{where}: tool name {name!r} must be snake_case")
    where = f"{where} ({name})"
    unknown = set(raw) - {"name", "description", "parameters", "queries"}
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    description = raw.get("description")
    if not isinstance(description, str) or len(description.split()) < 3:
        raise CatalogueError(f"{where}: description must be a sentence")
    schema = raw.get("parameters") or {"type": "object", "properties": {}}
    try:
        ToolSpec(name=name, description=description, parameters=strip_hints(schema))
    except ToolSpecError as exc:
        raise CatalogueError(f"{where}: {exc}") from None
    for pname, pnode in (schema.get("properties") or {}).items():
        try:
            _check_generatable(pnode, pname)
        except ValueError as exc:
            raise CatalogueError(f"{where}: parameter {exc}") from None
    queries = raw.get("queries")
    if not isinstance(queries, list) or len(queries) < MIN_QUERIES:
        raise CatalogueError(f"{where}: needs at least {MIN_QUERIES} query templates")
    templates = []
    for i, text in enumerate(queries):
        try:
            tpl = parse_template(text)
            _check_template(tpl, schema)
        except ValueError as exc:
            raise CatalogueError(f"{where}: query {i + 1} {text!r}: {exc}") from None
        templates.append(tpl)
    return CatalogueTool(domain, name, description.strip(), dict(schema), tuple(templates))


def load_domain(path: str | Path) -> Domain:
    """Load and check one domain file; raises :class:`CatalogueError` naming file and tool."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogueError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("tools"), list):
        raise CatalogueError(f"{path}: expected a mapping with 'domain', 'description' and 'tools'")
    domain = data.get("domain")
    if domain != path.stem:
        raise CatalogueError(f"{path}: 'domain' must equal the file name stem {path.stem!r}, got {domain!r}")
    tools = tuple(_tool_from(t, domain, f"{path}: tool {i + 1}") for i, t in enumerate(data["tools"]))
    no_call = data.get("no_call") or []
    if not isinstance(no_call, list) or not all(isinstance(q, str) and "{" not in q for q in no_call):
        raise CatalogueError(f"{path}: no_call must be a list of plain query strings")
    return Domain(domain, str(data.get("description") or ""), tools, tuple(no_call))


def load_catalogue(paths: Iterable[str | Path] | None = None) -> list[Domain]:
    """All domains (default: every file in :data:`CATALOGUE_DIR`, or in ``$NEEDLE_CATALOGUE_DIR``
    when set), tool names unique across them."""
    folder = Path(os.environ.get("NEEDLE_CATALOGUE_DIR") or CATALOGUE_DIR)
    files = sorted(Path(p) for p in paths) if paths is not None else sorted(folder.glob("*.yaml"))
    domains = [load_domain(f) for f in files]
    owner: dict[str, str] = {}
    for d in domains:
        for t in d.tools:
            if t.name in owner:
                raise CatalogueError(f"tool {t.name!r} is defined in both {owner[t.name]} and {d.name}")
            owner[t.name] = d.name
    return domains


@functools.lru_cache(maxsize=1)
def default_catalogue() -> tuple[Domain, ...]:
    return tuple(load_catalogue())


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        domains = load_catalogue(args or None)
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    n_tools = sum(len(d.tools) for d in domains)
    n_tpl = sum(len(t.templates) for d in domains for t in d.tools)
    for d in domains:
        print(f"{d.name:28s} {len(d.tools):4d} tools {sum(len(t.templates) for t in d.tools):5d} templates"
              f" {len(d.no_call):3d} no-call")
    print(f"{len(domains)} domains, {n_tools} tools, {n_tpl} templates: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
