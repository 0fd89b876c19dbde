"""The ASGI app: OpenAI-compatible chat completions, models, health, and the playground page.

    app = create_app(ServerSettings(model="needle-tiny"))   # then: uvicorn.run(app)

Endpoints: ``POST /v1/chat/completions`` (JSON or ``stream: true`` server-sent events),
``GET /v1/models``, ``GET /healthz``, ``GET /`` (playground), ``GET /static/{file}``,
``GET /playground/examples`` and ``GET /playground/examples/{path}``, and the playground's
fine-tune jobs (``POST /playground/finetune``, ``GET /playground/finetune/{id}[/download]``, see
:mod:`needle_router.server.finetune_api`). A chat request whose ``model`` names a model tuned by
such a job is routed with it; any other ``model`` value gets the server's own model.

Every request shares one engine, so concurrent requests are micro-batched by the router.
Errors are OpenAI-shaped JSON: 413 for a body over the limit, 422 naming the offending field,
504 past the per-request timeout, and a bare 500 message (the traceback goes to the log only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from needle_router.router import QueryError, RouteResult
from needle_router.server.openai_format import (
    ChatJob,
    RequestError,
    completion,
    completion_chunks,
    error_body,
    parse_chat_request,
    tool_error_field,
)
from needle_router.server.finetune_api import finetune_routes
from needle_router.server.finetune_jobs import FinetuneJobs, default_jobs_dir
from needle_router.server.playground import default_examples_dir, list_examples, read_example, static_file
from needle_router.server.routers import RouterPool
from needle_router.server.security import GuardMiddleware
from needle_router.tools.errors import ToolSpecError

__all__ = ["ServerSettings", "create_app", "model_id"]

log = logging.getLogger("needle_router.server")

PAGE_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@dataclass
class ServerSettings:
    """What one server process serves, and its limits."""

    model: str | os.PathLike | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    timeout_s: float = 30.0
    loopback_only: bool = True
    allow_origins: list[str] = field(default_factory=list)
    examples_dir: Path | None = field(default_factory=default_examples_dir)
    router_cache: int = 32
    top_k: int | None = None  # None: the router's own default
    max_batch: int = 32
    batch_wait_ms: float = 2.0
    max_new_tokens: int = 256
    warmup: bool = True
    # the playground's fine-tune jobs (one at a time); a client may lower minutes/per_tool/epochs
    finetune_dir: Path | None = None  # None: ~/.cache/needle-router/finetune-jobs
    finetune_minutes: float = 2.0
    finetune_max_minutes: float = 30.0
    finetune_per_tool: int = 60
    finetune_epochs: float = 3.0
    finetune_lora_rank: int | None = None  # None: full fine-tuning (the CLI's default too)
    finetune_eval_every: int = 50
    tuned_router_cache: int = 4


def model_id(model: str | os.PathLike | None, config_name: str) -> str:
    """The id clients see: the preset or config name, or the weights folder's name."""
    if model is None:
        return config_name
    path = Path(model)
    return path.name if path.is_dir() else str(model)


class _TooLarge(Exception):
    pass


async def _read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing (413) more than ``limit`` bytes before reading them all."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise RequestError("content-length", "not a number", status=400)
        if int(length) > limit:
            raise _TooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as err:
        raise RequestError("body", f"not valid JSON ({err})", status=400) from None
    except RecursionError:
        raise RequestError("body", "JSON nested too deeply", status=400) from None


def _error(status: int, message: str, *, param: str | None = None, kind: str = "invalid_request_error",
           code: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, param=param, kind=kind, code=code), status_code=status)


def create_app(settings: ServerSettings | None = None) -> Starlette:
    """The app for ``settings``; the model loads (and compiles, with ``warmup``) at startup."""
    settings = settings or ServerSettings()
    options: dict[str, Any] = {"max_batch": settings.max_batch, "batch_wait_ms": settings.batch_wait_ms,
                               "max_new_tokens": settings.max_new_tokens}
    if settings.top_k is not None:
        options["top_k"] = settings.top_k
    pool = RouterPool(settings.model, size=settings.router_cache, **options)
    state: dict[str, Any] = {"model_id": "needle", "untrained": True, "started": int(time.time())}
    jobs = FinetuneJobs(settings.finetune_dir or default_jobs_dir())
    tuned_pools: dict[str, RouterPool] = {}

    def pool_for(model: str | None) -> tuple[RouterPool, str]:
        """The pool for a model tuned here if ``model`` names one, else the server's own."""
        tuned = jobs.finished_model(model)
        if tuned is None:
            return pool, state["model_id"]
        if tuned.model_id not in tuned_pools:
            tuned_pools[tuned.model_id] = RouterPool(str(tuned.folder), size=settings.tuned_router_cache, **options)
        return tuned_pools[tuned.model_id], tuned.model_id

    def base_choices() -> tuple[dict[str, str | None], str]:
        choices: dict[str, str | None] = {state["model_id"]: None if settings.model is None else str(settings.model)}
        choices.update({j.model_id: str(j.folder) for j in jobs.finished()})
        return choices, state["model_id"]

    async def read_json(request: Request) -> Any:
        try:
            return await _read_json(request, settings.max_body_bytes)
        except _TooLarge:
            raise RequestError("body", f"larger than {settings.max_body_bytes} bytes", status=413) from None

    async def answer(job: ChatJob) -> RouteResult | None:
        if job.query is None:
            return None
        try:
            router = await pool_for(job.model)[0].get(job.tools)
        except ToolSpecError as err:
            where = f" (tool {err.tool!r})" if err.tool is not None else ""
            raise RequestError(tool_error_field(err, job.tools), err.reason + where) from None
        try:
            return await router.route(job.query, **job.route_options)
        except QueryError as err:
            raise RequestError("messages", str(err)) from None
        except ToolSpecError as err:  # an allowed name the router does not know
            raise RequestError("tool_choice", str(err)) from None

    async def chat_completions(request: Request) -> Response:
        async def handle() -> tuple[ChatJob, RouteResult | None]:
            job = parse_chat_request(await _read_json(request, settings.max_body_bytes))
            return job, await answer(job)

        try:  # the timeout covers reading the body too (a client trickling bytes)
            job, result = await asyncio.wait_for(handle(), settings.timeout_s)
        except _TooLarge:
            return _error(413, f"request body is larger than {settings.max_body_bytes} bytes",
                          code="request_too_large")
        except RequestError as err:
            return _error(err.status, str(err), param=err.field)
        except asyncio.TimeoutError:
            return _error(504, f"the request took longer than {settings.timeout_s:g} s", kind="timeout",
                          code="timeout")
        name = pool_for(job.model)[1]
        if not job.stream:
            return JSONResponse(completion(job, result, name))

        async def events():
            for chunk in completion_chunks(job, result, name):
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def models(request: Request) -> Response:
        tuned = [{"id": j.model_id, "object": "model", "created": int(j.finished or j.started),
                  "owned_by": "needle-router", "untrained": False, "finetuned_from": j.options.base_id}
                 for j in jobs.finished()]
        return JSONResponse({"object": "list", "data": [
            {"id": state["model_id"], "object": "model", "created": state["started"], "owned_by": "needle-router",
             "untrained": state["untrained"]}, *tuned]})

    async def healthz(request: Request) -> Response:
        batcher = getattr(state.get("engine"), "batcher", None)
        return JSONResponse({"status": "ok", "model": state["model_id"], "untrained": state["untrained"],
                             "routers": len(pool), "batches": getattr(batcher, "batches_run", None),
                             "largest_batch": getattr(batcher, "largest_batch", None)})

    async def page(request: Request) -> Response:
        return _static("index.html")

    async def static(request: Request) -> Response:
        return _static(request.path_params["path"])

    def _static(relative: str) -> Response:
        found = static_file(relative)
        if found is None:
            return _error(404, "not found", kind="not_found")
        body, kind = found
        return Response(body, media_type=kind, headers=PAGE_HEADERS)

    async def examples(request: Request) -> Response:
        return JSONResponse({"examples": list_examples(settings.examples_dir)})

    async def example(request: Request) -> Response:
        body = read_example(settings.examples_dir, request.path_params["path"])
        if body is None:
            return _error(404, "no such example", kind="not_found")
        return Response(body, media_type="application/json", headers={"x-content-type-options": "nosniff"})

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail), kind="not_found" if exc.status_code == 404 else "http_error")

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error while serving %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal server error (details are in the server log)", kind="server_error")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        router = await asyncio.to_thread(pool.build, [])
        loaded = router.engine.loaded
        state.update(model_id=model_id(settings.model, loaded.config.name), untrained=loaded.untrained,
                     engine=router.engine)
        if settings.warmup:
            await asyncio.to_thread(router.warmup)
        log.info("serving %s", router.model_label)
        try:
            yield
        finally:
            jobs.cancel_all()

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", page, methods=["GET"]),
            Route("/static/{path:path}", static, methods=["GET"]),
            Route("/playground/examples", examples, methods=["GET"]),
            Route("/playground/examples/{path:path}", example, methods=["GET"]),
            *finetune_routes(jobs, settings, read_json, _error, base_choices),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.add_middleware(GuardMiddleware, loopback_only=settings.loopback_only, allow_origins=settings.allow_origins)
    app.state.pool = pool
    app.state.settings = settings
    app.state.finetune_jobs = jobs
    return app
