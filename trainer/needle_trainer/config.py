"""Training configuration: one YAML file, validated into dataclasses.

Every knob of a run lives in the file (model, data mix, batch shape, optimizer, schedule, loss
weights, QAT schedule, evaluation and checkpoint cadence), so a run is reproducible from its
config and seed. ``trainer/configs/needle-26m.yaml`` and ``needle-tiny.yaml`` are the presets.
Unknown keys are errors that name the section and key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


class ConfigError(ValueError):
    """A training config is invalid; the message names the file, section and key."""


@dataclass
class ModelSection:
    preset: str = "needle-26m"
    dtype: str = "float32"            # compute dtype: bfloat16 on accelerators
    dropout: float = 0.0
    remat: bool = False               # recompute layers in the backward pass (less memory, ~1/3 more compute)
    overrides: dict[str, Any] = field(default_factory=dict)   # ModelConfig fields


@dataclass
class DataSection:
    seed: int = 0
    workers: int = 0                  # generator processes (0: in the training process)
    examples_per_step: int = 180      # one data chunk per step
    rows: int = 64                    # packed rows per step (a multiple of the device count)
    enc_len: int = 2048
    dec_len: int = 320
    mix: dict[str, Any] = field(default_factory=dict)        # DataConfig fields
    retrieval_pairs: int = 64         # (query, positive tool) pairs per step for the contrastive loss


@dataclass
class OptimSection:
    lr: float = 3e-3                  # AdamW peak learning rate (embeddings, norms, gates, head)
    muon_lr: float = 0.02             # Muon peak learning rate (2-D attention kernels)
    use_muon: bool = True
    weight_decay: float = 0.01
    b1: float = 0.9
    b2: float = 0.98
    clip_norm: float = 1.0
    warmup_steps: int = 200
    decay_fraction: float = 0.2       # warmup-stable-decay: the last fraction decays linearly to 0


@dataclass
class LossSection:
    structure: float = 1.0
    name: float = 2.0
    key: float = 1.5
    value: float = 4.0
    z_loss: float = 1e-4
    contrastive: float = 0.1


@dataclass
class QATSection:
    bits: int = 4
    every: int = 0                    # fake-quantize every k-th step (0: never, outside the final phase)
    final_fraction: float = 0.15      # always fake-quantize in the last fraction of the steps


@dataclass
class StageSection:
    name: str
    steps: int
    objective: str = "calls"          # "calls" (routing) or "denoise" (self-supervised pretraining)


@dataclass
class TrainConfig:
    name: str = "run"
    out_dir: str = "runs/run"
    seed: int = 0
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    loss: LossSection = field(default_factory=LossSection)
    qat: QATSection = field(default_factory=QATSection)
    stages: list[StageSection] = field(default_factory=lambda: [StageSection("post", 1000)])
    eval_every: int = 500
    eval_examples: int = 200
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    minutes: float | None = None      # stop cleanly after this wall time (the GPU launcher sets it)
    mesh: dict[str, int] = field(default_factory=lambda: {"data": -1})   # -1: all devices
    init_weights: str = ""            # warm start: a float weights folder whose params begin the run
                                      # (fresh optimizer, schedule and data position; e.g. a second round)
    init_grow: bool = False           # init_weights may have fewer encoder/decoder layers: each is
                                      # stacked in place to fill the deeper model (needle_trainer.grow)
    source: str = ""                  # the file it was read from

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {"model": ModelSection, "data": DataSection, "optim": OptimSection, "loss": LossSection,
             "qat": QATSection}


def _build(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def config_from_dict(data: dict[str, Any], source: str = "<dict>") -> TrainConfig:
    data = dict(data or {})
    kwargs: dict[str, Any] = {}
    for key, cls in _SECTIONS.items():
        if key in data:
            kwargs[key] = _build(cls, data.pop(key), f"{source}: {key}")
    if "stages" in data:
        stages = data.pop("stages")
        if not isinstance(stages, list) or not stages:
            raise ConfigError(f"{source}: stages must be a non-empty list")
        kwargs["stages"] = [_build(StageSection, s, f"{source}: stages[{i}]") for i, s in enumerate(stages)]
        for i, s in enumerate(kwargs["stages"]):
            if s.objective not in ("calls", "denoise") or s.steps < 0:
                raise ConfigError(f"{source}: stages[{i}]: objective must be calls|denoise and steps >= 0")
    cfg = _build(TrainConfig, {**data, **kwargs}, source)
    cfg.source = source
    if cfg.model.dtype not in ("float32", "bfloat16"):
        raise ConfigError(f"{source}: model: dtype must be float32 or bfloat16")
    if cfg.qat.bits not in (4, 8):
        raise ConfigError(f"{source}: qat: bits must be 4 or 8")
    return cfg


def load_config(path: str | Path) -> TrainConfig:
    """A config file, or a preset name (``needle-26m``, ``needle-tiny``) from ``trainer/configs``."""
    p = Path(path)
    if not p.exists() and (CONFIG_DIR / f"{path}.yaml").exists():
        p = CONFIG_DIR / f"{path}.yaml"
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (presets: "
                          f"{', '.join(sorted(q.stem for q in CONFIG_DIR.glob('*.yaml')))})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{p}{f':{mark.line + 1}' if mark else ''}: invalid YAML") from None
    return config_from_dict(data or {}, str(p))
