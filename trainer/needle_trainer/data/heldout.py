"""The held-out evaluation set: examples whose target tools never appear in training.

Built from the held-out part of the catalogue and of the generic-tool space
(:mod:`.splits`) with its own seed. Harvested API tools are left out so that the set depends
only on this repository and Faker's version, not on which optional packages are installed.
"""

from __future__ import annotations

from typing import Any

from needle_trainer.data.generate import DataConfig, ExampleMaker

HELDOUT_SEED = 20261127
HELDOUT_CONFIG = DataConfig(source={"catalogue": 0.7, "generic": 0.3, "harvest": 0.0})


def heldout_examples(n: int = 1000, seed: int = HELDOUT_SEED, chunk_size: int = 250) -> list[dict[str, Any]]:
    """``n`` held-out examples (deterministic for a seed)."""
    maker = ExampleMaker(HELDOUT_CONFIG, use_harvest=False)
    out: list[dict[str, Any]] = []
    chunk = 0
    while len(out) < n:
        out += maker.make_chunk(seed, "heldout", chunk, min(chunk_size, n - len(out)))
        chunk += 1
    return out
