"""LangChain partner package for needle-router: ``from langchain_needle import NeedleChat``."""

from langchain_needle.chat_models import NeedleChat
from needle_router._version import __version__

__all__ = ["NeedleChat", "__version__"]
