"""The `needle-router` command.

Heavy imports (JAX, the model) happen inside commands so that `--help` and `--version`
answer instantly.
"""

from __future__ import annotations

import re
import sys
import time

import click

from needle_router._version import __version__

MODEL_HELP = ("Weights directory, or a preset name (needle-26m, needle-tiny) for random "
              "weights. Default: the shipped default weights.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="needle-router")
def main() -> None:
    """Route user queries to tool calls locally with the Needle model."""


def _load(model: str | None):
    from needle_router.model.loading import load_model
    from needle_router.model.weights import WeightsError

    try:
        return load_model(model)
    except WeightsError as err:
        raise click.ClickException(str(err)) from None


@main.command()
@click.option("--model", "-m", default=None, help=MODEL_HELP)
def info(model: str | None) -> None:
    """Show the model's configuration, parameter counts and where its weights come from."""
    from rich.console import Console
    from rich.table import Table

    from needle_router.model import param_breakdown

    loaded = _load(model)
    console = Console()
    console.print(f"[bold]model:[/bold] {loaded.label}")
    table = Table("field", "value", title="config")
    for key, value in loaded.config.to_dict().items():
        table.add_row(key, str(value))
    console.print(table)
    counts = Table("component", "parameters", title="parameters")
    breakdown = param_breakdown(loaded.config)
    for name, count in breakdown.items():
        counts.add_row(name, f"{count:,}")
    counts.add_row("[bold]total[/bold]", f"[bold]{sum(breakdown.values()):,}[/bold]")
    console.print(counts)


@main.command()
@click.argument("query")
@click.option("--model", "-m", default=None, help=MODEL_HELP)
@click.option("--max-new-tokens", "-n", default=32, show_default=True, type=click.IntRange(1, 512),
              help="Upper bound on generated tokens.")
def generate(query: str, model: str | None, max_new_tokens: int) -> None:
    """Run the model on QUERY (greedy, KV-cached) and print what it generates.

    This is the raw model; tool routing builds on it.
    """
    from rich.console import Console

    from needle_router.model.decode import Generator
    from needle_router.tokenizer import default_tokenizer

    if not query.strip():
        raise click.BadParameter("the query is empty", param_hint="QUERY")
    console = Console(stderr=True)
    loaded = _load(model)
    if loaded.untrained:
        console.print(f"[yellow]warning:[/yellow] {loaded.label}")
    tokenizer = default_tokenizer()
    ids = tokenizer.encode(query)
    generator = Generator(loaded.params, loaded.config)
    t0 = time.perf_counter()
    generator.generate([ids], max_new_tokens=max_new_tokens)  # compiles this bucket
    t1 = time.perf_counter()
    (result,) = generator.generate([ids], max_new_tokens=max_new_tokens)
    t2 = time.perf_counter()
    click.echo(tokenizer.decode(result.tokens))
    console.print(
        f"[dim]output ids: {result.tokens}\n"
        f"{len(ids)} input tokens, {len(result.tokens)} output tokens"
        f"{'' if result.finished else ' (hit --max-new-tokens)'}; "
        f"{(t2 - t1) * 1000:.1f} ms (first call incl. compile: {(t1 - t0):.1f} s); "
        f"model: {loaded.label}[/dim]")


class _BadInput(click.ClickException):
    """Bad input from the command line (a tools file, a tool, the query): one line, exit 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(re.sub(r"\s*\n\s*", " ", message.strip()))


def _format_call(name: str, arguments: dict) -> str:
    return f"{name}({', '.join(f'{key}={value!r}' for key, value in arguments.items())})"


def _load_tool_files(paths: tuple[str, ...]) -> tuple[list, list[tuple[str, int]]]:
    """The tools of every file in order, and (file, first index) of each file's slice."""
    from needle_router.tools import ToolsFileError, load_tools_file

    tools: list = []
    starts: list[tuple[str, int]] = []
    for path in paths:
        try:
            loaded = load_tools_file(path)
        except ToolsFileError as err:
            raise _BadInput(str(err)) from None
        starts.append((path, len(tools)))
        tools.extend(loaded)
    return tools, starts


def _tool_error(err: Exception, starts: list[tuple[str, int]]) -> str:
    """``err``'s message with its ``tools[i]`` (an index into all files' tools, concatenated)
    pointing into the file each tool came from."""
    if len(starts) == 1:
        return f"tools file {starts[0][0]!r}: {err}"

    def locate(match: re.Match) -> str:
        index = int(match.group(1))
        path, first = next(((p, f) for p, f in reversed(starts) if f <= index), starts[0])
        return f"tools[{index - first}] of {path!r}"

    return re.sub(r"tools\[(\d+)\]", locate, str(err))


@main.command()
@click.argument("query")
@click.option("--tools", "-t", "tool_files", multiple=True, required=True, metavar="FILE",
              help="Tool registry: a .py file with TOOLS = [...], or a .json/.yaml list of tool "
                   "schemas (or {\"tools\": [...]}). Repeat to combine several files.")
@click.option("--model", "-m", default=None, help=MODEL_HELP)
@click.option("--json", "as_json", is_flag=True,
              help="Print the RouteResult as one JSON object on stdout (and nothing else).")
@click.option("--top-k", "-k", default=8, show_default=True, type=click.IntRange(min=1),
              help="With more tools than this, only the K most relevant are shown to the model.")
@click.option("--constrain/--no-constrain", default=True, show_default=True,
              help="Decode under the tool set's grammar (every call parses and validates).")
@click.option("--min-confidence", default=None, type=click.FloatRange(0.0, 1.0), metavar="X",
              help="Answer 'no call' when the confidence is below X (0-1).")
def route(query: str, tool_files: tuple[str, ...], model: str | None, as_json: bool, top_k: int,
          constrain: bool, min_confidence: float | None) -> None:
    """Route QUERY to tool calls from the tools in --tools, and print the calls.

    Prints one line per call (or "no call"); --json prints the whole result instead. A .py
    tools file is imported, so its code runs. With trained weights:

    \b
    $ needle-router route "weather in Paris in celsius?" --tools examples/tools.py
    get_weather(location='Paris', unit='celsius')
    """
    import json

    from rich.console import Console
    from rich.markup import escape

    if not query.strip():
        raise _BadInput("the query is empty (or only whitespace): there is nothing to route")
    tools, starts = _load_tool_files(tool_files)

    from needle_router.model.weights import WeightsError
    from needle_router.router import NeedleRouter, QueryError
    from needle_router.tools import ToolSpecError

    console = Console(stderr=True, soft_wrap=True)
    try:
        router = NeedleRouter(tools, model, top_k=top_k, constrained=constrain,
                              min_confidence=min_confidence)
    except ToolSpecError as err:
        raise _BadInput(_tool_error(err, starts)) from None
    except WeightsError as err:
        raise _BadInput(str(err)) from None
    if router.engine.loaded.untrained:
        console.print(f"[yellow]warning:[/yellow] {escape(router.model_label)}")
    try:
        result = router.route_sync(query)
    except QueryError as err:
        raise _BadInput(str(err)) from None

    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        return
    for call in result.calls:
        click.echo(_format_call(call.name, call.arguments))
    if not result.calls:
        click.echo("no call")
    for error in result.errors:
        console.print(f"[yellow]dropped:[/yellow] {escape(error)}")
    notes = []
    if result.abstained:
        notes.append(f"abstained: below --min-confidence {min_confidence:g}")
    if result.truncated:
        notes.append("query truncated")
    console.print(escape(
        f"confidence {result.confidence:.3f}; {result.latency_ms:.1f} ms (a process's first "
        f"query includes compiling); {result.usage.input_tokens} input / "
        f"{result.usage.output_tokens} output tokens; {len(router.specs)} tools"
        + "".join(f"; {note}" for note in notes)), style="dim")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
