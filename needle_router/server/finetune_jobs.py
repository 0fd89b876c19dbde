"""The playground's background fine-tune jobs: one at a time, each in its own folder.

A job runs ``needle_trainer.finetune.workflow.run`` in a thread and keeps the progress events
it reports, so the page can poll a small status object. Jobs live in an in-memory registry
keyed by random ids: a client names a job (or its tuned model) only by such an id, never by a
path, so nothing a client sends can point the server at other files. The trainer is imported
lazily (``needle_router`` must not need the ``train`` extra), and a missing extra is reported
as :class:`TrainExtraMissing` before any job starts.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from needle_router.server.security import safe_file

__all__ = ["DOWNLOAD_FILES", "FinetuneJobs", "FinetuneOptions", "Job", "JobBusy", "TrainExtraMissing",
           "default_jobs_dir"]

log = logging.getLogger("needle_router.server")

# What a download holds: the loadable weights folder plus the registry and the report.
DOWNLOAD_FILES = ("model.safetensors", "config.json", "tools.json", "report.json", "report.md", "curve.png")
TRAIN_HINT = "fine-tuning needs the training extra: pip install 'needle-router[train]'"


def default_jobs_dir() -> Path:
    """``$XDG_CACHE_HOME/needle-router/finetune-jobs`` (``~/.cache/...`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "needle-router" / "finetune-jobs"


class TrainExtraMissing(RuntimeError):
    """``needle_trainer`` (or one of its dependencies) cannot be imported."""


class JobBusy(RuntimeError):
    """Another job is still running (one at a time: training takes every core)."""


class _Cancelled(Exception):
    """Raised from the progress callback to stop a job (server shutdown)."""


@dataclass(frozen=True)
class FinetuneOptions:
    """One job's knobs (already bounded by the caller). ``base`` is a preset name or a weights
    folder chosen by the server (its own model or a model tuned here), never a client's path."""

    base: str | None = None
    base_id: str = "needle"
    minutes: float = 2.0
    per_tool: int = 60
    epochs: float = 3.0
    lora_rank: int | None = None
    eval_every: int = 50


@dataclass
class Job:
    """One fine-tune run and the last progress it reported (updated by the worker thread)."""

    id: str
    folder: Path
    tools: list[Any]
    options: FinetuneOptions
    started: float = field(default_factory=time.time)
    phase: str = "starting"
    step: int = 0
    total: int | None = None
    loss: float | None = None
    validation_exact_match: float | None = None
    finished: float | None = None
    error: str | None = None
    report: dict[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def model_id(self) -> str:
        """The id clients route with once the job is done (``needle-tiny-ft-1a2b3c4d``)."""
        return f"{self.options.base_id}-ft-{self.id}"

    @property
    def running(self) -> bool:
        return self.phase not in ("done", "error")

    def on_event(self, event: dict[str, Any]) -> None:
        """The workflow's progress callback (worker thread); raising here stops the run."""
        with self.lock:
            if "phase" in event:
                if event["phase"] == "done":
                    self.report = {k: event[k] for k in ("base_exact_match", "tuned_exact_match", "test_examples")}
                elif event["phase"] != "error":  # the worker records errors with their final message
                    self.phase = event["phase"]
                return
            self.step, self.total, self.loss = event["step"], event["total"], event["loss"]
            if "validation_exact_match" in event:
                self.validation_exact_match = event["validation_exact_match"]
        if self.cancel.is_set():
            raise _Cancelled("cancelled: the server is shutting down")

    def status(self) -> dict[str, Any]:
        """What ``GET /playground/finetune/{id}`` answers."""
        with self.lock:
            end = self.finished or time.time()
            done = self.phase == "done"
            return {"job": self.id, "phase": self.phase, "running": self.running, "step": self.step,
                    "total": self.total, "loss": self.loss, "validation_exact_match": self.validation_exact_match,
                    "elapsed_s": round(end - self.started, 1), "error": self.error,
                    "base": self.options.base_id, "tools": len(self.tools),
                    "model": self.model_id if done else None, "report": self.report if done else None,
                    "download": f"/playground/finetune/{self.id}/download" if done else None}


class FinetuneJobs:
    """The registry of jobs under ``root`` (one folder per job id), at most one running."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._zip_lock = threading.Lock()

    @staticmethod
    def workflow() -> ModuleType:
        """The trainer's workflow module, imported on first use (slow: optax, orbax ...)."""
        try:
            return importlib.import_module("needle_trainer.finetune.workflow")
        except ImportError as err:
            raise TrainExtraMissing(f"{TRAIN_HINT} ({err.name or err} is missing)") from None

    def start(self, tools: list[Any], specs: list[Any], options: FinetuneOptions) -> Job:
        """Start a job in a thread; raises :class:`JobBusy` while another one runs."""
        workflow = self.workflow()
        with self._lock:
            busy = next((j for j in self._jobs.values() if j.running), None)
            if busy is not None:
                raise JobBusy(f"fine-tune job {busy.id} is still running (one job at a time)")
            job_id = secrets.token_hex(4)
            while job_id in self._jobs:
                job_id = secrets.token_hex(4)
            job = Job(job_id, self.root / job_id, tools, options)
            self._jobs[job_id] = job
        thread = threading.Thread(target=self._work, args=(job, specs, workflow), name=f"finetune-{job_id}",
                                  daemon=True)
        thread.start()
        return job

    def _work(self, job: Job, specs: list[Any], workflow: ModuleType) -> None:
        from rich.console import Console

        opts = job.options
        try:
            job.folder.parent.mkdir(parents=True, exist_ok=True)
            workflow.run(specs, job.folder, tools_file="(playground)", per_tool=opts.per_tool, epochs=opts.epochs,
                         lora_rank=opts.lora_rank, minutes=opts.minutes, base=opts.base,
                         eval_every=opts.eval_every, console=Console(quiet=True), on_event=job.on_event)
        except _Cancelled as err:
            self._finish(job, str(err))
        except getattr(workflow, "FinetuneInputError", ValueError) as err:
            self._finish(job, str(err))
        except Exception as err:  # reported plainly; the traceback goes to the log only
            log.exception("fine-tune job %s failed", job.id)
            self._finish(job, f"{type(err).__name__}: {err}")
        else:
            self._finish(job, None)

    @staticmethod
    def _finish(job: Job, error: str | None) -> None:
        with job.lock:
            job.error = error
            job.phase = "error" if error else "done"
            job.finished = time.time()
        log.info("fine-tune job %s: %s", job.id, error or "done")

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def finished_model(self, model_id: str | None) -> Job | None:
        """The finished job whose tuned model is ``model_id``, if any."""
        if not model_id:
            return None
        with self._lock:
            return next((j for j in self._jobs.values() if j.phase == "done" and j.model_id == model_id), None)

    def finished(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.phase == "done"]

    def cancel_all(self) -> None:
        """Ask running jobs to stop at their next step (server shutdown)."""
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()

    def archive(self, job: Job) -> Path:
        """The finished job's download (zip), built once, atomically, from files inside its folder."""
        target = job.folder / f"{job.model_id}.zip"
        with self._zip_lock:
            if target.is_file():
                return target
            fd, tmp = tempfile.mkstemp(dir=job.folder, prefix=".download-", suffix=".zip")
            try:
                with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
                    for name in DOWNLOAD_FILES:
                        path = safe_file(job.folder, name)  # refuses links pointing out of the folder
                        if path is None:
                            continue
                        kind = zipfile.ZIP_STORED if name.endswith((".safetensors", ".png")) else zipfile.ZIP_DEFLATED
                        archive.write(path, f"{job.model_id}/{name}", compress_type=kind)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return target
