"""needle_router.tools: every tool source -> one normalised, validated ToolSpec."""

import asyncio
import functools
import pickle
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, ConfigDict, Field

from needle_router.tools import (
    ANY_SCHEMA,
    NameMap,
    ToolSpec,
    ToolSpecError,
    assign_internal_names,
    internal_identifier,
    normalize_parameters,
    parse_docstring,
    to_tool_spec,
    to_tool_specs,
    tool_set_fingerprint,
    unique_internal_names,
)


def obj(properties: dict, required: list | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or []}


# ------------------------------------------------------------------------------ example tools


class Unit(Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str = Field(description="Street and number.")
    city: str
    postcode: Optional[str] = None


def get_weather(city: str, unit: Literal["c", "f"] = "c", days: int = 1) -> str:
    """Get the current weather for a city.

    Args:
        city: Name of the city,
            e.g. Paris.
        unit (str): Temperature unit.
        days: Number of days to forecast.

    Returns:
        A short report.
    """
    return f"{city}:{unit}:{days}"


WEATHER_PARAMS = obj(
    {
        "city": {"type": "string", "description": "Name of the city, e.g. Paris."},
        "unit": {"type": "string", "enum": ["c", "f"], "description": "Temperature unit.", "default": "c"},
        "days": {"type": "integer", "description": "Number of days to forecast.", "default": 1},
    },
    ["city"],
)


# ------------------------------------------------------------------------------ callables


def test_google_docstring_function():
    spec = to_tool_spec(get_weather)
    assert spec.name == "get_weather"
    assert spec.internal_name == "get_weather"
    assert spec.description == "Get the current weather for a city."
    assert spec.parameters == WEATHER_PARAMS
    assert spec.func is get_weather
    assert not spec.is_async
    assert spec.required == ["city"]


def test_numpy_docstring_function():
    def book_flight(origin: str, destination: str, seats: int = 1, classes: list[str] | None = None) -> dict:
        """Book a flight between two airports.

        Parameters
        ----------
        origin, destination : str
            IATA codes of the two airports,
            like CDG.
        seats : int, optional
            How many seats.
        classes
            Cabin classes to consider.

        Returns
        -------
        dict
            The booking.
        """
        return {}

    spec = to_tool_spec(book_flight)
    assert spec.description == "Book a flight between two airports."
    assert spec.parameters == obj(
        {
            "origin": {"type": "string", "description": "IATA codes of the two airports, like CDG."},
            "destination": {"type": "string", "description": "IATA codes of the two airports, like CDG."},
            "seats": {"type": "integer", "description": "How many seats.", "default": 1},
            "classes": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Cabin classes to consider.",
            },
        },
        ["origin", "destination"],
    )


def test_rest_docstring_function():
    def send_email(to: str, subject: str, urgent: bool = False) -> None:
        """Send an email.

        :param to: Recipient address.
        :param str subject: Subject line,
            kept short.
        :param urgent: Mark as urgent.
        :type urgent: bool
        :returns: nothing
        """

    spec = to_tool_spec(send_email)
    assert spec.description == "Send an email."
    assert spec.parameters == obj(
        {
            "to": {"type": "string", "description": "Recipient address."},
            "subject": {"type": "string", "description": "Subject line, kept short."},
            "urgent": {"type": "boolean", "description": "Mark as urgent.", "default": False},
        },
        ["to", "subject"],
    )


def test_parse_docstring_edge_cases():
    assert parse_docstring(None).description == ""
    assert parse_docstring("   ").params == {}
    doc = parse_docstring("""Summary line.

        Second paragraph
        continues here.

        Args:
            x (list(int)): First.
            y:
                Second,
                longer.

        Raises:
            ValueError: never.
        """)
    assert doc.description == "Summary line.\n\nSecond paragraph continues here."
    assert doc.params == {"x": "First.", "y": "Second, longer."}
    assert parse_docstring("@param n: count\n@return: x").params == {"n": "count"}


def test_type_hints_to_schema():
    class Color(Enum):
        RED = "red"
        GREEN = "green"

    def paint(
        color: Color,
        shades: list[Literal["light", "dark"]],
        weights: dict[str, float],
        meta: dict,
        size: tuple[int, int],
        anything: Any,
        ratio: float = 0.5,
        priority: Priority = Priority.LOW,
        label: Optional[str] = None,
        note: str | None = None,
        maybe: int | None = 3,
        count: int = None,  # type: ignore[assignment]
        where: Address | None = None,
        title: Annotated[str, "Shown on top."] = "",
        depth: Annotated[int, Field(description="How deep.", ge=0)] = 1,
        tag: str = Field("x", description="A tag."),
        choice: Optional[Color] = None,
    ) -> None:
        """Paint something."""

    spec = to_tool_spec(paint)
    address = obj(
        {
            "street": {"type": "string", "description": "Street and number."},
            "city": {"type": "string"},
            "postcode": {"type": "string"},
        },
        ["street", "city"],
    )
    assert spec.parameters == obj(
        {
            "color": {"type": "string", "enum": ["red", "green"]},
            "shades": {"type": "array", "items": {"type": "string", "enum": ["light", "dark"]}},
            "weights": {"type": "object", "additionalProperties": {"type": "number"}},
            "meta": {"type": "object"},
            "size": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            "anything": ANY_SCHEMA,
            "ratio": {"type": "number", "default": 0.5},
            "priority": {"type": "integer", "enum": [1, 2], "default": 1},
            "label": {"type": "string"},
            "note": {"type": "string"},
            "maybe": {"type": "integer", "default": 3},
            "count": {"type": "integer"},
            "where": {**address, "description": "A postal address."},
            "title": {"type": "string", "description": "Shown on top.", "default": ""},
            "depth": {"type": "integer", "description": "How deep.", "minimum": 0, "default": 1},
            "tag": {"type": "string", "description": "A tag.", "default": "x"},
            "choice": {"type": "string", "enum": ["red", "green"]},
        },
        ["color", "shades", "weights", "meta", "size", "anything"],
    )


def test_string_annotations_resolve():
    def move(to: "Address", unit: "Unit" = Unit.CELSIUS) -> None:
        """Move."""

    props = to_tool_spec(move).parameters["properties"]
    assert props["to"]["required"] == ["street", "city"]
    assert props["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}


def test_required_optional_keeps_null():
    def f(x: Optional[int]) -> None:
        """F."""

    assert to_tool_spec(f).parameters == obj({"x": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}, ["x"])
    assert to_tool_spec(f).validate_arguments({"x": None}) == {"x": None}


def test_async_function_method_partial_and_callable_object():
    async def fetch(url: str) -> str:
        """Fetch a URL."""
        return url

    spec = to_tool_spec(fetch)
    assert spec.is_async and spec.description == "Fetch a URL."
    assert spec.parameters == obj({"url": {"type": "string"}}, ["url"])
    assert asyncio.run(spec.func(url="u")) == "u"

    class Calendar:
        def add_event(self, title: str, minutes: int = 30) -> str:
            """Add an event.

            Args:
                title: Event title.
            """
            return title

        async def remove(self, event_id: str) -> None:
            """Remove an event."""

    cal = Calendar()
    spec = to_tool_spec(cal.add_event)
    assert spec.name == "add_event"
    assert spec.parameters == obj(
        {
            "title": {"type": "string", "description": "Event title."},
            "minutes": {"type": "integer", "default": 30},
        },
        ["title"],
    )
    assert spec.func(title="x") == "x"
    assert to_tool_spec(cal.remove).is_async

    def scale(value: float, factor: float) -> float:
        """Scale a value."""
        return value * factor

    spec = to_tool_spec(functools.partial(scale, factor=2.0))
    assert spec.name == "scale" and spec.description == "Scale a value."
    assert spec.parameters["properties"]["value"] == {"type": "number"}

    class Adder:
        """Add two numbers."""

        def __call__(self, a: int, b: int) -> int:
            return a + b

    spec = to_tool_spec(Adder())
    assert spec.name == "Adder" and spec.internal_name == "adder"
    assert spec.description == "Add two numbers."
    assert spec.required == ["a", "b"]


def test_callable_errors():
    def no_hint(city, unit: str = "c"):
        """No hint."""

    with pytest.raises(ToolSpecError, match=r"tool 'no_hint', parameter 'city': missing type hint; add one"):
        to_tool_spec(no_hint)

    def variadic(a: int, *args: int) -> None: ...

    with pytest.raises(ToolSpecError, match=r"tool 'variadic', parameter '\*args': variable positional"):
        to_tool_spec(variadic)

    def kw(a: int, **kwargs: Any) -> None: ...

    with pytest.raises(ToolSpecError, match=r"tool 'kw', parameter '\*\*kwargs': variable keyword"):
        to_tool_spec(kw)

    def posonly(a: int, /, b: int) -> None: ...

    with pytest.raises(ToolSpecError, match=r"tool 'posonly', parameter 'a': positional-only"):
        to_tool_spec(posonly)

    class Thing:
        pass

    def odd(x: Thing) -> None: ...

    with pytest.raises(ToolSpecError, match=r"tool 'odd', parameter 'x': unsupported type hint .*Thing"):
        to_tool_spec(odd)

    class Service:
        def run(self, job: str) -> None: ...

    with pytest.raises(
        ToolSpecError, match=r"parameter 'self': missing type hint; 'self' looks like an unbound method"
    ):
        to_tool_spec(Service.run)

    with pytest.raises(ToolSpecError, match=r"lambda"):
        to_tool_spec(lambda x: x)

    def forward(x: "Undefined") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ToolSpecError, match=r"tool 'forward': cannot resolve the type hints"):
        to_tool_spec(forward)


# ------------------------------------------------------------------------------ pydantic models


def test_pydantic_model():
    class CreateTicket(BaseModel):
        """Open a support ticket.

        Attributes:
            priority: How urgent it is.
        """

        title: str = Field(description="One-line summary.")
        priority: Literal["low", "high"] = "low"
        address: Address
        labels: list[str] = []
        assignee: Optional[str] = None

    spec = to_tool_spec(CreateTicket)
    assert spec.name == "CreateTicket" and spec.internal_name == "create_ticket"
    assert spec.description == "Open a support ticket."
    assert spec.func is None
    assert spec.parameters == obj(
        {
            "title": {"type": "string", "description": "One-line summary."},
            "priority": {
                "type": "string",
                "enum": ["low", "high"],
                "description": "How urgent it is.",
                "default": "low",
            },
            "address": {
                **obj(
                    {
                        "street": {"type": "string", "description": "Street and number."},
                        "city": {"type": "string"},
                        "postcode": {"type": "string"},
                    },
                    ["street", "city"],
                ),
                "description": "A postal address.",
            },
            "labels": {"type": "array", "items": {"type": "string"}, "default": []},
            "assignee": {"type": "string"},
        },
        ["title", "address"],
    )

    class Titled(BaseModel):
        model_config = ConfigDict(title="search.docs")
        query: str

    spec = to_tool_spec(Titled)
    assert spec.name == "search.docs" and spec.internal_name == "search_docs" and spec.description == ""


def test_recursive_model_rejected():
    class Node(BaseModel):
        """A tree node."""

        value: int
        children: list["Node"] = []

    with pytest.raises(ToolSpecError, match=r"tool 'Node', parameter 'children\[\]': recursive schema"):
        to_tool_spec(Node)


# ------------------------------------------------------------------------------ dicts


def test_openai_and_bare_dicts():
    params = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "  Name of the city, e.g. Paris. "},
            "unit": {
                "type": "string",
                "enum": ["c", "f"],
                "description": "Temperature unit.",
                "default": "c",
                "title": "Unit",
            },
            "days": {"type": "integer", "description": "Number of days to forecast.", "default": 1},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    openai = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": params,
        },
    }
    bare = {"name": "get_weather", "description": "Get the current weather for a city.", "parameters": params}
    flat = {"type": "function", **bare}
    anthropic = {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "input_schema": params,
    }
    specs = [to_tool_spec(d) for d in (openai, bare, flat, anthropic)]
    for spec in specs:
        assert spec.parameters == WEATHER_PARAMS
        assert spec == to_tool_spec(get_weather)
    assert specs[0].to_openai() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": WEATHER_PARAMS,
        },
    }
    assert to_tool_spec(specs[0].to_openai()) == specs[0]

    spec = to_tool_spec({"name": "ping"})
    assert spec.description == "" and spec.parameters == obj({})
    # OpenAI strict style: required nullable -> anyOf; type lists; const; oneOf
    spec = to_tool_spec(
        {
            "name": "t",
            "parameters": {
                "type": "object",
                "properties": {
                    "a": {"type": ["string", "null"]},
                    "b": {"type": ["integer", "null"]},
                    "c": {"const": "fixed"},
                    "d": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                    "e": {"description": "untyped"},
                },
                "required": ["a"],
            },
        }
    )
    assert spec.parameters == obj(
        {
            "a": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "b": {"type": "integer"},
            "c": {"type": "string", "enum": ["fixed"]},
            "d": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "e": {**ANY_SCHEMA, "description": "untyped"},
        },
        ["a"],
    )


def test_bfcl_style_dict():
    bfcl = {
        "name": "geometry.triangle_area",
        "description": "Compute the area of a triangle.",
        "parameters": {
            "type": "dict",
            "properties": {
                "base": {"type": "float", "description": "Base length."},
                "height": {"type": "integer", "description": "Height."},
                "vertices": {
                    "type": "tuple",
                    "items": {"type": "float"},
                    "description": "Corner coordinates.",
                },
                "extra": {"type": "any", "description": "Anything else.", "default": None},
                "options": {
                    "type": "dict",
                    "description": "Display options.",
                    "properties": {
                        "color": {"type": "string", "enum": ["red", "blue"]},
                        "scale": {"type": "float", "default": 1.0},
                    },
                    "required": ["color"],
                },
                "points": {
                    "type": "array",
                    "items": {
                        "type": "dict",
                        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                        "required": ["x", "y"],
                    },
                },
                "unit": {"type": "string", "description": "Unit.", "default": "cm", "optional": True},
                "flags": {"type": "array", "items": {"type": "boolean"}, "optional": True},
            },
            "required": ["base", "height", "unit"],
        },
    }
    spec = to_tool_spec(bfcl)
    assert spec.name == "geometry.triangle_area"
    assert spec.internal_name == "geometry_triangle_area"
    assert spec.parameters == obj(
        {
            "base": {"type": "number", "description": "Base length."},
            "height": {"type": "integer", "description": "Height."},
            "vertices": {"type": "array", "items": {"type": "number"}, "description": "Corner coordinates."},
            "extra": {**ANY_SCHEMA, "description": "Anything else."},
            "options": {
                **obj(
                    {
                        "color": {"type": "string", "enum": ["red", "blue"]},
                        "scale": {"type": "number", "default": 1.0},
                    },
                    ["color"],
                ),
                "description": "Display options.",
            },
            "points": {
                "type": "array",
                "items": obj({"x": {"type": "integer"}, "y": {"type": "integer"}}, ["x", "y"]),
            },
            "unit": {"type": "string", "description": "Unit.", "default": "cm"},
            "flags": {"type": "array", "items": {"type": "boolean"}},
        },
        ["base", "height"],
    )
    args = spec.validate_arguments(
        {
            "base": 3,
            "height": 4,
            "vertices": [0, 1.5],
            "extra": 7,
            "options": {"color": "red"},
            "points": [{"x": 1, "y": "2"}],
        }
    )
    assert args == {
        "base": 3.0,
        "height": 4,
        "vertices": [0.0, 1.5],
        "extra": 7,
        "options": {"color": "red", "scale": 1.0},
        "points": [{"x": 1, "y": 2}],
        "unit": "cm",
        "flags": None,
    }
    assert isinstance(args["base"], float)


def test_refs_are_inlined_in_dicts():
    spec = to_tool_spec(
        {
            "name": "ship",
            "parameters": {
                "type": "object",
                "$defs": {
                    "Addr": {
                        "type": "object",
                        "title": "Addr",
                        "description": "An address.",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    }
                },
                "properties": {
                    "to": {"$ref": "#/$defs/Addr", "description": "Destination."},
                    "via": {"allOf": [{"$ref": "#/$defs/Addr"}]},
                },
                "required": ["to"],
            },
        }
    )
    addr = obj({"city": {"type": "string"}}, ["city"])
    assert spec.parameters == obj(
        {"to": {**addr, "description": "Destination."}, "via": {**addr, "description": "An address."}}, ["to"]
    )


# ------------------------------------------------------------------------------ LangChain


def test_langchain_duck_typed_tool():
    class FakeSchema(BaseModel):
        query: str = Field(description="What to look for.")
        limit: int = 5

    class FakeTool:  # the BaseTool shape, without LangChain
        name = "web-search"
        description = "Search the web."
        args_schema = FakeSchema

        def invoke(self, args: dict) -> str:
            return f"searched {args['query']}"

    spec = to_tool_spec(FakeTool())
    assert spec.name == "web-search" and spec.internal_name == "web_search"
    assert spec.parameters == obj(
        {
            "query": {"type": "string", "description": "What to look for."},
            "limit": {"type": "integer", "default": 5},
        },
        ["query"],
    )
    assert spec.func(query="cats") == "searched cats"

    class DictTool:
        name = "lookup"
        description = "Look up a word."
        args_schema = {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}

    assert to_tool_spec(DictTool()).parameters == obj({"word": {"type": "string"}}, ["word"])


def test_langchain_real_tools():
    pytest.importorskip("langchain_core")
    from langchain_core.tools import StructuredTool, Tool, tool

    @tool
    def lc_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
        """Get the weather for a city.

        Args:
            city: The city.
            unit: The unit.
        """
        return f"{city}/{unit}"

    spec = to_tool_spec(lc_weather)
    assert spec.name == "lc_weather"
    assert spec.description == "Get the weather for a city."
    assert spec.parameters == obj(
        {
            "city": {"type": "string", "description": "The city."},
            "unit": {"type": "string", "enum": ["c", "f"], "description": "The unit.", "default": "c"},
        },
        ["city"],
    )
    assert spec.func(city="Oslo") == "Oslo/c"

    simple = Tool(name="echo", description="Echo the input.", func=lambda text: text)
    spec = to_tool_spec(simple)
    assert spec.parameters == obj({"tool_input": {"type": "string"}}, ["tool_input"])
    assert spec.func(tool_input="hi") == "hi"

    async def add(a: int, b: int = 1) -> int:
        """Add numbers."""
        return a + b

    spec = to_tool_spec(StructuredTool.from_function(coroutine=add))
    assert spec.is_async and asyncio.run(spec.func(a=2)) == 3
    assert [s.name for s in to_tool_specs([lc_weather, simple, get_weather])] == [
        "lc_weather",
        "echo",
        "get_weather",
    ]


# ------------------------------------------------------------------------------ names


def test_internal_identifier():
    cases = {
        "get_weather": "get_weather",
        "getWeather": "get_weather",
        "GetWeather": "get_weather",
        "HTTPRequest": "http_request",
        "parseHTTPResponse2": "parse_http_response2",
        "weather.get-forecast": "weather_get_forecast",
        "Get  current weather": "get_current_weather",
        "math.factorial": "math_factorial",
        "__private__": "private",
        "3d_render": "tool_3d_render",
        "météo": "meteo",
        "天気": "tool",
        "class": "class_",
        "x" * 80: "x" * 64,
    }
    for name, expected in cases.items():
        assert internal_identifier(name) == expected, name


def test_unique_internal_names_and_name_map():
    assert unique_internal_names(["a", "b", "a", "a_2", "a"]) == ["a", "b", "a_3", "a_2", "a_4"]
    specs = to_tool_specs(
        [
            {"name": "get.weather"},
            {"name": "get-weather"},
            {"name": "getWeather"},
            {"name": "get_weather_2"},
            {"name": "Get Weather"},
        ]
    )
    assert [s.internal_name for s in specs] == [
        "get_weather",
        "get_weather_3",
        "get_weather_4",
        "get_weather_2",
        "get_weather_5",
    ]
    assert [s.name for s in specs] == [
        "get.weather",
        "get-weather",
        "getWeather",
        "get_weather_2",
        "Get Weather",
    ]
    assert assign_internal_names(specs) == specs  # idempotent
    names = NameMap.from_specs(specs)
    assert names.to_internal("getWeather") == "get_weather_4"
    assert names.to_user("get_weather_3") == "get-weather"
    assert len(names) == 5 and "get.weather" in names
    assert NameMap(["a.b", "a-b"]).to_internal("a-b") == "a_b_2"
    with pytest.raises(ValueError, match="duplicate"):
        NameMap(["x", "x"])


def test_explicit_internal_name():
    spec = ToolSpec(name="Get Weather", internal_name="weather")
    assert spec.internal_name == "weather"
    with pytest.raises(
        ToolSpecError, match=r"tool 'Get Weather': internal_name 'Bad-Name' must be a lowercase identifier"
    ):
        ToolSpec(name="Get Weather", internal_name="Bad-Name")


# ------------------------------------------------------------------------------ identity


def test_fingerprint_stable_and_discriminating():
    a = ToolSpec(
        name="t",
        description="d",
        parameters={
            "type": "object",
            "properties": {"x": {"type": "integer", "description": "X."}, "y": {"type": "string"}},
            "required": ["x"],
        },
    )
    b = ToolSpec(
        parameters={
            "required": ["x"],
            "properties": {"x": {"description": "X.", "type": "integer"}, "y": {"type": "string"}},
            "type": "object",
        },
        description="d",
        name="t",
    )
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64 and int(a.fingerprint(), 16) >= 0
    assert a == b and hash(a) == hash(b)
    assert a.fingerprint() == a.model_copy(update={"internal_name": "other"}).fingerprint()
    c = ToolSpec(name="t", description="d2", parameters=a.parameters)
    d = ToolSpec(name="t2", description="d", parameters=a.parameters)
    e = ToolSpec(name="t", description="d", parameters={**a.parameters, "required": []})
    assert len({a.fingerprint(), c.fingerprint(), d.fingerprint(), e.fingerprint()}) == 4
    # func takes no part in identity or serialisation
    f = ToolSpec(name="t", description="d", parameters=a.parameters, func=print)
    assert f == a and f.fingerprint() == a.fingerprint()
    dumped = f.model_dump()
    assert "func" not in dumped
    assert ToolSpec.model_validate(dumped) == a
    assert ToolSpec.model_validate_json(f.model_dump_json()) == a
    assert tool_set_fingerprint([a, d]) != tool_set_fingerprint([d, a])
    assert tool_set_fingerprint([a, d]) == tool_set_fingerprint([b, d])
    with pytest.raises(Exception):
        a.name = "other"  # frozen


def test_spec_passes_through_and_json_schema():
    spec = to_tool_spec(get_weather)
    assert to_tool_spec(spec) is spec
    assert set(ToolSpec.model_json_schema()["properties"]) == {
        "name",
        "description",
        "parameters",
        "internal_name",
    }


# ------------------------------------------------------------------------------ arguments


def test_arguments_model_coercion():
    def plan(
        city: str,
        days: int,
        budget: float,
        pets: bool,
        mode: Literal["car", "train"],
        stops: list[Address],
        extras: dict[str, int] | None = None,
        note: str = "none",
    ) -> None:
        """Plan a trip."""

    spec = to_tool_spec(plan)
    model = spec.arguments_model()
    assert spec.arguments_model() is model  # cached
    assert (
        ToolSpec(name="plan", description="Plan a trip.", parameters=spec.parameters).arguments_model()
        is model
    )
    args = spec.validate_arguments(
        {
            "city": "Lyon",
            "days": "3",
            "budget": 250,
            "pets": "true",
            "mode": "car",
            "stops": [{"street": "1 rue A", "city": "Dijon"}],
        }
    )
    assert args == {
        "city": "Lyon",
        "days": 3,
        "budget": 250.0,
        "pets": True,
        "mode": "car",
        "stops": [{"street": "1 rue A", "city": "Dijon", "postcode": None}],
        "extras": None,
        "note": "none",
    }
    assert isinstance(args["budget"], float)
    assert spec.validate_arguments(
        {"city": "Lyon", "days": 3, "budget": 1.5, "pets": False, "mode": "train", "stops": []},
        fill_defaults=False,
    ) == {"city": "Lyon", "days": 3, "budget": 1.5, "pets": False, "mode": "train", "stops": []}

    base = {"city": "Lyon", "days": 3, "budget": 1.5, "pets": False, "mode": "train", "stops": []}
    bad_cases = [
        ({**base, "days": 2.5}, "days", "integer"),
        ({**base, "days": True}, "days", "boolean is not a number"),
        ({**base, "mode": "plane"}, "mode", "'car' or 'train'"),
        ({**base, "color": "red"}, "color", "unexpected parameter"),
        ({k: v for k, v in base.items() if k != "city"}, "city", "missing required parameter"),
        (
            {**base, "stops": [{"street": "s", "city": "c", "floor": 2}]},
            "stops[0].floor",
            "unexpected parameter",
        ),
        ({**base, "stops": [{"street": "s"}]}, "stops[0].city", "missing required parameter"),
        ({**base, "extras": {"a": "many"}}, "extras.a", "valid integer"),
    ]
    for args, param, text in bad_cases:
        with pytest.raises(ToolSpecError) as info:
            spec.validate_arguments(args)
        err = info.value
        assert err.tool == "plan" and err.parameter == param, (str(err), param)
        assert str(err).startswith(f"tool 'plan', parameter '{param}': ")
        assert text in str(err)
    with pytest.raises(ToolSpecError, match=r"tool 'plan': arguments must be a dict, got str"):
        spec.validate_arguments("{}")  # type: ignore[arg-type]


def test_arguments_model_awkward_names():
    spec = to_tool_spec(
        {
            "name": "q",
            "parameters": {
                "type": "object",
                "properties": {
                    "model_name": {"type": "string"},
                    "from": {"type": "string"},
                    "user-id": {"type": "integer"},
                    "schema": {"type": "string"},
                },
                "required": ["from"],
            },
        }
    )
    assert spec.validate_arguments({"from": "a", "user-id": "7", "model_name": "m", "schema": "s"}) == {
        "model_name": "m",
        "from": "a",
        "user-id": 7,
        "schema": "s",
    }
    with pytest.raises(ToolSpecError, match=r"parameter 'user-id'"):
        spec.validate_arguments({"from": "a", "user-id": "x"})


def test_union_argument_errors():
    class Cat(BaseModel):
        kind: Literal["cat"]
        meows: int

    class Dog(BaseModel):
        kind: Literal["dog"]
        barks: int

    def pet(animal: Cat | Dog, n: int | str) -> None:
        """Pet an animal."""

    spec = to_tool_spec(pet)
    assert spec.validate_arguments({"animal": {"kind": "dog", "barks": "2"}, "n": "3"}) == {
        "animal": {"kind": "dog", "barks": 2},
        "n": "3",
    }
    with pytest.raises(
        ToolSpecError, match=r"^tool 'pet', parameter 'animal': fits none of its allowed types \(.*meows: "
    ) as info:
        spec.validate_arguments({"animal": {"kind": "cat", "meows": "loud"}, "n": 1})
    assert info.value.parameter == "animal"
    with pytest.raises(
        ToolSpecError, match=r"parameter 'animal': fits none of its allowed types \(Input should be an object"
    ) as info:
        spec.validate_arguments({"animal": 3, "n": [1]})
    assert "also parameter 'n': fits none of its allowed types" in str(info.value)


# ------------------------------------------------------------------------------ validation errors


@pytest.mark.parametrize(
    "tool, message",
    [
        ({"name": ""}, r"^tool name must be a non-empty string, got ''$"),
        ({"name": "   "}, r"tool name must be a non-empty string"),
        ({"description": "x"}, r"tool name must be a non-empty string, got None"),
        (
            {"name": "f", "parameters": []},
            r"^tool 'f': parameters must be a JSON Schema object \(a dict\), got list$",
        ),
        (
            {"name": "f", "parameters": {"type": "string"}},
            r"^tool 'f': parameters must be a JSON Schema of type 'object'",
        ),
        (
            {"name": "get_weather", "parameters": obj({"unit": {"type": "string", "enum": []}})},
            r"^tool 'get_weather', parameter 'unit': enum must be a non-empty list$",
        ),
        (
            {"name": "f", "parameters": obj({"u": {"enum": ["a", "a"]}})},
            r"tool 'f', parameter 'u': enum has duplicate value 'a'",
        ),
        (
            {"name": "f", "parameters": obj({"u": {"type": "integer", "enum": ["1"]}})},
            r"parameter 'u': enum value '1' is not of type 'integer'",
        ),
        (
            {"name": "f", "parameters": obj({"a": {"type": "string"}}, ["b"])},
            r"tool 'f', parameter 'b': listed in 'required' but not in 'properties'",
        ),
        (
            {"name": "f", "parameters": obj({"a": {"type": "string"}}, ["a", "a"])},
            r"parameter 'a': listed twice in 'required'",
        ),
        (
            {"name": "f", "parameters": {"type": "object", "properties": {"a": {}}, "required": "a"}},
            r"tool 'f': required must be a list",
        ),
        (
            {"name": "f", "parameters": obj({"a": {"type": "text"}})},
            r"tool 'f', parameter 'a': unknown type 'text'",
        ),
        (
            {"name": "f", "parameters": obj({"a": "string"})},
            r"tool 'f', parameter 'a': schema must be a JSON object \(a dict\), got str",
        ),
        (
            {"name": "f", "parameters": obj({"a": {"type": "string", "description": 3}})},
            r"parameter 'a': description must be a string",
        ),
        (
            {
                "name": "f",
                "parameters": obj(
                    {"o": {"type": "object", "properties": {"k": {"type": "integer", "enum": []}}}}
                ),
            },
            r"tool 'f', parameter 'o.k': enum must be a non-empty list",
        ),
        (
            {
                "name": "f",
                "parameters": obj(
                    {
                        "o": {
                            "type": "array",
                            "items": {"type": "dict", "properties": {"x": {}}, "required": ["y"]},
                        }
                    }
                ),
            },
            r"tool 'f', parameter 'o\[\]\.y': listed in 'required' but not in 'properties'",
        ),
        (
            {
                "name": "f",
                "parameters": {
                    "type": "object",
                    "properties": [{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}],
                },
            },
            r"tool 'f', parameter 'a': duplicate property name",
        ),
        (
            {"name": "f", "parameters": obj({"a": {"$ref": "#/$defs/Missing"}})},
            r"parameter 'a': \$ref '#/\$defs/Missing' has no definition",
        ),
        ({"name": "f", "parameters": obj({"a": {"$ref": "http://x/y.json"}})}, r"only local \$ref"),
        (
            {"name": "f", "parameters": obj({"a": {"allOf": [{"type": "string"}, {"minLength": 2}]}})},
            r"parameter 'a': allOf is only supported",
        ),
        (
            {"name": "f", "parameters": obj({"a": {"anyOf": []}})},
            r"parameter 'a': anyOf must be a non-empty list",
        ),
        (
            {"name": "f", "parameters": obj({"": {"type": "string"}})},
            r"tool 'f': property names must be non-empty strings",
        ),
        ({"name": "f", "description": 5}, r"tool 'f': description must be a string, got int"),
        ({"type": "retrieval"}, r"unsupported tool type 'retrieval'"),
        ({"type": "function", "function": "get_weather"}, r"'function' must be an object"),
    ],
)
def test_invalid_dicts(tool, message):
    with pytest.raises(ToolSpecError, match=message):
        to_tool_spec(tool)


def test_toolspec_constructor_raises_toolspec_error():
    with pytest.raises(
        ToolSpecError, match=r"^tool 'w', parameter 'unit': enum must be a non-empty list$"
    ) as info:
        ToolSpec(name="w", parameters=obj({"unit": {"type": "string", "enum": []}}))
    assert isinstance(info.value, ValueError)
    assert (info.value.tool, info.value.parameter, info.value.reason) == (
        "w",
        "unit",
        "enum must be a non-empty list",
    )
    with pytest.raises(ToolSpecError, match=r"tool name must be a non-empty string"):
        ToolSpec.model_validate({"name": ""})
    err = pickle.loads(pickle.dumps(info.value))
    assert str(err) == str(info.value) and err.parameter == "unit"
    assert normalize_parameters(None) == obj({})


def test_tool_list_errors():
    with pytest.raises(
        ToolSpecError, match=r"^tools\[1\]: cannot make a tool from a int object: expected a typed function"
    ):
        to_tool_specs([get_weather, 42])
    with pytest.raises(ToolSpecError, match=r"^tools\[2\]: cannot make a tool from a str object"):
        to_tool_specs([get_weather, {"name": "x"}, "get_weather"])

    class Plain:
        pass

    with pytest.raises(
        ToolSpecError,
        match=r"^tools\[0\]: cannot make a tool from the class 'test_tool_list_errors.<locals>.Plain'",
    ):
        to_tool_specs([Plain])
    with pytest.raises(
        ToolSpecError, match=r"^tool 'get_weather' \(tools\[1\]\): duplicate tool name \(also tools\[0\]\)"
    ):
        to_tool_specs([get_weather, {"name": "get_weather"}])
    with pytest.raises(
        ToolSpecError, match=r"^tool 'w' \(tools\[1\]\), parameter 'unit': enum must be a non-empty list$"
    ):
        to_tool_specs(
            [get_weather, {"name": "w", "parameters": obj({"unit": {"type": "string", "enum": []}})}]
        )
    with pytest.raises(
        ToolSpecError, match=r"expected a list of tools, got a dict; wrap a single tool in a list"
    ):
        to_tool_specs({"name": "x"})
    with pytest.raises(ToolSpecError, match=r"expected a list of tools, got a function"):
        to_tool_specs(get_weather)
    assert to_tool_specs([]) == []
    assert [s.name for s in to_tool_specs(t for t in [get_weather, {"name": "b"}])] == ["get_weather", "b"]


def test_fingerprint_cache_follows_copies():
    spec = ToolSpec(name="t", description="d")
    fp = spec.fingerprint()
    assert spec.model_copy(update={"internal_name": "u"}).fingerprint() == fp
    assert spec.model_copy(update={"description": "other"}).fingerprint() != fp
