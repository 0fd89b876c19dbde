"""Resolve what `model=` means: the shipped default, a weight directory, or a preset.

The default is the shipped `needle_router/weights/` folder (see its MODEL_CARD.md); without
it (a trimmed install) it is a seeded random `needle-26m`, and everything that reports on a
model says so (`LoadedModel.untrained`), as it does for a bare preset.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from needle_router.model.config import PRESETS, ModelConfig
from needle_router.model.params import init_params, param_shapes
from needle_router.model.weights import CONFIG_FILE, WeightsError, load_weights

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
UNTRAINED_SEED = 0


@dataclasses.dataclass
class LoadedModel:
    params: Any
    config: ModelConfig
    source: str  # a directory path, or "preset:<name>"
    untrained: bool
    info: dict[str, Any]

    @property
    def label(self) -> str:
        tag = " [UNTRAINED: random weights, outputs are meaningless]" if self.untrained else ""
        return f"{self.config.name} from {self.source}{tag}"


def default_weights_available() -> bool:
    return (DEFAULT_WEIGHTS_DIR / CONFIG_FILE).is_file()


def load_model(model: str | os.PathLike | None = None) -> LoadedModel:
    """`None`: shipped default weights; a directory: weights saved by `save_weights`;
    a preset name (`needle-26m`, `needle-tiny`): seeded random initialisation."""
    if model is None:
        if default_weights_available():
            return _load_dir(DEFAULT_WEIGHTS_DIR)
        return _random("needle-26m")
    if isinstance(model, str) and model in PRESETS:
        return _random(model)
    path = Path(model)
    if path.is_dir():
        return _load_dir(path)
    raise WeightsError(
        f"model {str(model)!r} is neither a weights directory (with {CONFIG_FILE} and "
        f"model.safetensors) nor a preset ({', '.join(sorted(PRESETS))})")


def _load_dir(path: Path) -> LoadedModel:
    params, config, info = load_weights(path, expected=param_shapes)
    untrained = bool(info.get("extra", {}).get("untrained", False))
    return LoadedModel(params, config, str(path), untrained, info)


def _random(preset: str) -> LoadedModel:
    params = init_params(preset, seed=UNTRAINED_SEED)
    return LoadedModel(params, PRESETS[preset], f"preset:{preset}", True, {"seed": UNTRAINED_SEED})
