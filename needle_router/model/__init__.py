"""The Needle model: config, Flax modules, parameter counting, cached decoding, weights."""

from needle_router.model.config import PRESETS, ModelConfig, get_config
from needle_router.model.needle import Needle
from needle_router.model.params import count_params, init_params, param_breakdown, param_shapes

__all__ = [
    "PRESETS",
    "ModelConfig",
    "Needle",
    "count_params",
    "get_config",
    "init_params",
    "param_breakdown",
    "param_shapes",
]
