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

    from needle_router.decision import no_call_bias
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
    try:
        bias = no_call_bias(loaded.info, str(loaded.source))
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    generator = Generator(loaded.params, loaded.config, no_call_bias=bias)
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
@click.option("--top-k", "-k", default=None, type=click.IntRange(min=1),
              help="With more tools than this, only the K most relevant are shown to the model. "
                   "Default: 8, or as many as a fine-tuned model's registry has.")
@click.option("--constrain/--no-constrain", default=True, show_default=True,
              help="Decode under the tool set's grammar (every call parses and validates).")
@click.option("--min-confidence", default=None, type=click.FloatRange(0.0, 1.0), metavar="X",
              help="Answer 'no call' when the confidence is below X (0-1).")
@click.option("--ground/--keep-ungrounded", default=True, show_default=True,
              help="Drop optional arguments the query gives no ground for (a mode, flag or text it "
                   "never mentions), complete names cut short from the query, and fill an optional "
                   "enum value it names that the answer left out.")
@click.option("--tool-prior", default=None, type=click.FloatRange(0.0, 100.0), metavar="W",
              help="Weight of the query's retrieval match on the tool's name (0: the model alone; "
                   "default: the router's).")
def route(query: str, tool_files: tuple[str, ...], model: str | None, as_json: bool, top_k: int | None,
          constrain: bool, min_confidence: float | None, ground: bool, tool_prior: float | None) -> None:
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
                              min_confidence=min_confidence, ground_optional=ground, tool_prior=tool_prior)
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


# ------------------------------------------------------------------------------------ data

def _trainer_import(module: str):
    """Import a needle_trainer module, or explain which extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise click.ClickException(
            f"this command needs the training extra ({err.name} is missing): "
            "pip install 'needle-router[train]'") from None


@main.group()
def data() -> None:
    """Generate and inspect training data (the data engine)."""


@data.command("generate")
@click.option("--n", "n", required=True, type=click.IntRange(min=1), help="Number of examples.")
@click.option("--seed", default=0, show_default=True, type=int, help="Stream seed.")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="JSONL file to write.")
@click.option("--split", type=click.Choice(["train", "heldout"]), default="train", show_default=True,
              help="heldout: only tools never used in training (the evaluation set).")
@click.option("--workers", "-j", default=0, show_default=True, type=click.IntRange(min=0),
              help="Worker processes (0: generate in this process).")
@click.option("--no-meta", is_flag=True, help="Write only query, tools and calls.")
def data_generate(n: int, seed: int, out: str, split: str, workers: int, no_meta: bool) -> None:
    """Write N unique, validated examples to OUT (resumes an interrupted run)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    jsonl = _trainer_import("needle_trainer.data.jsonl")
    t0 = time.perf_counter()
    with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("", total=n)
        try:
            rejected = jsonl.generate_file(out, n, seed, split, workers=workers, with_meta=not no_meta,
                                           progress=lambda done: bar.update(task, completed=done))
        except _trainer_import("needle_trainer.data.catalogue").CatalogueError as err:
            raise click.ClickException(f"invalid catalogue: {err}") from None
    dt = time.perf_counter() - t0
    click.echo(f"wrote {n:,} examples to {out} in {dt:.1f}s ({n / dt:,.0f}/s)")
    if rejected:
        click.echo("rejected: " + ", ".join(f"{k} {v:,}" for k, v in rejected.most_common()))


@data.command("stats")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--token-sample", default=5000, show_default=True, type=click.IntRange(min=0),
              help="Examples to tokenize for the token statistics.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def data_stats(file: str, token_sample: int, as_json: bool) -> None:
    """Describe a JSONL data file: call types, tools and tokens per example, scripts."""
    import json

    from rich.console import Console
    from rich.table import Table

    jsonl = _trainer_import("needle_trainer.data.jsonl")
    stats = _trainer_import("needle_trainer.data.stats")
    encode = _trainer_import("needle_trainer.data.encode")
    try:
        result = stats.describe(jsonl.read_examples(file), encode.Encoder() if token_sample else None,
                                token_sample)
    except jsonl.DataFileError as err:
        raise _BadInput(str(err)) from None
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    console = Console()
    total = result["examples"]
    for title in ("call types", "tools per example", "calls per example", "scripts in query",
                  "augmentations", "sources"):
        table = Table(title=title, title_justify="left")
        table.add_column(title.split()[0])
        table.add_column("examples", justify="right")
        table.add_column("%", justify="right")
        for key, count in sorted(result[title].items(), key=lambda kv: -kv[1]):
            table.add_row(str(key), f"{count:,}", f"{100 * count / max(total, 1):.1f}")
        console.print(table)
    if "tokens" in result:
        table = Table(title=f"tokens per example ({result['tokens']['sampled']:,} sampled)", title_justify="left")
        for col in ("", "mean", "p50", "p95", "max"):
            table.add_column(col, justify="right")
        for side in ("encoder", "decoder"):
            t = result["tokens"][side]
            table.add_row(side, f"{t['mean']:.1f}", f"{t['p50']:.0f}", f"{t['p95']:.0f}", str(t["max"]))
        console.print(table)
    console.print(f"{total:,} examples")


@data.command("tokenizer")
@click.option("--out", "-o", default=None, type=click.Path(dir_okay=False),
              help="Model file to write. Default: the shipped tokenizer (replaced atomically).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--mb", "target_mb", default=12.0, show_default=True, type=click.FloatRange(0.1),
              help="Corpus size in MB.")
@click.option("--engine-share", default=0.5, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Share of the corpus from the data engine (the rest: the built-in corpus).")
@click.option("--workers", "-j", default=0, show_default=True, type=click.IntRange(min=0))
def data_tokenizer(out: str | None, seed: int, target_mb: float, engine_share: float, workers: int) -> None:
    """Retrain the 8,192-token SentencePiece model on a generated corpus (same special ids).

    Changing the shipped tokenizer invalidates trained weights: retrain the model afterwards.
    """
    from pathlib import Path

    from needle_router.tokenizer import DEFAULT_MODEL_PATH

    train_tokenizer = _trainer_import("needle_trainer.train_tokenizer")
    train_tokenizer.retrain(Path(out) if out else DEFAULT_MODEL_PATH, seed=seed, target_mb=target_mb,
                            engine_share=engine_share, workers=workers, log=click.echo)


# ----------------------------------------------------------------------------------- train

@main.command()
@click.option("--config", "-c", "config_path", required=True, metavar="CONFIG",
              help="Training config: a YAML file, or a name from trainer/configs (needle-26m, needle-2m, needle-2m-r2, needle-tiny, needle-26m-cpu).")
@click.option("--resume", is_flag=True, help="Continue from the run's latest checkpoint.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Run directory (checkpoints, log.jsonl, curves.png). Default: the config's out_dir.")
@click.option("--minutes", default=None, type=click.FloatRange(min=0.1),
              help="Stop cleanly (with a checkpoint) after this many minutes.")
@click.option("--steps", "max_steps", default=None, type=click.IntRange(min=1),
              help="Stop after this global step (the schedule still spans the config's steps).")
@click.option("--export", "export_dir", default=None, type=click.Path(file_okay=False),
              help="Afterwards, write the best checkpoint as an INT4 weights folder here.")
def train(config_path: str, resume: bool, out_dir: str | None, minutes: float | None,
          max_steps: int | None, export_dir: str | None) -> None:
    """Train Needle with the data engine (pretraining, then post-training with INT4 QAT)."""
    import json

    config = _trainer_import("needle_trainer.config")
    try:
        cfg = config.load_config(config_path)
    except config.ConfigError as err:
        raise _BadInput(str(err)) from None
    if out_dir:
        cfg.out_dir = out_dir
    if minutes:
        cfg.minutes = minutes
    loop = _trainer_import("needle_trainer.loop")
    try:
        summary = loop.train(cfg, resume=resume, max_steps=max_steps)
    except FileExistsError as err:
        raise _BadInput(str(err)) from None
    click.echo(json.dumps({k: summary[k] for k in ("stop", "steps", "tokens", "tokens_per_s",
                                                   "best_int4_exact_match", "best_step")}))
    if export_dir:
        path = loop.export_best(cfg.out_dir, cfg, export_dir)
        click.echo(f"exported {path}")


# -------------------------------------------------------------------------------- finetune

@main.command()
@click.option("--tools", "tools_file", required=True, type=click.Path(dir_okay=False),
              help="The app's tools: a .py with TOOLS = [...], or a .json / .yaml list of schemas.")
@click.option("--data", "data_file", default=None, type=click.Path(dir_okay=False),
              help="Your own examples (JSONL: {query, calls} or the original Needle format); bad lines are skipped.")
@click.option("--examples-per-tool", default=300, show_default=True, type=click.IntRange(min=5),
              help="Synthesised single-call examples per tool (plus parallel and no-call ones).")
@click.option("--epochs", default=1.5, show_default=True, type=click.FloatRange(min=0.01),
              help="Passes over the training split (many distinct examples seen less often beat few seen often).")
@click.option("--lora-rank", default=None, type=click.IntRange(min=1),
              help="Train LoRA adapters of this rank on the attention projections instead of every weight.")
@click.option("--full", is_flag=True, help="Train every weight (the default; measured faster to learn, see README).")
@click.option("--freeze-encoder", is_flag=True,
              help="Train the decoder and embeddings only: each step skips the encoder's backward pass.")
@click.option("--minutes", default=20.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Time limit for the whole run: training gets what is left after making the data and scoring.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Output folder (default: finetuned/<tools file name>).")
@click.option("--base", default=None, help="Model to start from. " + MODEL_HELP)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--holdout", "holdout_file", default=None, type=click.Path(dir_okay=False),
              help="Hand-written {query, calls} JSONL, never trained on: scored for base and tuned in the report.")
@click.option("--eval-every", default=50, show_default=True, type=click.IntRange(min=1),
              help="Fewest steps between validations (more where validating would take over a tenth of the time).")
@click.option("--learning-rate", default=None, type=click.FloatRange(min=0, min_open=True),
              help="Peak learning rate (default: 2e-3).")
@click.option("--tool-subsets", default=0.75, show_default=True, type=click.FloatRange(0, 1),
              help="Share of training examples shown part of the registry, so more fit in a step (0: all whole).")
@click.option("--seed", default=0, show_default=True, type=int)
def finetune(tools_file: str, data_file: str | None, examples_per_tool: int, epochs: float, lora_rank: int | None,
             full: bool, freeze_encoder: bool, minutes: float, out_dir: str | None, base: str | None, resume: bool,
             holdout_file: str | None, eval_every: int, learning_rate: float | None, tool_subsets: float,
             seed: int) -> None:
    """Fine-tune the model on your own tools (synthesised examples + yours) on this machine."""
    from pathlib import Path

    from rich.console import Console

    from needle_router.tools import ToolSpecError, ToolsFileError, assign_internal_names, load_tools_file, to_tool_specs

    if full and lora_rank:
        raise _BadInput("--full and --lora-rank exclude each other: choose one")
    workflow = _trainer_import("needle_trainer.finetune.workflow")
    try:
        specs = assign_internal_names(to_tool_specs(load_tools_file(tools_file)))
    except (ToolsFileError, ToolSpecError) as err:
        raise _BadInput(f"{tools_file}: {err}") from None
    if not specs:
        raise _BadInput(f"{tools_file}: the tool list is empty")
    out = Path(out_dir or Path("finetuned") / Path(tools_file).stem)
    console = Console(stderr=True)
    try:
        report = workflow.run(specs, out, tools_file=tools_file, data_file=data_file, holdout_file=holdout_file,
                              per_tool=examples_per_tool, epochs=epochs, lora_rank=lora_rank,
                              freeze_encoder=freeze_encoder, minutes=minutes, base=base, resume=resume,
                              eval_every=eval_every, seed=seed, learning_rate=learning_rate,
                              tool_subsets=tool_subsets, console=console,
                              own_process=True)
    except workflow.FinetuneInputError as err:
        raise _BadInput(str(err)) from None
    workflow.print_summary(report, out, Console())


# ------------------------------------------------------------------------------------ eval

@main.command("eval")
@click.option("--suite", "-s", required=True, metavar="heldout|bfcl|FILE.jsonl",
              help="heldout: the synthetic held-out set (tools never trained on); bfcl: BFCL's "
                   "simple_python, multiple, parallel, parallel_multiple, irrelevance; or a JSONL "
                   "file of {query, tools, calls} lines.")
@click.option("--model", "-m", default=None, help=MODEL_HELP)
@click.option("--compare", "compare_model", default=None, metavar="OTHER",
              help="A second model (weights directory or preset) evaluated on the same cases.")
@click.option("--categories", "-c", default=None, help="Comma-separated categories to run (default: all).")
@click.option("--limit", "-n", default=None, type=click.IntRange(min=1), help="At most N cases per category.")
@click.option("--out", "-o", default=None, type=click.Path(dir_okay=False),
              help="Write the JSON report here (and the chart beside it as .png).")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False),
              help="Write the per-category accuracy chart here (PNG).")
@click.option("--heldout-n", default=500, show_default=True, type=click.IntRange(min=1),
              help="Size of the held-out suite.")
@click.option("--max-new-tokens", default=384, show_default=True, type=click.IntRange(16, 512),
              help="Answer budget per request (BFCL's longest reference answer takes 282 tokens).")
@click.option("--batch", "max_batch", default=None, type=click.IntRange(1, 128),
              help="Most requests decoded together (default: 1 on a CPU, 32 on an accelerator).")
@click.option("--worst", default=10, show_default=True, type=click.IntRange(min=0),
              help="How many of the worst failures to list.")
def eval_command(suite: str, model: str | None, compare_model: str | None, categories: str | None,
                 limit: int | None, out: str | None, plot_path: str | None, heldout_n: int,
                 max_new_tokens: int, max_batch: int | None, worst: int) -> None:
    """Evaluate a model on a suite: per-category accuracy, routing metrics, worst failures."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    suites = _trainer_import("needle_trainer.evaluation.suites")
    run = _trainer_import("needle_trainer.evaluation.run")
    report_mod = _trainer_import("needle_trainer.evaluation.report")
    bfcl = _trainer_import("needle_trainer.evaluation.bfcl")
    from needle_trainer.data.jsonl import DataFileError

    cats = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    try:
        label, cases = suites.load_suite(suite, cats, limit, heldout_n=heldout_n)
    except bfcl.BfclMissing as err:
        raise click.ClickException(str(err)) from None
    except (ValueError, FileNotFoundError, DataFileError) as err:
        raise _BadInput(str(err)) from None
    if not cases:
        raise _BadInput(f"--suite {suite}: no cases to evaluate")
    console = Console(stderr=True)
    reports = []
    from needle_router.engine import get_engine
    from needle_router.model.weights import WeightsError

    for which in [model] + ([compare_model] if compare_model else []):
        try:
            engine = get_engine(which)
        except WeightsError as err:
            raise click.ClickException(str(err)) from None
        if engine.loaded.untrained:
            console.print(f"[yellow]warning:[/yellow] {engine.loaded.label}")
        with Progress(TextColumn(f"routing {len(cases)} cases"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("", total=len(cases))
            reports.append(run.evaluate_model(engine, cases, label, max_new_tokens=max_new_tokens,
                                              max_batch=max_batch, worst=worst,
                                              progress=lambda k: bar.advance(task, k)))
    report = reports[0]
    if compare_model:
        report["compare"] = run.compare_summary(reports[1])
    report_mod.print_table(report, Console(width=None if sys.stdout.isatty() else 160))
    png = plot_path or (str(Path(out).with_suffix(".png")) if out else None)
    if out:
        report_mod.write_json(report, out)
        console.print(f"wrote {out}")
    if png:
        refs = list(report_mod.REFERENCE) if suite == "bfcl" else []
        report_mod.plot(report, png, references=refs)
        console.print(f"wrote {png}")


# ------------------------------------------------------------------------------- calibrate

@main.command("calibrate")
@click.option("--model", "-m", required=True, type=click.Path(file_okay=False, exists=True),
              help="Weights directory to calibrate (its config.json gains the decision and the mapping).")
@click.option("--n", "n_examples", default=600, show_default=True, type=click.IntRange(min=50),
              help="Examples to fit each part on (their own seeds, never the evaluation's).")
@click.option("--decision", "decision_kind", type=click.Choice(["match", "bias"]), default="match",
              show_default=True,
              help="match: the no-call offset also weighs how well the query matches the best bound tool "
                   "(retrieval head and BM25); bias: one offset for every query.")
@click.option("--bias-tools", type=click.Choice(["train", "unseen-api"]), default="train", show_default=True,
              help="Tools to fit the no-call decision on: training-split tools, or operations of held-out "
                   "real APIs that neither training nor evaluation uses.")
@click.option("--dry-run", is_flag=True, help="Fit and print, but leave the weights folder as it is.")
def calibrate(model: str, n_examples: int, decision_kind: str, bias_tools: str, dry_run: bool) -> None:
    """Fit the no-call decision (on training-split tools, or with --bias-tools unseen-api on
    held-out real APIs), then the confidence mapping to P(answer is right) (on held-out tools);
    store both with the weights."""
    from rich.console import Console

    from needle_router.engine import get_engine
    from needle_router.model.weights import WeightsError, update_metadata

    cal = _trainer_import("needle_trainer.evaluation.calibration")
    dec = _trainer_import("needle_trainer.evaluation.decision")
    try:
        engine = get_engine(model)
    except WeightsError as err:
        raise click.ClickException(str(err)) from None
    console = Console()
    try:
        examples = dec.decision_examples(n_examples, tools=bias_tools)
        fitted_decision = dec.fit_no_call_decision(dec.decision_outcomes(engine, examples),
                                                   use_match=decision_kind == "match")
    except ValueError as err:
        raise click.ClickException(f"{model}: {err}") from None
    where = "training-split-tool" if bias_tools == "train" else "unseen-API"
    console.print(f"{fitted_decision.describe()} ({where})")
    with dec.decoding_with(engine, fitted_decision.decision):
        raw, right = cal.raw_outcomes(engine, n_examples)
    try:
        fitted = cal.fit_platt(raw, right)
    except ValueError as err:
        raise click.ClickException(f"{model}: {err}") from None
    before, after = cal.reliability(raw, right), cal.reliability([fitted.apply(r) for r in raw], right)
    for line in cal.reliability_lines(before, "raw") + [""] + cal.reliability_lines(after, "calibrated"):
        console.print(line)
    console.print(f"mapping: sigmoid({fitted.a:.4f} * logit(raw) + {fitted.b:.4f}); "
                  f"{sum(right)}/{len(right)} answers right")
    if not dry_run:
        update_metadata(model, {
            "decision": fitted_decision.metadata(seed=dec.DECISION_SEED, tools=bias_tools),
            "calibration": fitted.to_metadata(
                n=len(raw), seed=cal.CALIBRATION_SEED, ece_before=before["ece"], ece_after=after["ece"]),
        })
        console.print(f"wrote the no-call decision and the calibration into {model}/config.json")


# ----------------------------------------------------------------------- serve, playground

from needle_router.server.commands import playground, serve  # noqa: E402

main.add_command(serve)
main.add_command(playground)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
