"""LangChain partner package for needle-router (NeedleChat lands with the LangChain issue)."""

from needle_router._version import __version__

__all__ = ["__version__"]
