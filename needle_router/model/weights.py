"""Weight files: a directory with ``model.safetensors`` and ``config.json``.

Layout (format ``needle-weights``, version 1)
---------------------------------------------
``model.safetensors``
    One tensor per parameter leaf, named by its path joined with ``/``
    (``encoder/layer_0/attn/q_proj/kernel``). A float leaf is stored as float32 under that name.
    A quantized leaf (see ``quantize.quant_axis_for``) is stored as two tensors:
    ``<path>.qweight`` (uint8, two int4 values per byte, or int8) and ``<path>.scales`` (float16),
    laid out as described in ``needle_router.model.quantize``.
    The safetensors ``__metadata__`` (string -> string) holds:
      ``format`` = "needle-weights", ``format_version`` = "1", ``quant``, ``group_size``,
      ``model_config``: JSON of the model config the tensors were saved with,
      ``quantized``: JSON ``{path: {"shape": [...], "axis": int, "bits": int, "group_size": int}}``
      for every quantized leaf.
    Keeping the quantization layout in the safetensors file makes it self-describing and covered
    by the checksum.
``config.json``
    ``{"format": "needle-weights", "format_version": 1, "model": ModelConfig.to_dict(),
    "quant": "int4"|"int8"|"float32", "group_size": 32, "weights_file": "model.safetensors",
    "file_size": bytes, "sha256": hex digest of model.safetensors, "param_count": int,
    "metadata": extra_metadata (training info, any JSON object)}``

Writes are atomic: each file goes to a temp file in the same directory, is flushed and fsync'd,
then ``os.replace``d over the target; ``model.safetensors`` first, ``config.json`` last. Because
``config.json`` holds the checksum, a crash between the two is detected on load as a mismatch.

``load_weights`` validates everything and raises ``WeightsError`` (a ``ValueError``) with one
message naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np
import safetensors.numpy

from needle_router.model.config import ModelConfig
from needle_router.model.quantize import (
    DEFAULT_GROUP_SIZE,
    QuantizedArray,
    _flatten,
    _unflatten,
    dequantize_array,
    quant_axis_for,
    quantize_array,
)

FORMAT_NAME = "needle-weights"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
QUANT_MODES = {"int4": 4, "int8": 8, "float32": None}
QWEIGHT_SUFFIX = ".qweight"
SCALES_SUFFIX = ".scales"
# Model config fields that may differ between config.json and the copy inside the safetensors
# metadata: they change neither the tensors nor the numerics of the stored model.
_CONFIG_FIELDS_FREE_TO_EDIT = ("name", "dtype")
_MAX_HEADER_BYTES = 100 * 1024 * 1024

ExpectedShapes = Union[Mapping[str, Any], Callable[[ModelConfig], Mapping[str, Any]]]


class WeightsError(ValueError):
    """A weight directory is missing, malformed, corrupt or does not match the model."""


# --------------------------------------------------------------------------------------------
# param tree helpers


def flatten_params(nested: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": x}}`` -> ``{"a/b": x}``. Keys must be non-empty strings without ``/``."""
    return {"/".join(path): leaf for path, leaf in _flatten(nested).items()}


def unflatten_params(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of ``flatten_params``."""
    paths = {}
    for key, value in flat.items():
        path = tuple(key.split("/"))
        if not all(path):
            raise ValueError(f"invalid parameter path {key!r}")
        paths[path] = value
    return _unflatten(paths)


# --------------------------------------------------------------------------------------------
# saving


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without os.umask (which would briefly change it for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsync'd temp file in the same directory + os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # what open() would give, not mkstemp's private 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _config_bytes(info: Mapping[str, Any]) -> bytes:
    return (json.dumps(info, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _as_float32(key: str, leaf: Any) -> np.ndarray:
    arr = np.asarray(leaf)
    if not (np.issubdtype(arr.dtype, np.floating) or arr.dtype.name == "bfloat16"):
        raise ValueError(f"parameter {key!r} has non-float dtype {arr.dtype}")
    return np.array(arr, dtype=np.float32, order="C")  # (ascontiguousarray would make 0-d 1-d)


def save_weights(directory: str | os.PathLike, params: Mapping[str, Any], config: ModelConfig, *,
                 quant: str = "int4", extra_metadata: Mapping[str, Any] | None = None,
                 group_size: int = DEFAULT_GROUP_SIZE) -> Path:
    """Write ``params`` (nested dict, no outer "params" key) and ``config`` to ``directory``.

    ``quant``: "int4" / "int8" store quantizable leaves packed (others float32); "float32" stores
    every leaf as float32. ``extra_metadata`` must be JSON-serialisable. Returns the directory.
    """
    if quant not in QUANT_MODES:
        raise ValueError(f"quant must be one of {sorted(QUANT_MODES)}, got {quant!r}")
    if not isinstance(config, ModelConfig):
        raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
    bits = QUANT_MODES[quant]
    extra = dict(extra_metadata or {})
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"extra_metadata is not JSON-serialisable: {e}") from None

    tensors: dict[str, np.ndarray] = {}
    quantized: dict[str, dict[str, Any]] = {}
    param_count = 0
    for key, leaf in flatten_params(params).items():
        if key.endswith((QWEIGHT_SUFFIX, SCALES_SUFFIX)):
            raise ValueError(f"parameter name {key!r} clashes with the quantized tensor suffixes")
        arr = _as_float32(key, leaf)
        param_count += arr.size
        axis = None if bits is None else quant_axis_for(tuple(key.split("/")), arr, group_size)
        if axis is None:
            tensors[key] = arr
        else:
            qa = quantize_array(arr, bits, axis, group_size)
            tensors[key + QWEIGHT_SUFFIX] = qa.packed
            tensors[key + SCALES_SUFFIX] = qa.scales
            quantized[key] = {"shape": list(qa.shape), "axis": qa.axis, "bits": qa.bits,
                              "group_size": qa.group_size}

    st_metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "quant": quant,
        "group_size": str(group_size),
        "model_config": json.dumps(config.to_dict(), sort_keys=True),
        "quantized": json.dumps(quantized, sort_keys=True),
    }
    blob = safetensors.numpy.save(tensors, metadata=st_metadata)
    info = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model": config.to_dict(),
        "quant": quant,
        "group_size": group_size,
        "weights_file": WEIGHTS_FILE,
        "file_size": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "param_count": int(param_count),
        "metadata": extra,
    }
    config_bytes = _config_bytes(info)

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / WEIGHTS_FILE, blob)
    atomic_write(directory / CONFIG_FILE, config_bytes)
    return directory


def read_metadata(directory: str | os.PathLike) -> dict[str, Any]:
    """A weights folder's ``metadata`` (training info), without reading its tensors."""
    info, _ = _read_config(Path(directory) / CONFIG_FILE)
    return dict(info.get("metadata", {}))


def update_metadata(directory: str | os.PathLike, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into a weights folder's ``metadata`` (e.g. a confidence calibration),
    rewriting only ``config.json`` (atomically); the tensors and their checksum are untouched."""
    path = Path(directory) / CONFIG_FILE
    info, _ = _read_config(path)
    try:
        json.dumps(dict(changes), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"metadata is not JSON-serialisable: {e}") from None
    info["metadata"] = {**info.get("metadata", {}), **changes}
    atomic_write(path, _config_bytes(info))
    return info["metadata"]


# --------------------------------------------------------------------------------------------
# loading


def _read_config(path: Path) -> tuple[dict[str, Any], ModelConfig]:
    def fail(problem: str) -> WeightsError:
        return WeightsError(f"{path}: {problem}")

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail("malformed config: not UTF-8 text") from None
    except OSError as e:
        raise fail(f"cannot read config: {e.strerror or e}") from None
    try:
        info = json.loads(text)
    except json.JSONDecodeError as e:
        raise fail(f"malformed config: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(info, dict):
        raise fail(f"malformed config: expected a JSON object, got {type(info).__name__}")
    required = {"format": str, "format_version": int, "model": dict, "quant": str,
                "group_size": int, "sha256": str, "param_count": int}
    missing = [k for k in required if k not in info]
    if missing:
        raise fail(f"malformed config: missing field(s) {', '.join(missing)}")
    for key, typ in required.items():
        if not isinstance(info[key], typ) or isinstance(info[key], bool):
            raise fail(f"malformed config: field {key!r} must be {typ.__name__}, got {info[key]!r}")
    if info["format"] != FORMAT_NAME:
        raise fail(f"unknown format {info['format']!r} (expected {FORMAT_NAME!r})")
    if info["format_version"] != FORMAT_VERSION:
        raise fail(f"unsupported format version {info['format_version']} "
                   f"(this needle-router reads version {FORMAT_VERSION})")
    if info["quant"] not in QUANT_MODES:
        raise fail(f"malformed config: unknown quant mode {info['quant']!r}")
    if info["group_size"] <= 0:
        raise fail(f"malformed config: group_size must be positive, got {info['group_size']}")
    if "file_size" in info and (not isinstance(info["file_size"], int) or isinstance(info["file_size"], bool)):
        raise fail(f"malformed config: field 'file_size' must be int, got {info['file_size']!r}")
    if not isinstance(info.get("metadata", {}), dict):
        raise fail("malformed config: field 'metadata' must be a JSON object")
    try:
        config = ModelConfig.from_dict(info["model"])
    except (ValueError, TypeError) as e:
        raise fail(f"invalid model config: {e}") from None
    return info, config


def _parse_safetensors_header(path: Path, blob: bytes) -> dict[str, Any]:
    """Structural checks that give precise messages before handing the bytes to safetensors."""
    def fail(problem: str) -> WeightsError:
        return WeightsError(f"{path}: {problem}")

    if len(blob) < 8:
        raise fail(f"truncated file: {len(blob)} bytes, too short for a safetensors header")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > _MAX_HEADER_BYTES:
        raise fail(f"corrupt header: declared header length {header_len} is implausible")
    if 8 + header_len > len(blob):
        raise fail(f"truncated file: header needs {8 + header_len} bytes, file has {len(blob)}")
    try:
        header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise fail("corrupt header: not valid JSON") from None
    if not isinstance(header, dict):
        raise fail("corrupt header: not a JSON object")
    data_end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise fail(f"corrupt header: bad entry for tensor {name!r}")
        data_end = max(data_end, offsets[1])
    data_len = len(blob) - 8 - header_len
    if data_end > data_len:
        raise fail(f"truncated file: tensor data needs {data_end} bytes, file holds {data_len}")
    if data_end < data_len:
        raise fail(f"corrupt file: size mismatch, {data_len - data_end} unexpected trailing bytes")
    return header


def _shape_of(value: Any) -> tuple[int, ...]:
    shape = value.shape if hasattr(value, "shape") else value
    return tuple(int(s) for s in shape)


def _normalise_expected(expected: ExpectedShapes, config: ModelConfig) -> dict[str, tuple[int, ...]]:
    if callable(expected) and not isinstance(expected, Mapping):
        expected = expected(config)
    if not isinstance(expected, Mapping):
        raise TypeError("expected must be a mapping of shapes or a callable(ModelConfig) -> mapping")
    if any(isinstance(v, Mapping) for v in expected.values()):  # nested tree (e.g. jax.eval_shape)
        expected = flatten_params(expected)
    return {key: _shape_of(value) for key, value in expected.items()}


def _names(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:5])
    return shown + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def load_weights(directory: str | os.PathLike, *, expected: ExpectedShapes | None = None,
                 ) -> tuple[dict[str, Any], ModelConfig, dict[str, Any]]:
    """Load a weight directory written by ``save_weights``.

    Returns ``(params, config, info)``: ``params`` a nested dict of float32 numpy arrays
    (quantized leaves dequantized), the ``ModelConfig``, and ``info`` with keys ``quant``,
    ``group_size``, ``param_count``, ``sha256``, ``format_version`` and ``extra`` (the
    ``extra_metadata`` given to ``save_weights``).

    ``expected``: the parameter shapes the model needs, as a flat ``{"a/b/c": shape}`` mapping, a
    nested tree of shapes / ``ShapeDtypeStruct`` (e.g. from ``jax.eval_shape``), or a callable
    taking the loaded ``ModelConfig`` and returning either. When given, missing / unexpected
    parameters and wrong shapes are errors; when None only the file's internal consistency is
    checked.
    """
    directory = Path(directory)
    if not directory.exists():
        raise WeightsError(f"{directory}: weights directory does not exist (missing)")
    if not directory.is_dir():
        raise WeightsError(f"{directory}: not a directory")
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for p in (config_path, weights_path):
        if not p.is_file():
            raise WeightsError(f"{p}: file is missing")

    info, config = _read_config(config_path)
    group_size, quant = info["group_size"], info["quant"]

    def fail(problem: str) -> WeightsError:
        return WeightsError(f"{weights_path}: {problem}")

    try:
        blob = weights_path.read_bytes()
    except OSError as e:
        raise fail(f"cannot read weights: {e.strerror or e}") from None
    header = _parse_safetensors_header(weights_path, blob)
    if "file_size" in info and info["file_size"] != len(blob):
        raise fail(f"size mismatch: {len(blob)} bytes, {config_path.name} records {info['file_size']} "
                   "(file truncated, changed or from another save)")
    digest = hashlib.sha256(blob).hexdigest()
    if digest != info["sha256"]:
        raise fail(f"checksum mismatch: file changed or corrupt (sha256 {digest[:16]}..., "
                   f"{config_path.name} records {info['sha256'][:16]}...)")
    try:
        tensors = safetensors.numpy.load(blob)
    except Exception as e:  # safetensors raises its own (Rust) error types
        raise fail(f"corrupt file: safetensors cannot read it ({e})") from None
    del blob

    # Metadata recorded inside the safetensors file.
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise fail(f"not a {FORMAT_NAME} file: safetensors metadata lacks format={FORMAT_NAME!r}")
    try:
        quantized = json.loads(meta.get("quantized", "{}"))
        st_model = json.loads(meta["model_config"]) if "model_config" in meta else None
    except json.JSONDecodeError:
        raise fail("corrupt metadata: 'quantized' or 'model_config' is not valid JSON") from None
    if not isinstance(quantized, dict):
        raise fail("corrupt metadata: 'quantized' is not a JSON object")
    if meta.get("quant") != quant or meta.get("group_size") != str(group_size):
        raise fail(f"config mismatch: file was saved with quant={meta.get('quant')!r} "
                   f"group_size={meta.get('group_size')!r}, {config_path.name} says quant={quant!r} "
                   f"group_size={group_size}")
    if isinstance(st_model, dict):
        diffs = sorted(k for k in set(st_model) | set(info["model"])
                       if k not in _CONFIG_FIELDS_FREE_TO_EDIT and st_model.get(k) != info["model"].get(k))
        if diffs:
            detail = ", ".join(f"{k}={info['model'].get(k)!r} vs {st_model.get(k)!r}" for k in diffs)
            raise WeightsError(f"{config_path}: config mismatch: model config differs from the one the "
                               f"weights in {weights_path.name} were saved with ({detail})")

    # Rebuild the flat parameter dict, checking every tensor.
    flat: dict[str, np.ndarray] = {}
    used: set[str] = set()
    for key, spec in quantized.items():
        qname, sname = key + QWEIGHT_SUFFIX, key + SCALES_SUFFIX
        missing = [n for n in (qname, sname) if n not in tensors]
        if missing:
            raise fail(f"missing tensor(s): {_names(missing)}")
        try:
            qa = QuantizedArray(packed=tensors[qname], scales=tensors[sname],
                                shape=tuple(int(s) for s in spec["shape"]), axis=int(spec["axis"]),
                                bits=int(spec["bits"]), group_size=int(spec["group_size"]))
            if qa.bits != QUANT_MODES[quant]:
                raise ValueError(f"{qa.bits}-bit tensor in a {quant} file")
            qa.validate()
        except (KeyError, TypeError, ValueError) as e:
            raise fail(f"inconsistent quantized tensor {key!r}: wrong shape or dtype ({e})") from None
        flat[key] = dequantize_array(qa)
        used.update((qname, sname))
    for name, arr in tensors.items():
        if name in used:
            continue
        if name.endswith((QWEIGHT_SUFFIX, SCALES_SUFFIX)):
            raise fail(f"unexpected tensor {name!r}: not listed in the quantization metadata")
        if arr.dtype != np.float32:
            raise fail(f"wrong dtype for tensor {name!r}: {arr.dtype}, expected float32")
        flat[name] = np.array(arr, dtype=np.float32)  # own, writable copy

    count = sum(int(math.prod(a.shape)) for a in flat.values())
    if count != info["param_count"]:
        raise fail(f"param count mismatch: tensors hold {count} parameters, {config_path.name} "
                   f"records {info['param_count']} (missing or unexpected tensors)")

    if expected is not None:
        shapes = _normalise_expected(expected, config)
        missing = set(shapes) - set(flat)
        if missing:
            raise fail(f"missing tensor(s) the model needs: {_names(missing)}")
        extra = set(flat) - set(shapes)
        if extra:
            raise fail(f"unexpected tensor(s) the model does not have: {_names(extra)}")
        wrong = [f"{k} is {list(flat[k].shape)}, expected {list(shapes[k])}"
                 for k in sorted(flat) if tuple(flat[k].shape) != shapes[k]]
        if wrong:
            more = f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""
            raise fail(f"wrong shape for the model in {config_path.name} "
                       f"(d_model={config.d_model}): {'; '.join(wrong[:3])}{more}")

    try:
        params = unflatten_params(flat)
    except ValueError as e:
        raise fail(f"corrupt tensor names: {e}") from None
    out_info = {
        "format_version": info["format_version"],
        "quant": quant,
        "group_size": group_size,
        "param_count": info["param_count"],
        "sha256": info["sha256"],
        "extra": dict(info.get("metadata", {})),
    }
    return params, config, out_info
