"""``ToolSpec``: one normalised, validated description of a tool, whatever it was declared as.

Every tool source (typed functions, pydantic models, LangChain tools, OpenAI / bare / BFCL dicts)
ends up as a :class:`ToolSpec`. Its ``parameters`` are a JSON Schema object in the small canonical
dialect described in :mod:`needle_router.tools.schema`; argument validation lives in
:mod:`needle_router.tools.arguments` and errors in :mod:`needle_router.tools.errors`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic.json_schema import SkipJsonSchema

from needle_router.tools.arguments import (
    arguments_model_name,
    build_arguments_model,
    cache_arguments_model,
    cached_arguments_model,
    describe_validation_error,
)
from needle_router.tools.errors import ToolSpecError, _unwrap
from needle_router.tools.naming import (
    internal_identifier,
    is_internal_identifier,
    unique_internal_names,
)
from needle_router.tools.schema import _empty_parameters, canonical_json, normalize_parameters

__all__ = ["ToolSpec", "assign_internal_names", "registry_fingerprint", "tool_set_fingerprint"]


@contextlib.contextmanager
def _plain_tool_errors() -> Iterator[None]:
    """Let a ToolSpecError raised inside pydantic validation surface as itself."""
    try:
        yield
    except ValidationError as exc:
        raise _unwrap(exc) from None


class ToolSpec(BaseModel):
    """One tool, normalised.

    ``name`` is the user's name, kept exactly (it is what results report); ``internal_name`` is
    the identifier the model and grammar use (derived from ``name`` unless given; made unique
    within a tool set by :func:`assign_internal_names`). ``parameters`` is a canonical JSON Schema
    object (see :mod:`needle_router.tools.schema`). ``func`` is the Python callable when the tool came from one;
    it takes no part in serialisation, equality, hashing or :meth:`fingerprint`.

    Build one directly, or with :func:`needle_router.tools.to_tool_spec` from any declaration.
    Invalid input raises :class:`ToolSpecError`.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=_empty_parameters)
    internal_name: str = ""
    func: SkipJsonSchema[Optional[Callable[..., Any]]] = Field(default=None, exclude=True, repr=False)
    _fingerprint: Optional[str] = PrivateAttr(default=None)

    # --- validation --------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ToolSpecError(f"tool name must be a non-empty string, got {name!r}")
        description = data.get("description")
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ToolSpecError(f"description must be a string, got {type(description).__name__}", tool=name)
        data["description"] = description.strip()
        data["parameters"] = normalize_parameters(data.get("parameters"), tool=name)
        internal = data.get("internal_name") or ""
        if not internal:
            data["internal_name"] = internal_identifier(name)
        elif not is_internal_identifier(internal):
            raise ToolSpecError(
                f"internal_name {internal!r} must be a lowercase identifier ([a-z_][a-z0-9_]*, not a keyword)",
                tool=name,
            )
        func = data.get("func")
        if func is not None and not callable(func):
            raise ToolSpecError(f"func must be callable, got {type(func).__name__}", tool=name)
        return data

    def __init__(self, **data: Any):
        with _plain_tool_errors():
            super().__init__(**data)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> "ToolSpec":  # type: ignore[override]
        with _plain_tool_errors():
            return super().model_validate(obj, *args, **kwargs)

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> "ToolSpec":  # type: ignore[override]
        with _plain_tool_errors():
            return super().model_validate_json(json_data, *args, **kwargs)

    # --- identity ----------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolSpec):
            return NotImplemented
        return (self.name, self.description, self.internal_name, self.parameters) == (
            other.name,
            other.description,
            other.internal_name,
            other.parameters,
        )

    def __hash__(self) -> int:
        return hash((self.fingerprint(), self.internal_name))

    def fingerprint(self) -> str:
        """sha256 hex of the canonical JSON of name, description and parameters.

        Independent of dict key order, ``internal_name`` and ``func``; any change to what the
        model or grammar sees changes it.
        """
        fp = self._fingerprint
        if fp is None:
            payload = canonical_json(
                {"name": self.name, "description": self.description, "parameters": self.parameters}
            )
            fp = hashlib.sha256(payload.encode("utf-8")).hexdigest()
            self._fingerprint = fp
        return fp

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> "ToolSpec":  # type: ignore[override]
        """pydantic's copy (``update`` is not validated); a changed name, description or
        parameters drops the cached fingerprint."""
        copied = super().model_copy(update=update, deep=deep)
        if update and {"name", "description", "parameters"} & set(update):
            copied._fingerprint = None
        return copied

    # --- views -------------------------------------------------------------------------
    @property
    def is_async(self) -> bool:
        """True when ``func`` is a coroutine function (or an object whose ``__call__`` is one)."""
        f = self.func
        if f is None:
            return False
        return inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(
            getattr(type(f), "__call__", None)
        )

    @property
    def required(self) -> list[str]:
        """Names of the required top-level parameters."""
        return list(self.parameters.get("required", []))

    def to_openai(self, *, use_internal_name: bool = False) -> dict[str, Any]:
        """``{"type": "function", "function": {name, description, parameters}}``.

        ``use_internal_name`` puts the internal identifier in ``name`` (OpenAI's API only accepts
        ``[a-zA-Z0-9_-]`` names).
        """
        return {
            "type": "function",
            "function": {
                "name": self.internal_name if use_internal_name else self.name,
                "description": self.description,
                "parameters": copy.deepcopy(self.parameters),
            },
        }

    # --- arguments ---------------------------------------------------------------------
    def arguments_model(self) -> type[BaseModel]:
        """A pydantic model (cached per fingerprint) that validates and coerces argument dicts:
        unknown keys are rejected, optional parameters default to their ``default`` or ``None``.
        Field aliases are the parameter names (``model_dump(by_alias=True)`` gives them back)."""
        key = self.fingerprint()
        model = cached_arguments_model(key)
        if model is not None:
            return model
        try:
            model = build_arguments_model(self.parameters, arguments_model_name(self.name))
        except Exception as exc:  # e.g. an invalid regex in a "pattern"
            raise ToolSpecError(f"cannot build an arguments model: {exc}", tool=self.name) from exc
        cache_arguments_model(key, model)
        return model

    def validate_arguments(
        self, arguments: Mapping[str, Any], *, fill_defaults: bool = True
    ) -> dict[str, Any]:
        """Validated, typed arguments (parameter name -> value; nested objects as dicts).

        With ``fill_defaults`` (the default) every optional parameter that was left out appears
        with its default (or ``None``); without it only the given parameters are returned, which
        is what to pass to ``func`` so its own Python defaults apply. Raises
        :class:`ToolSpecError` naming this tool and the first offending parameter.
        """
        if not isinstance(arguments, Mapping):
            raise ToolSpecError(f"arguments must be a dict, got {type(arguments).__name__}", tool=self.name)
        model = self.arguments_model()
        try:
            instance = model.model_validate(dict(arguments))
        except ValidationError as exc:
            param, reason = describe_validation_error(exc, self.parameters)
            raise ToolSpecError(reason, tool=self.name, parameter=param) from None
        return instance.model_dump(by_alias=True, exclude_unset=not fill_defaults)


# ------------------------------------------------------------------------------- tool sets


def assign_internal_names(specs: Iterable[ToolSpec]) -> list[ToolSpec]:
    """The specs with internal names unique within the set (``get_weather``, ``get_weather_2``...).

    The first tool holding an identifier keeps it. Raises :class:`ToolSpecError` when two tools
    share a user name.
    """
    specs = list(specs)
    first_at: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if not isinstance(spec, ToolSpec):
            raise ToolSpecError(f"expected a ToolSpec, got {type(spec).__name__}", index=i)
        if spec.name in first_at:
            raise ToolSpecError(
                f"duplicate tool name (also tools[{first_at[spec.name]}]); tool names must be unique in a tool set",
                tool=spec.name,
                index=i,
            )
        first_at[spec.name] = i
    names = unique_internal_names([s.internal_name for s in specs])
    return [
        s if s.internal_name == n else s.model_copy(update={"internal_name": n}) for s, n in zip(specs, names)
    ]


def tool_set_fingerprint(specs: Iterable[ToolSpec]) -> str:
    """sha256 hex identifying an ordered tool set (fingerprints and internal names), for caches."""
    h = hashlib.sha256()
    for spec in specs:
        h.update(f"{spec.fingerprint()}:{spec.internal_name}\n".encode())
    return h.hexdigest()


def registry_fingerprint(specs: Iterable[ToolSpec]) -> str:
    """sha256 hex of a tool set regardless of order (what a fine-tuned model records)."""
    h = hashlib.sha256()
    for fp in sorted(spec.fingerprint() for spec in specs):
        h.update(f"{fp}\n".encode())
    return h.hexdigest()
