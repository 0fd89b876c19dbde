"""Model configuration: one frozen dataclass and the named presets.

`needle-26m` holds the fixed facts of DESIGN.md section 3; `needle-tiny` keeps every
code path (GQA, QK-norm, RoPE, gates, retrieval head) at a size that tests run in seconds.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Shape and numerics of a Needle encoder-decoder.

    The config is hashable so it can be a static argument of jitted functions.
    """

    name: str = "needle-26m"
    vocab_size: int = 8192
    d_model: int = 512
    num_heads: int = 8
    num_kv_heads: int = 4
    head_dim: int = 64
    encoder_layers: int = 12
    decoder_layers: int = 8
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    retrieval_dim: int = 128
    # Computation dtype ("float32" or "bfloat16"); parameters are always stored in float32.
    dtype: str = "float32"

    def __post_init__(self) -> None:
        problems = []
        if self.num_heads % self.num_kv_heads:
            problems.append(f"num_heads ({self.num_heads}) must be a multiple of num_kv_heads ({self.num_kv_heads})")
        if self.head_dim % 2:
            problems.append(f"head_dim ({self.head_dim}) must be even for rotate-half RoPE")
        if self.dtype not in ("float32", "bfloat16"):
            problems.append(f"dtype must be 'float32' or 'bfloat16', got {self.dtype!r}")
        for field in ("vocab_size", "d_model", "num_heads", "num_kv_heads", "head_dim",
                      "encoder_layers", "decoder_layers", "retrieval_dim"):
            if getattr(self, field) <= 0:
                problems.append(f"{field} must be positive, got {getattr(self, field)}")
        if problems:
            raise ValueError(f"invalid ModelConfig {self.name!r}: " + "; ".join(problems))

    @property
    def kv_groups(self) -> int:
        """Query heads per key/value head (grouped-query attention)."""
        return self.num_heads // self.num_kv_heads

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Build a config from a dict, rejecting unknown or ill-typed fields by name."""
        if not isinstance(data, dict):
            raise ValueError(f"model config must be a JSON object, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(f"unknown model config field(s): {', '.join(unknown)}")
        clean: dict[str, Any] = {}
        for key, value in data.items():
            default = getattr(cls(), key)
            expected = type(default)
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or isinstance(value, bool) != isinstance(default, bool):
                raise ValueError(
                    f"model config field {key!r} must be {expected.__name__}, got {value!r}")
            clean[key] = value
        return cls(**clean)


PRESETS: dict[str, ModelConfig] = {
    "needle-26m": ModelConfig(),
    # Same vocabulary (it must share the tokenizer), everything else scaled down.
    "needle-tiny": ModelConfig(
        name="needle-tiny", d_model=64, num_heads=4, num_kv_heads=2, head_dim=16,
        encoder_layers=2, decoder_layers=2, retrieval_dim=32,
    ),
}


def get_config(name_or_config: str | ModelConfig) -> ModelConfig:
    """Return a preset by name (or pass a config through)."""
    if isinstance(name_or_config, ModelConfig):
        return name_or_config
    try:
        return PRESETS[name_or_config]
    except KeyError:
        raise ValueError(
            f"unknown model preset {name_or_config!r}; known presets: {', '.join(sorted(PRESETS))}"
        ) from None
