"""needle-router: pick the right tool call for a query, locally, in milliseconds."""

from needle_router._version import __version__
from needle_router.compat import SimpleAttentionNetwork, generate, get_tokenizer, load_checkpoint
from needle_router.router import InvokedCall, NeedleRouter, QueryError, RouteResult, ToolCall, Usage
from needle_router.tools import ToolSpec, ToolSpecError

__all__ = [
    "InvokedCall",
    "NeedleRouter",
    "QueryError",
    "RouteResult",
    "SimpleAttentionNetwork",
    "ToolCall",
    "ToolSpec",
    "ToolSpecError",
    "Usage",
    "__version__",
    "generate",
    "get_tokenizer",
    "load_checkpoint",
]
