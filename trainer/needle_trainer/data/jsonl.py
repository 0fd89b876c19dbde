"""Writing and reading the data engine's JSONL files, atomically and resumably.

One line per example: ``{"query", "tools", "calls"}`` plus an optional ``meta``. While a file is
being written it lives at ``OUT.partial`` with a sidecar ``OUT.partial.json`` recording the
arguments, the next chunk and the byte length after the last complete chunk; a rerun with the same
arguments truncates to that length and continues, and the finished file appears at ``OUT`` with
one ``os.replace``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from needle_trainer.data.generate import DataConfig
from needle_trainer.data.stream import StreamPosition, chunk_stream
from needle_trainer.data.validate import dedupe_key

_PUBLIC_META = ("kind", "no_call", "source", "augment", "exempt")


def to_line(example: dict[str, Any], with_meta: bool = True) -> str:
    out = {"query": example["query"], "tools": example["tools"], "calls": example["calls"]}
    if with_meta and "meta" in example:
        out["meta"] = {k: v for k, v in example["meta"].items() if k in _PUBLIC_META}
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def generate_file(out: str | os.PathLike, n: int, seed: int, split: str = "train", workers: int = 0,
                  chunk_size: int = 256, config: DataConfig | None = None, with_meta: bool = True,
                  progress: Callable[[int], None] | None = None) -> Counter:
    """Write ``n`` unique examples to ``out``; returns the rejected-example counter."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    sidecar = out.with_name(out.name + ".partial.json")
    args = {"n": n, "seed": seed, "split": split, "chunk_size": chunk_size, "with_meta": with_meta,
            "config": vars(config or DataConfig())}
    state = {"args": args, "chunk": 0, "bytes": 0, "lines": 0, "rejected": {}}
    if sidecar.exists() and partial.exists():
        saved = json.loads(sidecar.read_text(encoding="utf-8"))
        if saved.get("args") == args:
            state = saved
    seen: set[str] = set()
    with open(partial, "a+b") as f:
        f.truncate(state["bytes"])
        f.seek(0)
        for raw in f:
            seen.add(dedupe_key(json.loads(raw)["query"]))
        f.seek(0, os.SEEK_END)
        rejected = Counter(state["rejected"])
        lines = state["lines"]
        if progress:
            progress(lines)
        stream = chunk_stream(seed, split, start=StreamPosition(state["chunk"]), chunk_size=chunk_size,
                              workers=workers, config=config, rejected=rejected)
        for idx, examples in stream:
            if lines >= n:
                break
            buf = []
            for ex in examples:
                key = dedupe_key(ex["query"])
                if key in seen:
                    rejected["duplicate query"] += 1
                    continue
                seen.add(key)
                buf.append(to_line(ex, with_meta) + "\n")
                if lines + len(buf) >= n:
                    break
            f.write("".join(buf).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
            lines += len(buf)
            state.update(chunk=idx + 1, bytes=f.tell(), lines=lines, rejected=dict(rejected))
            _write_json_atomic(sidecar, state)
            if progress:
                progress(lines)
        stream.close()
    os.replace(partial, out)
    sidecar.unlink(missing_ok=True)
    return rejected


class DataFileError(ValueError):
    """A JSONL line is not a valid example; the message names file and line."""


def read_examples(path: str | os.PathLike, strict: bool = True) -> Iterator[dict[str, Any]]:
    """Examples from a JSONL file. ``strict=False`` skips bad lines instead of raising."""
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                ex = json.loads(raw)
                if not isinstance(ex, dict) or not isinstance(ex.get("query"), str) \
                        or not isinstance(ex.get("tools"), list) or not isinstance(ex.get("calls"), list):
                    raise ValueError('expected an object with "query" (string), "tools" and "calls" (lists)')
            except ValueError as exc:
                if strict:
                    raise DataFileError(f"{path}:{lineno}: {exc}") from None
                continue
            yield ex
