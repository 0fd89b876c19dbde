"""needle-router: pick the right tool call for a query, locally, in milliseconds."""

from needle_router._version import __version__
from needle_router.router import InvokedCall, NeedleRouter, QueryError, RouteResult, ToolCall, Usage
from needle_router.tools import ToolSpec, ToolSpecError

__all__ = [
    "InvokedCall",
    "NeedleRouter",
    "QueryError",
    "RouteResult",
    "ToolCall",
    "ToolSpec",
    "ToolSpecError",
    "Usage",
    "__version__",
]
