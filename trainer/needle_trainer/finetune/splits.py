"""Train / validation / test splits of a registry's examples, and their files.

Stratified by what an example calls (its set of tool names; no-call examples are their own
stratum; user-written examples are split apart from synthesised ones), so every tool is trained
on and measured; deterministic for a seed. Files are written atomically, so a crash never leaves
half a split behind for the trainer to read.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from needle_trainer.data.jsonl import read_examples, to_line

SPLITS = ("train", "validation", "test")


def stratum(example: Mapping[str, Any]) -> str:
    """The stratum key: source (user or synthesised) and the sorted called tool names."""
    names = sorted({c["name"] for c in example.get("calls", [])})
    source = "user" if (example.get("meta") or {}).get("source") == "user" else "synth"
    return f"{source}|{'+'.join(names) if names else '<no call>'}"


def _quota(n: int, fractions: Sequence[float]) -> tuple[int, int]:
    """(validation, test) counts for a stratum of n >= 3: at least one each, train keeps the rest."""
    val = max(1, round(n * fractions[1]))
    test = max(1, round(n * fractions[2]))
    while val + test > n - 1:
        if val >= test and val > 1:
            val -= 1
        elif test > 1:
            test -= 1
        else:
            break
    return val, test


def split_per_tool(examples: Sequence[dict[str, Any]], *, seed: int = 0,
                   fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[dict[str, Any]]]:
    """``{"train", "validation", "test"}`` lists, stratified by called tool set (see the module
    docstring); every tool called by >= 3 examples is called in every split."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[stratum(ex)].append(i)
    where: dict[int, str] = {}
    for key in sorted(groups):
        idx = list(groups[key])
        rng = random.Random(f"split:{seed}:{key}")
        rng.shuffle(idx)
        if len(idx) >= 3:
            val, test = _quota(len(idx), fractions)
            for j, i in enumerate(idx):
                where[i] = "validation" if j < val else "test" if j < val + test else "train"
        else:                                  # too few to divide: each goes where the fractions say
            for i in idx:
                where[i] = rng.choices(SPLITS, fractions)[0]
    _cover_every_tool(examples, where, seed)
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for i, ex in enumerate(examples):
        out[where[i]].append(ex)
    return out


def _cover_every_tool(examples: Sequence[dict[str, Any]], where: dict[int, str], seed: int) -> None:
    """Move examples out of train so that every tool with >= 3 examples is in every split
    (a tool only seen in small parallel strata could otherwise miss one)."""
    by_tool: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        for name in sorted({c["name"] for c in ex.get("calls", [])}):
            by_tool[name].append(i)
    rng = random.Random(f"cover:{seed}")
    for name in sorted(by_tool):
        idx = by_tool[name]
        if len(idx) < 3:
            continue
        for split in ("validation", "test"):
            if any(where[i] == split for i in idx):
                continue
            pool = [i for i in idx if where[i] == "train"]
            if len(pool) < 2:                  # keep at least one in train; take from the other split
                other = "test" if split == "validation" else "validation"
                pool = [i for i in idx if where[i] == other and sum(where[j] == other for j in idx) > 1]
            if pool:
                fewest_calls = min(len(examples[i].get("calls", [])) for i in pool)
                where[rng.choice([i for i in pool if len(examples[i].get("calls", [])) == fewest_calls])] = split


def _write_atomic(path: Path, lines: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_splits(out_dir: str | os.PathLike, splits: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, Path]:
    """Write ``OUT/data/{train,validation,test}.jsonl`` (each atomically: temp file + os.replace);
    returns the paths by split name."""
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split names {sorted(unknown)} (expected {', '.join(SPLITS)})")
    folder = Path(out_dir) / "data"
    paths = {}
    for name in SPLITS:
        path = folder / f"{name}.jsonl"
        _write_atomic(path, [to_line(ex) + "\n" for ex in splits.get(name, ())])
        paths[name] = path
    return paths


def read_split(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The examples of one split file (raises DataFileError naming the line if one is bad)."""
    return list(read_examples(path, strict=True))


__all__ = ["SPLITS", "read_split", "split_per_tool", "stratum", "write_splits"]
