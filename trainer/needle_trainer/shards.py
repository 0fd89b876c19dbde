"""A train state as small files: safetensors shards of at most ``max_bytes`` each + an index.

The GPU launcher writes its checkpoint this way so that it can travel back through channels that
limit file sizes, and reads one back to resume on another machine. Each file is written to a
temporary name and renamed; the index is written last, so a folder is either complete or
ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
from safetensors.numpy import load_file, save_file

INDEX = "index.json"
MAX_BYTES = 16 * 1024 * 1024
_HEADER_ROOM = 256 * 1024          # safetensors' JSON header is not counted in the tensor bytes


def _leaves(tree: Any) -> list[tuple[str, np.ndarray]]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    out = []
    for path, leaf in flat:
        name = "/".join(str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path)
        out.append((name, np.asarray(jax.device_get(leaf))))
    return out


def save_sharded(tree: Any, folder: str | Path, record: dict[str, Any] | None = None,
                 max_bytes: int = MAX_BYTES) -> list[Path]:
    """Write ``tree``'s leaves into shards of <= ``max_bytes`` (a larger leaf is split by rows)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    max_bytes -= _HEADER_ROOM
    shards: list[dict[str, np.ndarray]] = [{}]
    sizes = [0]
    parts: dict[str, list[str]] = {}
    for name, arr in _leaves(tree):
        pieces = [arr]
        if arr.nbytes > max_bytes and arr.ndim >= 1:
            rows = max(1, max_bytes // max(1, arr.nbytes // arr.shape[0]))
            pieces = [arr[i:i + rows] for i in range(0, arr.shape[0], rows)]
        parts[name] = []
        for j, piece in enumerate(pieces):
            key = f"{name}#{j}"
            if sizes[-1] + piece.nbytes > max_bytes and shards[-1]:
                shards.append({})
                sizes.append(0)
            shards[-1][key] = np.ascontiguousarray(piece)
            sizes[-1] += piece.nbytes
            parts[name].append(key)
    files = []
    for i, shard in enumerate(shards):
        path = folder / f"state-{i:05d}.safetensors"
        tmp = path.with_name(path.name + ".tmp")
        save_file(shard, str(tmp))
        os.replace(tmp, path)
        files.append(path)
    index = {"files": [p.name for p in files], "parts": parts, "record": record or {}}
    tmp = folder / (INDEX + ".tmp")
    tmp.write_text(json.dumps(index), encoding="utf-8")
    os.replace(tmp, folder / INDEX)
    return files


def load_sharded(folder: str | Path, like: Any) -> tuple[Any, dict[str, Any]]:
    """Read a folder written by :func:`save_sharded` into the structure (and dtypes) of ``like``."""
    folder = Path(folder)
    index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    tensors: dict[str, np.ndarray] = {}
    for name in index["files"]:
        tensors.update(load_file(str(folder / name)))
    names = [n for n, _ in _leaves(like)]
    flat, treedef = jax.tree_util.tree_flatten(like)
    missing = [n for n in names if n not in index["parts"]]
    if missing:
        raise ValueError(f"{folder}: checkpoint lacks {len(missing)} tensors (first: {missing[0]}); "
                         "was it written for another model or optimizer config?")
    leaves = []
    for n, ref in zip(names, flat):
        arr = np.concatenate([tensors[k] for k in index["parts"][n]]) if len(index["parts"][n]) > 1 \
            else tensors[index["parts"][n][0]]
        if arr.size == np.size(ref):
            arr = arr.reshape(np.shape(ref))
        if arr.shape != np.shape(ref):
            raise ValueError(f"{folder}: tensor {n} has shape {arr.shape}, expected {np.shape(ref)}")
        leaves.append(arr.astype(np.asarray(ref).dtype if hasattr(ref, "dtype") else arr.dtype))
    return jax.tree_util.tree_unflatten(treedef, leaves), index.get("record", {})
