"""``needle-router serve`` and ``needle-router playground``: run the app on uvicorn.

Starlette and uvicorn come from the ``serve`` extra and are imported inside the commands, so
``needle-router --help`` stays instant and works without them.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["playground", "serve"]

MODEL_HELP = ("Weights directory, or a preset name (needle-26m, needle-tiny) for random "
              "weights. Default: the shipped default weights.")
EXTRA_HINT = 'the server needs the "serve" extra: python3 -m pip install "needle-router[serve]"'


def _options(default_port: int):
    """The options both commands take."""
    def wrap(func):
        options = [
            click.option("--host", default="127.0.0.1", show_default=True,
                         help="Address to bind. Anything but loopback exposes an unauthenticated API."),
            click.option("--port", "-p", default=default_port, show_default=True, type=click.IntRange(0, 65535)),
            click.option("--model", "-m", default=None, help=MODEL_HELP),
            click.option("--timeout", "timeout_s", default=30.0, show_default=True, type=click.FloatRange(0.1),
                         help="Per-request limit in seconds (504 past it)."),
            click.option("--max-body-bytes", default=4 * 1024 * 1024, show_default=True, type=click.IntRange(1),
                         help="Largest request body (413 past it)."),
            click.option("--allow-origin", "allow_origins", multiple=True,
                         help="Another browser origin allowed to POST (e.g. http://localhost:3000); repeatable."),
            click.option("--examples", "examples_dir", default=None, type=click.Path(file_okay=False, exists=True),
                         help="Folder with tools.json / registries/*/tools.json for the playground. "
                              "Default: the repository's examples/."),
            click.option("--top-k", default=None, type=click.IntRange(1),
                         help="Tools shown to the model per query (default: the router's)."),
            click.option("--max-batch", default=32, show_default=True, type=click.IntRange(1, 128)),
            click.option("--batch-wait-ms", default=2.0, show_default=True, type=click.FloatRange(0)),
            click.option("--access-log/--no-access-log", default=True, show_default=True,
                         help="Log one line per request."),
            click.option("--max-new-tokens", default=256, show_default=True, type=click.IntRange(16, 512),
                         help="Answer budget in tokens per request."),
            click.option("--finetune-dir", default=None, type=click.Path(file_okay=False),
                         help="Where the playground's fine-tune jobs write their folders "
                              "(default: ~/.cache/needle-router/finetune-jobs)."),
        ]
        for option in reversed(options):
            func = option(func)
        return func
    return wrap


def _run(*, host: str, port: int, model: str | None, timeout_s: float, max_body_bytes: int,
         allow_origins: tuple[str, ...], examples_dir: str | None, top_k: int | None, max_batch: int,
         batch_wait_ms: float, max_new_tokens: int, access_log: bool, finetune_dir: str | None,
         page: bool) -> None:
    try:
        import uvicorn

        from needle_router.server.app import ServerSettings, create_app
        from needle_router.server.playground import default_examples_dir
        from needle_router.server.security import is_loopback
    except ImportError as err:
        raise click.ClickException(f"{EXTRA_HINT} ({err})") from None
    from needle_router.engine import get_engine
    from needle_router.model.weights import WeightsError

    try:
        engine = get_engine(model)  # load (and check) the weights before binding the port
    except WeightsError as err:
        raise click.ClickException(str(err)) from None
    if engine.loaded.untrained:
        click.secho(f"warning: {engine.loaded.label}", fg="yellow", err=True)
    loopback = is_loopback(host)
    if not loopback:
        click.secho(f"warning: listening on {host}: anyone who can reach it can use this API "
                    "(there is no authentication)", fg="yellow", err=True)
    settings = ServerSettings(
        model=model, max_body_bytes=max_body_bytes, timeout_s=timeout_s, loopback_only=loopback,
        allow_origins=list(allow_origins),
        examples_dir=Path(examples_dir) if examples_dir else default_examples_dir(),
        top_k=top_k, max_batch=max_batch, batch_wait_ms=batch_wait_ms, max_new_tokens=max_new_tokens,
        finetune_dir=Path(finetune_dir) if finetune_dir else None)
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    if page:
        click.echo(f"playground: {base}/   (API: {base}/v1)", err=True)
    else:
        click.echo(f"OpenAI-compatible API: {base}/v1   (playground: {base}/)", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", timeout_keep_alive=5,
                server_header=False, access_log=access_log)


@click.command()
@_options(8000)
def serve(**options) -> None:
    """Serve the router as an OpenAI-compatible API (POST /v1/chat/completions with tools).

    Also GET /v1/models, GET /healthz, and the playground page at /.
    """
    _run(page=False, **options)


@click.command()
@_options(7860)
def playground(**options) -> None:
    """Serve the playground page: edit a tool set, type queries, see the calls.

    The same app as `serve` (the API is at /v1 here too).
    """
    _run(page=True, **options)
