"""User tool names <-> internal identifiers.

Users name tools however they like (``get_weather``, ``getWeather``, ``weather.get-forecast``,
``"Get weather"``, ``météo``). The model, its rendering and its grammar work with one style: a
lowercase ASCII identifier (``[a-z_][a-z0-9_]*``, at most :data:`MAX_INTERNAL_NAME_LENGTH`
characters, never a Python keyword). :func:`internal_identifier` derives it from a user name,
:func:`unique_internal_names` makes a tool set's identifiers unique (``name``, ``name_2``, ...)
and :class:`NameMap` maps both ways, so that users only ever see their own names.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

__all__ = [
    "MAX_INTERNAL_NAME_LENGTH",
    "NameMap",
    "internal_identifier",
    "is_internal_identifier",
    "unique_internal_names",
]

MAX_INTERNAL_NAME_LENGTH = 64
"""Longest identifier :func:`internal_identifier` returns (the OpenAI function-name limit)."""

_FALLBACK = "tool"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")
# "getWeather" -> "get_Weather", "city2Code" -> "city2_Code"
_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
# "HTTPServer" -> "HTTP_Server"
_ACRONYM_WORD = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def is_internal_identifier(name: object) -> bool:
    """True when ``name`` is already in the internal style (lowercase ASCII identifier, not a keyword)."""
    return (
        isinstance(name, str)
        and len(name) <= MAX_INTERNAL_NAME_LENGTH
        and _IDENTIFIER.match(name) is not None
        and not keyword.iskeyword(name)
    )


def internal_identifier(name: str) -> str:
    """The internal identifier for one user name.

    camelCase and PascalCase become snake_case, every run of characters other than ASCII letters
    and digits (dots, dashes, spaces, slashes...) becomes one ``_``, accents are dropped
    (``météo`` -> ``meteo``), the result is lowercase, a leading digit gets a ``tool_`` prefix,
    a Python keyword gets a ``_`` suffix and a name with nothing usable left becomes ``tool``.
    Two different user names can map to the same identifier; :func:`unique_internal_names`
    resolves that within a tool set.
    """
    if not isinstance(name, str):
        raise TypeError(f"tool name must be a string, got {type(name).__name__}")
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = _ACRONYM_WORD.sub(r"\1_\2", text)
    text = _LOWER_UPPER.sub(r"\1_\2", text)
    text = _NON_WORD.sub("_", text.lower()).strip("_")
    if not text:
        text = _FALLBACK
    elif text[0].isdigit():
        text = f"{_FALLBACK}_{text}"
    text = text[:MAX_INTERNAL_NAME_LENGTH].rstrip("_")
    if keyword.iskeyword(text):
        text += "_"
    return text


def unique_internal_names(bases: Sequence[str]) -> list[str]:
    """Make identifiers unique, keeping order: the first holder of a name keeps it, later ones get
    ``_2``, ``_3``... (skipping any name another entry already has).

    ``bases`` are identifiers (for example from :func:`internal_identifier`); the result has the
    same length and every entry is distinct. Applying it again changes nothing.
    """
    taken: set[str] = set()
    result: list[str | None] = []
    for base in bases:
        if base in taken:
            result.append(None)
        else:
            taken.add(base)
            result.append(base)
    for i, base in enumerate(bases):
        if result[i] is not None:
            continue
        k = 2
        while True:
            suffix = f"_{k}"
            candidate = base[: MAX_INTERNAL_NAME_LENGTH - len(suffix)] + suffix
            if candidate not in taken:
                break
            k += 1
        taken.add(candidate)
        result[i] = candidate
    return [r for r in result if r is not None]


class NameMap:
    """Both directions between a tool set's user names and their internal identifiers.

    Build it from user names (identifiers are derived and de-duplicated) or, to reuse identifiers
    that :func:`needle_router.tools.assign_internal_names` already chose, with
    :meth:`from_specs`.
    """

    __slots__ = ("_to_internal", "_to_user")

    def __init__(self, names: Iterable[str], internal_names: Iterable[str] | None = None):
        names = list(names)
        seen: set[str] = set()
        for n in names:
            if n in seen:
                raise ValueError(f"duplicate tool name {n!r}")
            seen.add(n)
        if internal_names is None:
            internals = unique_internal_names([internal_identifier(n) for n in names])
        else:
            internals = list(internal_names)
            if len(internals) != len(names):
                raise ValueError("names and internal_names differ in length")
            if len(set(internals)) != len(internals):
                raise ValueError("internal names must be unique")
        self._to_internal = dict(zip(names, internals))
        self._to_user = dict(zip(internals, names))

    @classmethod
    def from_specs(cls, specs: Iterable[object]) -> "NameMap":
        """From objects with ``name`` and ``internal_name`` attributes (ToolSpecs)."""
        specs = list(specs)
        return cls([s.name for s in specs], [s.internal_name for s in specs])  # type: ignore[attr-defined]

    def to_internal(self, name: str) -> str:
        """The internal identifier of a user name (KeyError if it is not in the set)."""
        return self._to_internal[name]

    def to_user(self, internal_name: str) -> str:
        """The user name behind an internal identifier (KeyError if it is not in the set)."""
        return self._to_user[internal_name]

    def items(self) -> Iterator[tuple[str, str]]:
        """(user name, internal identifier) pairs in tool-set order."""
        return iter(self._to_internal.items())

    def __contains__(self, name: object) -> bool:
        return name in self._to_internal

    def __len__(self) -> int:
        return len(self._to_internal)

    def __repr__(self) -> str:
        return f"NameMap({dict(self._to_internal)!r})"
