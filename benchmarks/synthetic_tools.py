"""Synthetic tool sets and queries for the router benchmarks.

``make_tools(n, seed)`` returns ``n`` OpenAI-style tool dicts with distinct names built from
verb + domain + noun word lists (``create_calendar_event``, ``list_billing_invoices``...), each
with a description and 1-6 parameters of varied types: string, integer (some bounded), number,
boolean, enum, array (of strings, integers or small objects) and nested objects; some required,
some with defaults. ``make_queries(n, seed)`` returns varied natural-language requests of the
kind a tool router sees. Both are deterministic for a seed.

    from benchmarks.synthetic_tools import make_tools, make_queries
    router = NeedleRouter(make_tools(100), model="needle-tiny")

    python benchmarks/synthetic_tools.py 3      # print three tools and three queries as JSON
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from typing import Any

__all__ = ["make_queries", "make_tools"]

VERBS = {
    "get": "Get", "list": "List", "create": "Create", "update": "Update", "delete": "Delete",
    "search": "Search", "send": "Send", "schedule": "Schedule", "cancel": "Cancel", "book": "Book",
    "export": "Export", "import": "Import", "archive": "Archive", "share": "Share", "summarize": "Summarize",
    "translate": "Translate", "approve": "Approve", "assign": "Assign", "track": "Track", "compare": "Compare",
    "estimate": "Estimate", "sync": "Sync", "validate": "Validate", "refund": "Refund",
}
DOMAINS = (
    "calendar", "billing", "crm", "hr", "travel", "weather", "email", "chat", "storage", "music",
    "shopping", "banking", "fitness", "recipe", "news", "support", "inventory", "analytics",
    "smart_home", "maps", "github", "jira", "payroll", "insurance", "school", "hotel", "fleet",
)
NOUNS = (
    "event", "invoice", "contact", "ticket", "order", "report", "message", "file", "playlist",
    "reservation", "payment", "task", "document", "user", "account", "note", "reminder", "shipment",
    "forecast", "route", "workout", "recipe", "article", "device", "issue", "meeting", "expense",
    "subscription", "review", "photo", "budget", "lead",
)

# Parameter pool: (name, description, schema factory kind).
_STRING_PARAMS = (
    ("query", "Free-text search terms."), ("title", "Short title shown to the user."),
    ("location", "City and country, e.g. 'Lisbon, Portugal'."), ("email", "Email address of the person."),
    ("start_date", "Start date in ISO 8601 (YYYY-MM-DD)."), ("end_date", "End date in ISO 8601 (YYYY-MM-DD)."),
    ("note", "Optional note attached to the item."), ("item_id", "Identifier of the item."),
    ("customer_name", "Full name of the customer."), ("language", "Target language as an ISO 639-1 code."),
    ("phone_number", "Phone number in E.164 format."), ("body", "Plain-text body of the message."),
    ("address", "Street address."), ("project", "Project key or name."), ("url", "Link to the resource."),
)
_INT_PARAMS = (
    ("limit", "Most results to return.", 1, 100), ("duration_minutes", "Length in minutes.", 5, 480),
    ("quantity", "How many units.", 1, 999), ("page", "Page of results, from 1.", 1, None),
    ("guests", "Number of guests.", 1, 20), ("priority_level", "Priority from 1 (low) to 5 (urgent).", 1, 5),
    ("year", "Calendar year.", 1900, 2100), ("days", "Number of days.", None, None),
)
_NUMBER_PARAMS = (
    ("amount", "Amount of money in the account currency."), ("latitude", "Latitude in degrees."),
    ("longitude", "Longitude in degrees."), ("temperature", "Target temperature in degrees Celsius."),
    ("max_price", "Highest acceptable price."), ("discount_rate", "Discount as a fraction between 0 and 1."),
)
_BOOL_PARAMS = (
    ("notify", "Whether to notify the people involved."), ("include_archived", "Also return archived items."),
    ("dry_run", "Check the request without applying it."), ("urgent", "Mark the request as urgent."),
    ("public", "Whether the item is visible to everyone."),
)
_ENUM_PARAMS = (
    ("unit", "Unit system of the answer.", ["metric", "imperial"]),
    ("sort_by", "Field to sort results by.", ["relevance", "date", "price", "rating"]),
    ("status", "Status to filter or set.", ["open", "in_progress", "blocked", "done"]),
    ("currency", "ISO 4217 currency code.", ["USD", "EUR", "GBP", "JPY", "CHF"]),
    ("priority", "Priority of the item.", ["low", "normal", "high", "urgent"]),
    ("format", "Output file format.", ["pdf", "csv", "xlsx", "json"]),
    ("cabin_class", "Cabin class.", ["economy", "premium_economy", "business", "first"]),
    ("channel", "Delivery channel.", ["email", "sms", "push"]),
)
_ARRAY_PARAMS = (
    ("tags", "Labels to attach.", {"type": "string"}),
    ("recipients", "Email addresses to send to.", {"type": "string"}),
    ("item_ids", "Identifiers of the items.", {"type": "integer"}),
    ("line_items", "Products and quantities.", {
        "type": "object",
        "properties": {"sku": {"type": "string", "description": "Product code."},
                       "quantity": {"type": "integer", "minimum": 1}},
        "required": ["sku"],
    }),
)
_OBJECT_PARAMS = (
    ("filters", "Conditions the results must meet.", {
        "created_after": {"type": "string", "description": "ISO date."},
        "owner": {"type": "string"},
        "min_amount": {"type": "number"},
    }, []),
    ("recurrence", "How the item repeats.", {
        "frequency": {"type": "string", "enum": ["daily", "weekly", "monthly"]},
        "interval": {"type": "integer", "minimum": 1},
        "until": {"type": "string", "description": "Last date, ISO 8601."},
    }, ["frequency"]),
    ("contact", "Who to reach.", {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "phone": {"type": "string"},
    }, ["name"]),
    ("window", "Time window.", {
        "start": {"type": "string", "description": "ISO 8601 datetime."},
        "end": {"type": "string", "description": "ISO 8601 datetime."},
    }, ["start", "end"]),
)
_PLURAL_VERBS = ("list", "search", "export", "sync", "compare", "archive", "summarize")
_KINDS = ("string", "string", "integer", "number", "boolean", "enum", "array", "object")


def _param(rng: random.Random, kind: str, taken: set[str]) -> tuple[str, dict[str, Any]] | None:
    pool = {"string": _STRING_PARAMS, "integer": _INT_PARAMS, "number": _NUMBER_PARAMS,
            "boolean": _BOOL_PARAMS, "enum": _ENUM_PARAMS, "array": _ARRAY_PARAMS,
            "object": _OBJECT_PARAMS}[kind]
    free = [p for p in pool if p[0] not in taken]
    if not free:
        return None
    entry = rng.choice(free)
    name, desc = entry[0], entry[1]
    if kind == "string":
        schema: dict[str, Any] = {"type": "string", "description": desc}
    elif kind == "integer":
        schema = {"type": "integer", "description": desc}
        if entry[2] is not None:
            schema["minimum"] = entry[2]
        if entry[3] is not None:
            schema["maximum"] = entry[3]
        if rng.random() < 0.3:
            schema["default"] = entry[2] if entry[2] is not None else 1
    elif kind == "number":
        schema = {"type": "number", "description": desc}
    elif kind == "boolean":
        schema = {"type": "boolean", "description": desc}
        if rng.random() < 0.5:
            schema["default"] = False
    elif kind == "enum":
        schema = {"type": "string", "enum": list(entry[2]), "description": desc}
        if rng.random() < 0.4:
            schema["default"] = entry[2][0]
    elif kind == "array":
        schema = {"type": "array", "items": json.loads(json.dumps(entry[2])), "description": desc}
    else:
        schema = {"type": "object", "properties": json.loads(json.dumps(entry[2])),
                  "required": list(entry[3]), "description": desc}
    return name, schema


def _names(n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    combos = list(itertools.product(VERBS, DOMAINS, NOUNS))
    rng.shuffle(combos)
    if n <= len(combos):
        return combos[:n]
    out = list(combos)
    for i in range(n - len(combos)):  # more tools than combinations: number the extras
        v, d, noun = combos[i % len(combos)]
        out.append((v, d, f"{noun}_{i // len(combos) + 2}"))
    return out


def make_tools(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct, varied OpenAI-style function tools (deterministic for ``seed``)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    tools = []
    for verb, domain, noun in _names(n, rng):
        pretty_domain = domain.replace("_", " ")
        pretty_noun = noun.replace("_", " ")
        name = f"{verb}_{domain}_{noun}"
        if verb in _PLURAL_VERBS:
            what = f"the {pretty_noun}s"
        else:
            what = ("an " if pretty_noun[0] in "aeiou" else "a ") + pretty_noun
        description = f"{VERBS[verb]} {what} in the {pretty_domain} service."
        if rng.random() < 0.5:
            description += rng.choice((
                " Returns the updated record.", " Requires the user to be signed in.",
                " Results are paginated.", " Only the owner can do this.", " Changes apply immediately.",
            ))
        properties: dict[str, Any] = {}
        required: list[str] = []
        count = rng.randint(1, 6)
        tries = 0
        while len(properties) < count and tries < 50:
            tries += 1
            got = _param(rng, rng.choice(_KINDS), set(properties))
            if got is None:
                continue
            pname, schema = got
            properties[pname] = schema
            if "default" not in schema and (not required or rng.random() < 0.35):
                required.append(pname)
        tools.append({
            "type": "function",
            "function": {
                "name": name,
                "description": description,
                "parameters": {"type": "object", "properties": properties,
                               "required": [p for p in properties if p in required]},
            },
        })
    return tools


_QUERY_TEMPLATES = (
    "What's the weather going to be like in {city} {when}?",
    "Send an email to {person} saying the {thing} is ready.",
    "Can you book a table for {k} at {place} {when}?",
    "Schedule a {minutes}-minute meeting with {person} {when} about the {thing}.",
    "Find me flights from {city} to {city2} {when}, {cabin} please.",
    "How much did I spend on {category} last month?",
    "Create a ticket: the {thing} page is broken for {person}.",
    "Remind me to {chore} {when}.",
    "Play something {mood} from my {thing} playlist.",
    "Translate '{phrase}' into {language}.",
    "Refund order #{number} for {person}, they were charged twice.",
    "List all open {thing}s assigned to {person}, newest first.",
    "Set the {room} thermostat to {temp} degrees.",
    "Export the {thing} report for Q{q} as {fmt}.",
    "Who is the account owner for {company}?",
    "Track my package {code}.",
    "Cancel my {thing} subscription effective {when}.",
    "Summarize the last {k} messages in the #{channel} channel.",
    "Is there a pharmacy open near {city} right now?",
    "Compare the prices of {thing}s under ${number} with at least 4 stars.",
    "hey what's up",
    "Tell me a joke about {thing}s.",
    "Approve {person}'s expense of {number} {currency} for the {city} trip.",
    "Add {k} units of SKU {code} to order {number} and ship it to {city}.",
)
_FILL = {
    "city": ("Lisbon", "Tokyo", "Nairobi", "Austin", "Berlin", "São Paulo", "Mumbai", "Reykjavík"),
    "city2": ("New York", "Paris", "Seoul", "Cape Town", "Toronto", "Sydney"),
    "when": ("tomorrow", "this Saturday afternoon", "next Tuesday at 3pm", "on March 4th", "tonight",
             "in two weeks", "at 9:30 tomorrow morning"),
    "person": ("Alice", "Dr. Chen", "the marketing team", "Raj Patel", "my manager", "María"),
    "thing": ("invoice", "onboarding", "quarterly budget", "checkout", "workout", "release", "design review"),
    "k": ("2", "4", "five", "12", "20"),
    "place": ("Nopa", "the sushi place on 5th", "Chez Louise", "a quiet Italian restaurant"),
    "minutes": ("15", "30", "45", "90"),
    "cabin": ("economy", "business class", "premium economy"),
    "category": ("groceries", "restaurants", "travel", "software subscriptions"),
    "chore": ("water the plants", "call the dentist", "renew my passport", "submit the timesheet"),
    "mood": ("upbeat", "calm", "80s", "instrumental"),
    "phrase": ("where is the train station", "thank you for your patience", "the meeting is postponed"),
    "language": ("Spanish", "Japanese", "German", "Swahili", "French"),
    "number": ("4821", "129", "77310", "58", "2500"),
    "room": ("living room", "bedroom", "office"),
    "temp": ("19", "21.5", "68", "23"),
    "q": ("1", "2", "3", "4"),
    "fmt": ("PDF", "CSV", "a spreadsheet"),
    "company": ("Acme Corp", "Globex", "Initech", "Umbrella Health"),
    "code": ("1Z999AA10123456784", "TRK-88213", "ABX-42"),
    "channel": ("general", "eng-oncall", "design", "random"),
    "currency": ("EUR", "USD", "GBP"),
}


def make_queries(n: int, seed: int = 0) -> list[str]:
    """``n`` varied natural-language requests (deterministic for ``seed``)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    out = []
    for i in range(n):
        template = _QUERY_TEMPLATES[i % len(_QUERY_TEMPLATES)] if i < len(_QUERY_TEMPLATES) \
            else rng.choice(_QUERY_TEMPLATES)
        fills = {k: rng.choice(v) for k, v in _FILL.items() if "{" + k + "}" in template}
        text = template.format(**fills)
        if rng.random() < 0.2:
            text = rng.choice(("Please ", "Could you ", "Quick one: ", "Hi! ")) + text[0].lower() + text[1:]
        out.append(text)
    return out


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(json.dumps(make_tools(count), indent=2))
    print(json.dumps(make_queries(count), indent=2))
