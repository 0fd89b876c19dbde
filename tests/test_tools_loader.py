"""load_tools_file: tool registries from .py (TOOLS = [...]), .json and .yaml files, and every way
such a file can be wrong (each error names the file and the problem)."""

import json
import sys
import textwrap
from pathlib import Path

import pytest

from needle_router.tools import ToolsFileError, load_tools_file, to_tool_specs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SEARCH = {"name": "search", "description": "Search the web.",
          "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(path) -> str:
    with pytest.raises(ToolsFileError) as info:
        load_tools_file(path)
    message = str(info.value)
    assert str(path) in message, message
    assert "Traceback" not in message
    return message


# ------------------------------------------------------------------------------- happy paths


def test_python_file_with_functions_models_and_dicts_and_a_sibling_import(tmp_path):
    write(tmp_path / "units_for_tools_test.py", 'UNITS = ("celsius", "fahrenheit")\n')
    path = write(tmp_path / "my_tools.py", '''
        from typing import Literal

        from pydantic import BaseModel

        from units_for_tools_test import UNITS  # the file's own directory is importable


        def get_weather(city: str, unit: Literal[UNITS] = "celsius") -> str:
            """Get the weather.

            Args:
                city: The city.
                unit: Temperature unit.
            """
            return city


        class SendEmail(BaseModel):
            """Send an email."""

            to: str
            body: str


        TOOLS = [get_weather, SendEmail, {"name": "search", "parameters": {"type": "object", "properties": {}}}]
    ''')
    path_before = list(sys.path)
    tools = load_tools_file(path)
    assert sys.path == path_before, "the file's directory must not stay on sys.path"
    assert [t.__name__ for t in tools[:2]] == ["get_weather", "SendEmail"]
    specs = to_tool_specs(tools)
    assert [s.name for s in specs] == ["get_weather", "SendEmail", "search"]
    assert specs[0].parameters["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert tools[0]("Paris") == "Paris"  # the functions are the real, callable ones


def test_python_files_with_the_same_name_do_not_clash(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write(a / "tools.py", 'TOOLS = [{"name": "one", "parameters": {"type": "object", "properties": {}}}]\n')
    write(b / "tools.py", 'TOOLS = [{"name": "two", "parameters": {"type": "object", "properties": {}}}]\n')
    assert load_tools_file(a / "tools.py")[0]["name"] == "one"
    assert load_tools_file(b / "tools.py")[0]["name"] == "two"
    assert load_tools_file(str(a / "tools.py"))[0]["name"] == "one"  # str paths too


def test_json_list_and_tools_object(tmp_path):
    listed = tmp_path / "tools.json"
    listed.write_text(json.dumps([WEATHER, SEARCH]))
    wrapped = tmp_path / "wrapped.JSON"  # extensions are case-insensitive
    wrapped.write_text(json.dumps({"tools": [WEATHER, SEARCH]}))
    assert load_tools_file(listed) == [WEATHER, SEARCH]
    assert load_tools_file(wrapped) == [WEATHER, SEARCH]
    assert [s.name for s in to_tool_specs(load_tools_file(listed))] == ["get_weather", "search"]


def test_yaml_list_and_tools_object(tmp_path):
    listed = write(tmp_path / "tools.yaml", """
        - type: function
          function:
            name: get_weather
            description: Get the weather.
            parameters:
              type: object
              properties:
                city: {type: string}
              required: [city]
        - name: search
          description: Search the web.
          parameters: {type: object, properties: {q: {type: string}}}
    """)
    wrapped = write(tmp_path / "tools.yml", """
        tools:
          - name: search
            description: Search the web.
            parameters: {type: object, properties: {q: {type: string}}}
    """)
    assert load_tools_file(listed) == [WEATHER, SEARCH]
    assert load_tools_file(wrapped) == [SEARCH]


def test_an_empty_list_is_a_valid_registry(tmp_path):
    assert load_tools_file(write(tmp_path / "t.json", "[]")) == []
    assert load_tools_file(write(tmp_path / "t.py", "TOOLS = []\n")) == []


def test_the_shipped_examples_declare_the_same_five_tools():
    from_python = to_tool_specs(load_tools_file(EXAMPLES / "tools.py"))
    from_json = to_tool_specs(load_tools_file(EXAMPLES / "tools.json"))
    assert [s.name for s in from_python] == [
        "get_weather", "send_email", "create_calendar_event", "convert_currency", "search_web"]
    assert [(s.name, s.description, s.parameters) for s in from_python] == \
        [(s.name, s.description, s.parameters) for s in from_json]
    weather, _, event, currency, _ = from_python
    assert weather.parameters["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert event.parameters["properties"]["attendees"]["items"]["type"] == "object"
    assert currency.parameters["properties"]["amount"]["type"] == "number"
    assert all(s.description and all(p.get("description") for p in s.parameters["properties"].values())
               for s in from_python)


# ------------------------------------------------------------------------------------ errors


def test_missing_file(tmp_path):
    assert "no such file" in load_error(tmp_path / "nope.py")


def test_a_directory_is_not_a_tools_file(tmp_path):
    assert "not a file" in load_error(tmp_path)


def test_unknown_extension(tmp_path):
    message = load_error(write(tmp_path / "tools.toml", "x = 1\n"))
    assert "unknown extension '.toml'" in message and ".py" in message and ".yaml" in message
    assert "unknown extension '(none)'" in load_error(write(tmp_path / "tools", "[]"))


def test_python_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path / "broken.py", """
        def f(x: int) -> int:
            return x

        TOOLS = [f
    """)
    message = load_error(path)
    assert "SyntaxError" in message and "line 4" in message and "never closed" in message


def test_python_file_raising_on_import(tmp_path):
    path = write(tmp_path / "raises.py", """
        import os

        raise RuntimeError("no API key configured")
    """)
    message = load_error(path)
    assert "RuntimeError" in message and "no API key configured" in message and "line 3" in message
    assert not [m for m in sys.modules if m.startswith("_needle_tools_") and m.endswith("raises")]


def test_python_file_with_a_missing_import(tmp_path):
    path = write(tmp_path / "imports.py", "import a_module_that_does_not_exist_anywhere\nTOOLS = []\n")
    message = load_error(path)
    assert "ModuleNotFoundError" in message and "a_module_that_does_not_exist_anywhere" in message


def test_python_file_calling_sys_exit_does_not_exit(tmp_path):
    message = load_error(write(tmp_path / "exits.py", "import sys\nsys.exit(3)\n"))
    assert "SystemExit" in message


def test_python_file_without_tools(tmp_path):
    message = load_error(write(tmp_path / "empty.py", "tools = []  # wrong case\n"))
    assert "no TOOLS" in message


def test_python_tools_not_a_list(tmp_path):
    message = load_error(write(tmp_path / "notlist.py", 'TOOLS = {"get_weather": None}\n'))
    assert "TOOLS must be a list, got dict" in message


def test_json_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path / "bad.json", '[\n  {"name": "a",\n   "parameters": {}\n  },,\n]\n')
    message = load_error(path)
    assert "invalid JSON" in message and "line 4" in message


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path / "bad.yaml", """
        - name: a
          parameters: {type: object
        - name: b
    """)
    message = load_error(path)
    assert "invalid YAML" in message and "line 3" in message


@pytest.mark.parametrize("suffix, text, got", [
    (".json", '{"name": "get_weather"}', "an object"),
    (".json", '"get_weather"', "a string"),
    (".json", "null", "null"),
    (".yaml", "name: get_weather\n", "an object"),
    (".yml", "42\n", "a number"),
])
def test_top_level_must_be_a_list(tmp_path, suffix, text, got):
    message = load_error(write(tmp_path / f"top{suffix}", text))
    assert "top level must be a list of tools" in message and got in message


def test_tools_key_must_hold_a_list(tmp_path):
    message = load_error(write(tmp_path / "t.json", '{"tools": {"name": "a"}}'))
    assert "'tools' must be a list, got an object" in message


@pytest.mark.parametrize("name", ["empty.json", "empty.yaml"])
def test_empty_data_files(tmp_path, name):
    assert "is empty" in load_error(write(tmp_path / name, "\n  \n"))


def test_the_error_is_a_value_error_with_parts(tmp_path):
    with pytest.raises(ValueError) as info:
        load_tools_file(tmp_path / "nope.json")
    assert isinstance(info.value, ToolsFileError)
    assert info.value.path == str(tmp_path / "nope.json") and info.value.reason == "no such file"
