"""Warm-start a deeper model from a shallower one by stacking its layers in place.

Six rounds of needle-2m on the CPU stalled near the same held-out score while the data mix
changed, so the next lever is capacity. Training a deeper model from scratch would throw away
every earlier round; instead each source layer fills a run of consecutive target layers (layer
``i`` of ``n`` becomes layers ``i*m/n .. (i+1)*m/n - 1`` of ``m``), as in progressive stacking.

Every Needle layer is a gated residual ``x + sigmoid(a) * f(x)``. ``r`` copies of a layer applied
in a row move ``x`` by about ``r * sigmoid(a) * f(x)`` while the steps are small, so each copy's
gate is set to ``sigmoid(a) / r``: the grown model starts close to the function it came from
(exact to first order in the step) and training separates the copies.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from needle_router.model import init_params
from needle_router.model.config import ModelConfig
from needle_router.model.weights import flatten_params, unflatten_params

_LAYER = re.compile(r"^(encoder|decoder)/layers_(\d+)/(.+)$")
_STACKS = {"encoder": "encoder_layers", "decoder": "decoder_layers"}


def source_layer(target: int, source_count: int, target_count: int) -> int:
    """The source layer whose copy target layer ``target`` is (runs of equal length, in order)."""
    return target * source_count // target_count


def growable_shapes(target: ModelConfig) -> Callable[[ModelConfig], Any]:
    """For ``load_weights(expected=...)``: the shapes a folder must have to grow into ``target``,
    which are ``target``'s with the folder's own layer counts (so a width or head mismatch is
    reported by the loader, naming the parameter)."""
    def shapes(source: ModelConfig) -> Any:
        same_depth = dataclasses.replace(target, encoder_layers=source.encoder_layers,
                                         decoder_layers=source.decoder_layers)
        return jax.eval_shape(lambda: init_params(same_depth, seed=0))

    return shapes


def _shrunk_gate(logit: np.ndarray, copies: int) -> np.ndarray:
    """The gate logit whose sigmoid is ``1/copies`` of the given one's."""
    p = 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=np.float64))) / copies
    return np.asarray(np.log(p / (1.0 - p)), dtype=np.float32)


def stack_layers(params: Mapping[str, Any], source: ModelConfig, target: ModelConfig) -> dict[str, Any]:
    """``params`` of a ``source``-shaped model, grown to ``target``'s encoder and decoder depth.

    Everything but the layer counts must already agree (width, heads, vocabulary): load the
    folder with ``expected=growable_shapes(target)``. Fewer target layers than source
    layers is an error: dropping learnt layers is not a warm start."""
    flat = flatten_params(params)
    for field in _STACKS.values():
        have, want = getattr(source, field), getattr(target, field)
        if want < have:
            raise ValueError(f"{field}: the weights have {have}, the model {want}; "
                             "growing can add layers, not remove them")
    grown: dict[str, Any] = {}
    for key, value in flat.items():
        match = _LAYER.match(key)
        if not match:
            grown[key] = value
            continue
        stack, index, rest = match.group(1), int(match.group(2)), match.group(3)
        have, want = getattr(source, _STACKS[stack]), getattr(target, _STACKS[stack])
        copies = [t for t in range(want) if source_layer(t, have, want) == index]
        for t in copies:
            leaf = np.array(value, dtype=np.float32, copy=True)
            if rest.endswith("gate") and len(copies) > 1:
                leaf = _shrunk_gate(leaf, len(copies))
            grown[f"{stack}/layers_{t}/{rest}"] = leaf
    return unflatten_params(grown)
