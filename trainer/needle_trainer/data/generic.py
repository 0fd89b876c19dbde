"""Procedurally invented tools: nouns x verbs x a bank of typed parameters.

A generic tool is a pure function of its integer id (and nothing else), so any worker can rebuild
it, caches work, and the held-out part of the space is fixed: ids whose noun is in the held-out
noun set (:func:`needle_trainer.data.splits.is_heldout_noun`) never appear in training data.
The point is tools the model cannot have memorised: it must read the description and the
parameter names and copy values. Names come in snake_case, camelCase, PascalCase, dotted
``module.function`` and kebab-case; a share are mathematical/scientific functions
(``calculate_density(mass, volume, unit)``).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any

NOUNS = (
    "invoice", "shipment", "ticket", "playlist", "sensor", "patient", "order", "booking", "account",
    "report", "contract", "vehicle", "device", "meeting", "task", "project", "document", "customer",
    "employee", "product", "campaign", "subscription", "recipe", "course", "lesson", "reservation",
    "warehouse", "package", "alert", "incident", "server", "container", "bucket", "dataset", "model",
    "pipeline", "job", "deployment", "license", "vendor", "supplier", "coupon", "voucher", "refund",
    "payment", "budget", "expense", "timesheet", "shift", "room", "venue", "event", "tournament",
    "team", "player", "match", "album", "track", "podcast", "episode", "article", "comment", "review",
    "survey", "poll", "form", "badge", "certificate", "exam", "grade", "assignment", "library",
    "book", "loan", "policy", "claim", "quote", "lead", "deal", "note", "reminder", "habit", "goal",
    "plant", "garden", "recipe_box", "pet", "appointment", "prescription", "trip", "itinerary",
    "route", "parking_spot", "charger", "meter", "tariff", "firmware", "backup", "snapshot",
    "webhook", "api_key", "secret", "certificate_authority", "domain", "mailbox", "channel",
    "thread", "workspace", "folder", "label", "tag", "queue", "worker", "cluster", "node", "volume",
    "asset", "portfolio", "watchlist", "wallet", "transaction", "ledger", "audit_log", "permission",
    "role", "group", "profile", "avatar", "photo", "gallery", "print_job", "printer", "scanner",
    "robot", "drone", "mission", "experiment", "sample", "specimen", "batch", "recall", "inspection",
)

VERBS = (
    ("get", "Get the details of a {noun}."),
    ("list", "List {noun}s, optionally filtered."),
    ("create", "Create a new {noun}."),
    ("update", "Update fields of an existing {noun}."),
    ("delete", "Delete a {noun} permanently."),
    ("search", "Search {noun}s by text and filters."),
    ("send", "Send a {noun} to someone."),
    ("schedule", "Schedule a {noun} for a date and time."),
    ("cancel", "Cancel a pending {noun}."),
    ("export", "Export a {noun} to a file."),
    ("check", "Check the status of a {noun}."),
    ("archive", "Archive a {noun} so it is hidden but kept."),
    ("assign", "Assign a {noun} to a person."),
    ("approve", "Approve a submitted {noun}."),
    ("duplicate", "Make a copy of a {noun}."),
)

# verbs whose requests one another's tools could serve; the rest are a class of their own
VERB_CLASS = {"get": "read", "check": "read", "list": "read", "search": "read",
              "cancel": "remove", "delete": "remove", "create": "make", "schedule": "make",
              "update": "change", "assign": "change"}

# (name, schema with value hints, description variants)
PARAMETERS: tuple[tuple[str, dict[str, Any], tuple[str, ...]], ...] = (
    ("id", {"type": "string", "x-faker": "uuid4"}, ("Unique identifier.", "ID of the {noun}.")),
    ("name", {"type": "string", "x-faker": "catch_phrase"}, ("Display name.", "Name of the {noun}.")),
    ("title", {"type": "string", "x-faker": "sentence"}, ("Title.", "Short title of the {noun}.")),
    ("owner", {"type": "string", "x-faker": "name"}, ("Person who owns it.", "Owner's full name.")),
    ("assignee", {"type": "string", "x-faker": "name"}, ("Person it is assigned to.",)),
    ("email", {"type": "string", "x-faker": "email"}, ("Email address.", "Contact email.")),
    ("phone", {"type": "string", "x-faker": "phone_number"}, ("Phone number.",)),
    ("city", {"type": "string", "x-faker": "city"}, ("City.", "City where it is located.")),
    ("address", {"type": "string", "x-faker": "street_address"}, ("Street address.",)),
    ("country", {"type": "string", "x-faker": "country"}, ("Country name.",)),
    ("company", {"type": "string", "x-faker": "company"}, ("Company name.", "Organisation.")),
    ("url", {"type": "string", "x-faker": "url"}, ("Web address.", "Link to the resource.")),
    ("path", {"type": "string", "x-faker": "file_path"}, ("File path.", "Where to write the file.")),
    ("date", {"type": "string", "format": "date"}, ("Date (YYYY-MM-DD).", "Day it applies to.")),
    ("start_date", {"type": "string", "format": "date"}, ("First day (YYYY-MM-DD).",)),
    ("end_date", {"type": "string", "format": "date"}, ("Last day (YYYY-MM-DD).",)),
    ("time", {"type": "string", "format": "time"}, ("Time of day (HH:MM).",)),
    ("note", {"type": "string", "x-faker": "sentence"}, ("Free-text note.", "Comment to attach.")),
    ("message", {"type": "string", "x-faker": "text"}, ("Message text.", "What to say.")),
    ("query", {"type": "string", "x-faker": "word"}, ("Search text.", "Keywords to match.")),
    ("label", {"type": "string", "x-faker": "word"}, ("Label to apply.",)),
    ("color", {"type": "string", "x-faker": "color_name"}, ("Colour name.",)),
    ("language", {"type": "string", "x-faker": "language_name"}, ("Language.",)),
    ("currency", {"type": "string", "x-faker": "currency_code"}, ("ISO currency code.",)),
    ("username", {"type": "string", "x-faker": "user_name"}, ("Account user name.",)),
    ("code", {"type": "string", "x-faker": "license_plate"}, ("Reference code.", "Short code.")),
    ("count", {"type": "integer", "minimum": 1, "maximum": 50}, ("How many.", "Number of items.")),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 100}, ("Maximum results.",)),
    ("quantity", {"type": "integer", "minimum": 1, "maximum": 20}, ("Quantity.",)),
    ("priority", {"type": "integer", "minimum": 1, "maximum": 5}, ("Priority, 1 (high) to 5.",)),
    ("year", {"type": "integer", "minimum": 1990, "maximum": 2030}, ("Year.",)),
    ("duration_minutes", {"type": "integer", "minimum": 5, "maximum": 240}, ("Length in minutes.",)),
    ("amount", {"type": "number", "minimum": 1, "maximum": 5000}, ("Amount of money.", "Total amount.")),
    ("price", {"type": "number", "minimum": 1, "maximum": 900}, ("Price.",)),
    ("weight", {"type": "number", "minimum": 0.1, "maximum": 80}, ("Weight in kilograms.",)),
    ("percentage", {"type": "number", "minimum": 0, "maximum": 100}, ("Percentage.",)),
    ("latitude", {"type": "number", "minimum": -80, "maximum": 80}, ("Latitude in degrees.",)),
    ("longitude", {"type": "number", "minimum": -170, "maximum": 170}, ("Longitude in degrees.",)),
    ("notify", {"type": "boolean", "x-say": {"true": ["and notify them", "with notification"],
                                              "false": ["without notifying anyone", "silently"]}},
     ("Send a notification.",)),
    ("dry_run", {"type": "boolean", "x-say": {"true": ["as a dry run", "just a dry run"],
                                               "false": ["for real", "not a dry run"]}},
     ("Only simulate.",)),
    ("status", {"type": "string", "enum": ["open", "pending", "closed", "archived"]}, ("Status filter.",)),
    ("visibility", {"type": "string", "enum": ["public", "private", "team"]}, ("Who can see it.",)),
    ("format", {"type": "string", "enum": ["pdf", "csv", "json", "xlsx"]}, ("Output format.",)),
    ("sort_by", {"type": "string", "enum": ["newest", "oldest", "name", "price"]}, ("Sort order.",)),
    ("size", {"type": "string", "enum": ["small", "medium", "large"]}, ("Size.",)),
    ("tags", {"type": "array", "items": {"type": "string", "x-faker": "word"}}, ("Tags to attach.",)),
    ("recipients", {"type": "array", "items": {"type": "string", "x-faker": "email"}}, ("Email addresses.",)),
    ("ids", {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 99999}}, ("Numeric IDs.",)),
)

# mathematical / scientific functions: (quantity, operand names, unit enum)
FORMULAS = (
    ("area", ("length", "width"), ("m2", "cm2", "ft2")),
    ("density", ("mass", "volume"), ("kg_m3", "g_cm3")),
    ("velocity", ("distance", "time"), ("m_s", "km_h", "mph")),
    ("force", ("mass", "acceleration"), ("newton", "kilonewton")),
    ("bmi", ("weight_kg", "height_m"), ()),
    ("compound_interest", ("principal", "rate", "years"), ("monthly", "yearly")),
    ("loan_payment", ("principal", "annual_rate", "months"), ()),
    ("hypotenuse", ("a", "b"), ()),
    ("circle_area", ("radius",), ("m2", "cm2")),
    ("kinetic_energy", ("mass", "velocity"), ("joule", "kilojoule")),
    ("ohms_law_current", ("voltage", "resistance"), ("ampere", "milliampere")),
    ("gcd", ("a", "b"), ()),
    ("lcm", ("a", "b"), ()),
    ("power", ("base", "exponent"), ()),
    ("percent_change", ("old_value", "new_value"), ()),
    ("average_speed", ("distance_km", "hours"), ("km_h", "mph")),
    ("tip", ("bill_amount", "tip_percent"), ()),
    ("fuel_efficiency", ("distance", "fuel_used"), ("km_per_liter", "mpg")),
    ("pressure", ("force", "area"), ("pascal", "bar", "psi")),
    ("wavelength", ("speed", "frequency"), ("meter", "nanometer")),
)
MODULES = ("api", "core", "utils", "service", "client", "ops", "tools", "v2", "admin", "sdk")
STYLES = ("snake", "snake", "snake", "camel", "pascal", "dotted", "kebab")


def style_name(parts: list[str], style: str, rng: random.Random) -> str:
    """Join name words in a naming style (``dotted`` puts a module in front)."""
    parts = [p for w in parts for p in w.split("_") if p]
    if style == "camel":
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    if style == "pascal":
        return "".join(p.capitalize() for p in parts)
    if style == "kebab":
        return "-".join(parts)
    if style == "dotted":
        return f"{rng.choice(MODULES)}.{'_'.join(parts)}"
    return "_".join(parts)


@dataclass(frozen=True)
class GenericTool:
    id: int
    noun: str
    name: str
    description: str
    schema: dict[str, Any]          # with x- hints for value generation
    verb: str                       # what it does to the noun ("formula" for a calculation)

    @property
    def purpose(self) -> tuple[str, str]:
        """Two tools with the same purpose may serve the same requests, whatever their names:
        the noun and the verb's class (a user who asks to "look up" a ticket is served by
        ``get_ticket``, ``check_ticket`` or ``search_tickets`` alike)."""
        return self.noun, VERB_CLASS.get(self.verb, self.verb)

    @functools.cached_property
    def _clean(self) -> dict[str, Any]:
        from needle_trainer.data.catalogue import strip_hints

        return strip_hints(self.schema)

    def parameters(self) -> dict[str, Any]:
        return self._clean


def _param_name(name: str, style: str) -> str:
    if style in ("camel", "pascal") and "_" in name:
        head, *rest = name.split("_")
        return head + "".join(p.capitalize() for p in rest)
    return name


def _formula_tool(tool_id: int, rng: random.Random, style: str) -> GenericTool:
    quantity, operands, units = FORMULAS[rng.randrange(len(FORMULAS))]
    verb = rng.choice(("calculate", "compute", "get", "estimate"))
    name = style_name([verb, quantity], style, rng)
    props: dict[str, Any] = {}
    for op in operands:
        integer = quantity in ("gcd", "lcm") or op in ("months", "years")
        props[_param_name(op, style)] = {
            "type": "integer" if integer else "number",
            "minimum": 1, "maximum": rng.choice((20, 100, 1000)),
            "description": rng.choice((f"The {op.replace('_', ' ')}.", f"{op.replace('_', ' ').capitalize()} value.")),
        }
    required = list(props)
    if units:
        props["unit"] = {"type": "string", "enum": list(units), "default": units[0],
                         "description": "Unit of the result."}
    desc = rng.choice((f"Calculate the {quantity.replace('_', ' ')}.",
                       f"Computes {quantity.replace('_', ' ')} from its inputs.",
                       f"Return the {quantity.replace('_', ' ')} given {', '.join(operands)}."))
    schema = {"type": "object", "properties": props, "required": required}
    return GenericTool(tool_id, quantity, name, desc, schema, verb="formula")


@functools.lru_cache(maxsize=25_000)
def generic_tool(tool_id: int) -> GenericTool:
    """The generic tool with this id (deterministic)."""
    rng = random.Random(f"generic-tool:{tool_id}")
    style = rng.choice(STYLES)
    if rng.random() < 0.12:
        return _formula_tool(tool_id, rng, style)
    noun = NOUNS[rng.randrange(len(NOUNS))]
    verb, desc_tpl = VERBS[rng.randrange(len(VERBS))]
    name = style_name([verb, noun], style, rng)
    n_params = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6))
    picks = rng.sample(range(len(PARAMETERS)), n_params)
    props: dict[str, Any] = {}
    for i in picks:
        pname, schema, descs = PARAMETERS[i]
        node = dict(schema)
        if rng.random() < 0.9:
            node["description"] = rng.choice(descs).replace("{noun}", noun.replace("_", " "))
        key = _param_name(pname if rng.random() < 0.7 else f"{noun}_{pname}", style)
        props[key] = node
    keys = list(props)
    required = [k for k in keys if rng.random() < 0.6] or keys[:1]
    if rng.random() < 0.15 and len(keys) >= 2:       # an object parameter grouping two fields
        inner = {k: props.pop(k) for k in keys[-2:]}
        group = _param_name(rng.choice(("details", "options", "filters", "target")), style)
        props[group] = {"type": "object", "properties": inner, "required": list(inner)[:1],
                        "description": f"{group.capitalize()} of the {noun.replace('_', ' ')}."}
        required = [k for k in required if k in props] + [group]
    noun_text = noun.replace("_", " ")
    desc = desc_tpl.format(noun=noun_text)
    if rng.random() < 0.3:
        desc = desc[:-1] + rng.choice((" in the workspace.", " for the current user.", " via the API.",
                                       " and returns it."))
    schema = {"type": "object", "properties": props, "required": required}
    return GenericTool(tool_id, noun, name, desc.strip(), schema, verb=verb)
