"""needle-router: pick the right tool call for a query, locally, in milliseconds."""

from needle_router._version import __version__

__all__ = ["__version__"]
