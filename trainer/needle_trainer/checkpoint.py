"""Resumable checkpoints with orbax: the train state (parameters, optimizer state, step, RNG)
plus a JSON record (stage, best metric, run history), written atomically.

Two managers under the run directory: ``checkpoints/latest`` keeps the last few steps (what
``--resume`` continues from) and ``checkpoints/best`` keeps the one with the best held-out
exact match (what gets exported to the shipped INT4 format). The data position needs no entry of
its own: batches are a pure function of the step (:mod:`.batches`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

from needle_trainer.step import TrainState


class Checkpoints:
    def __init__(self, run_dir: str | Path, keep: int = 2):
        root = Path(run_dir).resolve() / "checkpoints"
        opts = dict(create=True, enable_async_checkpointing=False)
        self.latest = ocp.CheckpointManager(root / "latest", options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, **opts))
        self.best = ocp.CheckpointManager(root / "best", options=ocp.CheckpointManagerOptions(max_to_keep=1, **opts))

    @staticmethod
    def _args(state: TrainState, record: dict[str, Any]):
        return ocp.args.Composite(state=ocp.args.StandardSave(state), record=ocp.args.JsonSave(record))

    def save(self, state: TrainState, record: dict[str, Any], best: bool = False) -> None:
        step = int(jax.device_get(state.step))
        manager = self.best if best else self.latest
        if step in manager.all_steps():
            return
        manager.save(step, args=self._args(state, record))
        manager.wait_until_finished()

    def latest_step(self, best: bool = False) -> int | None:
        return (self.best if best else self.latest).latest_step()

    def restore(self, abstract_state: TrainState, best: bool = False,
                step: int | None = None) -> tuple[TrainState, dict[str, Any]]:
        """The newest (or given) checkpoint, placed like ``abstract_state`` (ShapeDtypeStructs
        with shardings, or concrete arrays)."""
        manager = self.best if best else self.latest
        step = manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {manager.directory}")
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
        out = manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), record=ocp.args.JsonRestore()))
        return TrainState(*out["state"]), dict(out["record"])

    def close(self) -> None:
        self.latest.close()
        self.best.close()
