"""Trainer for Needle: data engine, training loops, tokenizer training, evaluation."""

from needle_router._version import __version__

__all__ = ["__version__"]
