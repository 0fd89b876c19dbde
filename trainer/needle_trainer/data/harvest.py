"""Real API operations as tool specs, read from installed packages at generation time.

Sources (each optional; see ``trainer/catalogue/README.md`` for licences):

* ``botocore``: AWS service models (``service-2``): operation name, documentation, input shape;
* ``google-api-python-client``: the bundled discovery documents: method id, description,
  parameters;
* the Python standard library: public functions of common modules via :mod:`inspect`.

Nothing is copied into the repository. A harvested tool carries the same ``x-`` value hints as
catalogue tools (inferred from parameter names), so the phrasing module can write queries for
it. Whole services / documents / modules are held out by name (:mod:`.splits`).
"""

from __future__ import annotations

import functools
import html
import importlib
import inspect
import json
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_PARAMS = 8
_TAG = re.compile(r"<[^>]+>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
STDLIB_MODULES = (
    "math", "statistics", "string", "textwrap", "json", "shutil", "os.path", "random", "datetime",
    "calendar", "zlib", "hashlib", "re", "fnmatch", "glob", "urllib.parse", "html", "base64",
    "colorsys", "difflib", "ipaddress", "uuid", "secrets", "bisect", "heapq", "gzip", "tarfile",
    "zipfile", "csv", "sqlite3", "locale", "unicodedata", "email.utils", "http.cookies", "mimetypes",
    "platform", "socket", "ssl", "tempfile", "time", "webbrowser", "wave", "decimal", "fractions",
    "operator", "pprint", "quopri", "shlex", "struct", "timeit", "tokenize", "keyword", "getpass",
)
_AWS_REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1",
                "sa-east-1", "ca-central-1"]


@dataclass(frozen=True)
class HarvestedTool:
    source: str        # "botocore" | "google" | "stdlib"
    group: str         # service / API / module: the unit of the held-out split
    name: str
    description: str
    schema: dict[str, Any]
    action: str = ""   # words that say what it does ("describe instances"), for query phrasing

    @functools.cached_property
    def _clean(self) -> dict[str, Any]:
        from needle_trainer.data.catalogue import strip_hints

        return strip_hints(self.schema)

    def parameters(self) -> dict[str, Any]:
        return self._clean


def first_sentence(text: str, limit: int = 200) -> str:
    text = " ".join(html.unescape(_TAG.sub(" ", text or "")).split())
    text = _SENTENCE_END.split(text, 1)[0] if text else ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def value_hint(name: str, node: dict[str, Any]) -> dict[str, Any]:
    """Add an ``x-`` value hint to a string schema from its parameter name."""
    if node.get("type") != "string" or "enum" in node or "format" in node:
        return node
    low = name.lower()
    table = (
        (("email",), "email"), (("url", "uri", "link", "endpoint"), "url"),
        (("region",), None), (("date", "time", "timestamp", "since", "until"), "date"),
        (("path", "file", "key", "prefix"), "file_path"), (("language", "locale"), "language_name"),
        (("country",), "country_code"), (("description", "message", "comment", "text", "body", "query"), "sentence"),
        (("name", "title", "alias", "label"), "catch_phrase"),
        (("id", "arn", "token", "identifier"), "identifier"), (("user", "owner", "account"), "user_name"),
        (("color",), "color_name"), (("currency",), "currency_code"), (("phone",), "phone_number"),
    )
    for keys, kind in table:
        if any(k in low for k in keys):
            if kind is None:
                return {**node, "x-values": _AWS_REGIONS}
            if kind == "date":
                return {**node, "format": "date"}
            return {**node, "x-faker": kind}
    return {**node, "x-faker": "slug"}


def _finish(params: dict[str, Any], required: list[str], rng: random.Random) -> dict[str, Any]:
    names = list(params)
    if len(names) > MAX_PARAMS:
        keep = [n for n in names if n in required][:MAX_PARAMS]
        rest = [n for n in names if n not in keep]
        keep += rng.sample(rest, max(0, MAX_PARAMS - len(keep)))
        names = [n for n in names if n in keep]
    props = {n: value_hint(n, params[n]) for n in names}
    return {"type": "object", "properties": props, "required": [n for n in required if n in props]}


# ----------------------------------------------------------------------------- botocore

def _boto_node(shapes: dict[str, Any], ref: dict[str, Any], depth: int = 0) -> dict[str, Any] | None:
    shape = shapes.get(ref.get("shape", ""), {})
    kind = shape.get("type")
    desc = first_sentence(ref.get("documentation") or shape.get("documentation") or "", 140)
    node: dict[str, Any]
    if kind == "string":
        node = {"type": "string", "enum": shape["enum"]} if shape.get("enum") else {"type": "string"}
    elif kind in ("integer", "long"):
        lo = int(shape.get("min", 1))
        node = {"type": "integer", "minimum": lo, "maximum": int(max(lo, min(shape.get("max", max(1000, lo + 1000)), 10**6)))}
    elif kind in ("double", "float"):
        node = {"type": "number", "minimum": 0, "maximum": 1000}
    elif kind == "boolean":
        node = {"type": "boolean"}
    elif kind == "timestamp":
        node = {"type": "string", "format": "date"}
    elif kind == "list" and depth == 0:
        item = _boto_node(shapes, shape.get("member", {}), depth + 1)
        if item is None or item.get("type") in ("object", "array"):
            return None
        item.pop("description", None)
        node = {"type": "array", "items": item}
    elif kind == "structure" and depth == 0:
        members = {}
        for m, mref in list(shape.get("members", {}).items())[:4]:
            sub = _boto_node(shapes, mref, depth + 1)
            if sub is not None and sub.get("type") not in ("object", "array"):
                members[m] = value_hint(m, sub)
        if not members:
            return None
        node = {"type": "object", "properties": members,
                "required": [m for m in shape.get("required", []) if m in members]}
    else:
        return None
    if desc:
        node["description"] = desc
    return node


def botocore_tools(service: str) -> list[HarvestedTool]:
    """Every convertible operation of one AWS service model."""
    loader = _boto_loader()
    model = loader.load_service_model(service, "service-2")
    shapes = model.get("shapes", {})
    rng = random.Random(f"boto:{service}")
    out = []
    for op_name, op in model.get("operations", {}).items():
        params: dict[str, Any] = {}
        shape = shapes.get(op.get("input", {}).get("shape", ""), {})
        for member, ref in shape.get("members", {}).items():
            node = _boto_node(shapes, ref)
            if node is not None:
                params[member] = node
        required = [r for r in shape.get("required", []) if r in params]
        if len(required) < len(shape.get("required", [])):
            continue                  # a required input we cannot express
        desc = first_sentence(op.get("documentation", "")) or f"{op_name} operation of {service}."
        name = rng.choice((op_name, f"{service}.{op_name}", f"{service}_{op_name}"))
        out.append(HarvestedTool("botocore", service, name, desc, _finish(params, required, rng), op_name))
    return out


@functools.lru_cache(maxsize=1)
def _boto_loader():
    import botocore.session

    return botocore.session.get_session().get_component("data_loader")


def botocore_groups() -> list[str]:
    try:
        return sorted(_boto_loader().list_available_services("service-2"))
    except Exception:                 # not installed, or its data unreadable
        return []


# ------------------------------------------------------------------------------- google

def _google_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("googleapiclient")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "discovery_cache" / "documents"
    return folder if folder.is_dir() else None


def google_groups() -> list[str]:
    folder = _google_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder else []


def _google_methods(resource: dict[str, Any]):
    for method in (resource.get("methods") or {}).values():
        yield method
    for sub in (resource.get("resources") or {}).values():
        yield from _google_methods(sub)


def google_tools(document: str) -> list[HarvestedTool]:
    folder = _google_dir()
    if folder is None:
        return []
    doc = json.loads((folder / f"{document}.json").read_text(encoding="utf-8"))
    rng = random.Random(f"google:{document}")
    out = []
    for method in _google_methods(doc):
        method_id = method.get("id")
        if not method_id:
            continue
        params, required = {}, []
        for pname, p in (method.get("parameters") or {}).items():
            kind = {"string": "string", "integer": "integer", "boolean": "boolean", "number": "number"}.get(p.get("type"))
            if kind is None:
                continue
            node: dict[str, Any] = {"type": kind}
            if p.get("enum") and kind == "string":
                node["enum"] = p["enum"]
            if kind == "integer":
                node.update(minimum=1, maximum=1000)
            if p.get("repeated") and kind == "string" and "enum" not in node:
                node = {"type": "array", "items": value_hint(pname, node)}
            desc = first_sentence(p.get("description", ""), 140)
            if desc:
                node["description"] = desc
            params[pname] = node
            if p.get("required"):
                required.append(pname)
        desc = first_sentence(method.get("description", "")) or f"{method_id} method."
        name = rng.choice((method_id, method_id.replace(".", "_"), ".".join(method_id.split(".")[-2:])))
        *_, resource, verb = ["", *method_id.split(".")]
        out.append(HarvestedTool("google", document, name, desc, _finish(params, required, rng),
                                 f"{verb} {resource}".strip()))
    return out


# ------------------------------------------------------------------------------- stdlib

def stdlib_tools(module_name: str) -> list[HarvestedTool]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(module_name)
    except ImportError:
        return []
    out = []
    for fname, func in sorted(vars(module).items()):
        if fname.startswith("_") or not callable(func) or inspect.isclass(func):
            continue
        if getattr(func, "__module__", module_name) not in (module_name, None) and not module_name.startswith(
                str(getattr(func, "__module__", ""))):
            continue
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            continue
        params, required = {}, []
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("self", "cls"):
                continue
            default = p.default
            kind = ("boolean" if isinstance(default, bool) else "integer" if isinstance(default, int)
                    else "number" if isinstance(default, float) else "string")
            node: dict[str, Any] = {"type": kind}
            if kind == "integer":
                node.update(minimum=0, maximum=100)
            elif kind == "number":
                node.update(minimum=0, maximum=100)
            if default is p.empty:
                required.append(p.name)
            elif isinstance(default, (bool, int, float, str)):
                node["default"] = default
            params[p.name] = node
        doc = first_sentence((inspect.getdoc(func) or "").split("\n\n")[0]) or f"{fname} from {module_name}."
        out.append(HarvestedTool("stdlib", module_name, f"{module_name}.{fname}", doc,
                                 _finish(params, required, random.Random(fname)), fname))
    return out


def all_groups() -> list[tuple[str, str]]:
    """Every (source, group) that is installed here."""
    return ([("botocore", g) for g in botocore_groups()] + [("google", g) for g in google_groups()]
            + [("stdlib", m) for m in STDLIB_MODULES])


@functools.lru_cache(maxsize=256)
def group_tools(source: str, group: str) -> tuple[HarvestedTool, ...]:
    """The tools of one group, converted once per process; empty when it cannot be read."""
    reader = {"botocore": botocore_tools, "google": google_tools, "stdlib": stdlib_tools}[source]
    try:
        return tuple(t for t in reader(group) if len(t.name) <= 64)
    except Exception:                 # a malformed or unexpected model file: skip the group
        return ()
