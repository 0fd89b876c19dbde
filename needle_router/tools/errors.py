"""``ToolSpecError``: the one exception the tools package raises, with where the problem is.

Kept apart so that schema normalisation, argument validation and :class:`ToolSpec` can all raise
it without importing each other.
"""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["ToolSpecError"]


class ToolSpecError(ValueError):
    """A tool declaration that cannot become a valid :class:`ToolSpec`, or arguments that do not
    fit a tool.

    The message names where the problem is: ``tool 'get_weather' (tools[1]), parameter 'unit':
    enum must be a non-empty list``. The parts are also attributes: ``reason``, ``tool`` (the
    tool's name), ``parameter`` (a dotted path, ``[]`` for array items) and ``index`` (position in
    the tool list).
    """

    def __init__(
        self,
        reason: str,
        *,
        tool: str | None = None,
        parameter: str | None = None,
        index: int | None = None,
    ):
        self.reason = reason
        self.tool = tool
        self.parameter = parameter
        self.index = index
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.tool is not None:
            where = f"tool {self.tool!r}"
            if self.index is not None:
                where += f" (tools[{self.index}])"
            parts.append(where)
        elif self.index is not None:
            parts.append(f"tools[{self.index}]")
        if self.parameter is not None:
            parts.append(f"parameter {self.parameter!r}")
        return f"{', '.join(parts)}: {self.reason}" if parts else self.reason

    def at(self, index: int) -> "ToolSpecError":
        """The same error, located at position ``index`` of a tool list."""
        err = ToolSpecError(self.reason, tool=self.tool, parameter=self.parameter, index=index)
        err.__cause__ = self.__cause__
        return err

    def __reduce__(self):
        return (_rebuild_error, (self.reason, self.tool, self.parameter, self.index))


def _rebuild_error(reason, tool, parameter, index) -> ToolSpecError:
    return ToolSpecError(reason, tool=tool, parameter=parameter, index=index)


def _unwrap(exc: ValidationError) -> Exception:
    """The ToolSpecError pydantic wrapped into ``exc`` (validators' ValueErrors get wrapped)."""
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ToolSpecError):
            return inner
    return exc
