"""The `needle-router` command.

Heavy imports (JAX, the model) happen inside commands so that `--help` and `--version`
answer instantly.
"""

from __future__ import annotations

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
