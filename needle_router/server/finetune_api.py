"""The playground's fine-tune endpoints (the jobs themselves are in :mod:`finetune_jobs`).

``POST /playground/finetune``
    ``{"tools": [...], "minutes"?: float, "per_tool"?: int, "epochs"?: float, "base"?: str}``
    starts a job (202, ``{"job": id, ...status}``); 409 while one runs, 422 for bad input, 501
    without the ``train`` extra. ``base`` may only name this server's model or a model tuned
    here: clients never name filesystem paths.
``GET /playground/finetune/{id}``
    the job's status (phase, step/total, loss, validation exact match, elapsed, error, and
    when done the tuned model's id and base-vs-tuned exact match on the test split).
``GET /playground/finetune/{id}/download``
    a zip of the tuned weights, config, tools.json and report files.

POSTs pass the Origin check of :class:`~needle_router.server.security.GuardMiddleware`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from needle_router.server.finetune_jobs import FinetuneJobs, FinetuneOptions, JobBusy, TrainExtraMissing
from needle_router.server.openai_format import RequestError, _check_tools, _expect, tool_error_field
from needle_router.tools.errors import ToolSpecError

__all__ = ["finetune_routes", "parse_finetune_request"]

ReadJson = Callable[[Request], Awaitable[Any]]
ErrorFn = Callable[..., JSONResponse]

# Request knobs: (lowest, highest); minutes' highest is ServerSettings.finetune_max_minutes
_BOUNDS = {"minutes": (0.05, None), "per_tool": (5, 500), "epochs": (0.05, 20.0)}


def _number(body: dict, key: str, default: float, cap: float | None, integer: bool = False) -> float:
    value = body.get(key)
    if value is None:
        return default
    _expect(value, int if integer else (int, float), key, "an integer" if integer else "a number")
    low, high = _BOUNDS[key]
    high = cap if cap is not None else high
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        raise RequestError(key, f"must be between {low:g} and {high:g}, got {value!r}")
    return value


def parse_finetune_request(body: Any, settings: Any, base_choices: dict[str, str | None],
                           default_base: str) -> tuple[list[Any], FinetuneOptions]:
    """Check the body; ``base_choices`` maps the model ids a client may name to what the
    server loads for them (its own model, models tuned here)."""
    _expect(body, dict, "body", "a JSON object")
    tools = _check_tools(body.get("tools"))
    if not tools:
        raise RequestError("tools", "expected a non-empty array of tools to fine-tune on")
    base_id = body.get("base") or default_base
    _expect(base_id, str, "base", "a string")
    if base_id not in base_choices:
        raise RequestError("base", f"unknown base model {base_id!r}: use this server's model or one tuned here "
                                   f"({', '.join(sorted(base_choices))})")
    options = FinetuneOptions(
        base=base_choices[base_id], base_id=base_id,
        minutes=float(_number(body, "minutes", settings.finetune_minutes, settings.finetune_max_minutes)),
        per_tool=int(_number(body, "per_tool", settings.finetune_per_tool, None, integer=True)),
        epochs=float(_number(body, "epochs", settings.finetune_epochs, None)),
        lora_rank=settings.finetune_lora_rank, eval_every=settings.finetune_eval_every)
    return tools, options


def _specs(tools: list[Any]) -> list[Any]:
    from needle_router.tools import assign_internal_names, to_tool_specs

    return assign_internal_names(to_tool_specs(tools))


def finetune_routes(jobs: FinetuneJobs, settings: Any, read_json: ReadJson, error: ErrorFn,
                    base_choices: Callable[[], tuple[dict[str, str | None], str]]) -> list[Route]:
    """The three routes, bound to ``jobs``; ``base_choices()`` returns (choices, default id)."""

    async def start(request: Request) -> Response:
        try:
            choices, default = base_choices()
            tools, options = parse_finetune_request(await read_json(request), settings, choices, default)
            try:
                specs = await asyncio.to_thread(_specs, tools)
            except ToolSpecError as err:
                where = f" (tool {err.tool!r})" if err.tool is not None else ""
                raise RequestError(tool_error_field(err, tools), err.reason + where) from None
            job = await asyncio.to_thread(jobs.start, tools, specs, options)
        except RequestError as err:
            return error(err.status, str(err), param=err.field)
        except TrainExtraMissing as err:
            return error(501, str(err), kind="not_implemented", code="train_extra_missing")
        except JobBusy as err:
            return error(409, str(err), kind="conflict", code="job_running")
        return JSONResponse(job.status(), status_code=202)

    async def status(request: Request) -> Response:
        job = jobs.get(request.path_params["job"])
        if job is None:
            return error(404, "no such fine-tune job", kind="not_found")
        return JSONResponse(job.status(), headers={"cache-control": "no-store"})

    async def download(request: Request) -> Response:
        job = jobs.get(request.path_params["job"])
        if job is None:
            return error(404, "no such fine-tune job", kind="not_found")
        if job.phase != "done":
            return error(409, f"fine-tune job {job.id} has not finished (phase: {job.phase})", kind="conflict",
                         code="job_not_done")
        path = await asyncio.to_thread(jobs.archive, job)
        return FileResponse(path, media_type="application/zip", filename=path.name,
                            headers={"x-content-type-options": "nosniff", "cache-control": "no-store"})

    return [
        Route("/playground/finetune", start, methods=["POST"]),
        Route("/playground/finetune/{job}", status, methods=["GET"]),
        Route("/playground/finetune/{job}/download", download, methods=["GET"]),
    ]
