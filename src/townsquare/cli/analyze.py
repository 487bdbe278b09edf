"""`townsquare analyze`: sentiment, emotion, offensive/hate/toxicity, irony, crisis relevance, language and PII."""

from __future__ import annotations

import os

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from townsquare.cli import app, console
from townsquare.cli.files import is_stdio, open_input, open_output, shown, status_console
from townsquare.errors import BadInput

out = console(stderr=True)


def _progress(total: int | None, label: str, unit_bytes: bool) -> Progress:
    cols = [TextColumn(label), BarColumn()]
    cols += [DownloadColumn()] if unit_bytes else [TextColumn("{task.completed:,}/{task.total:,} posts")]
    return Progress(*cols, TimeRemainingColumn(), console=out, disable=not out.is_terminal, transient=True)


@app.command("analyze")
def analyze(
    input: str | None = typer.Option(None, "--input", "-i", help="JSONL with `id`, `text` (optional `lang`), - for standard "
                                      "input; with --engine ray: a Parquet file, folder or glob."),
    output: str | None = typer.Option(None, "--output", "-o", help="Where to write: a JSONL file, - for standard output (a "
                                       "folder for ray)."),
    store: bool = typer.Option(False, "--store", help="Analyse the posts in the store that have no analysis yet."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="With --store: at most this many posts."),
    engine: str = typer.Option("local", "--engine", help="local (this process) or ray (a Ray Data job)."),
    address: str | None = typer.Option(None, "--address", help="With --engine ray: a Ray cluster, e.g. ray://head:10001."),
    workers: int = typer.Option(2, "--workers", min=1, help="With --engine ray: model-holding actors."),
) -> None:
    """Analyse posts from a file (one output line per input line, same order) or in the store."""
    if store == (input is not None):
        raise BadInput("--input/--store", "give exactly one of them",
                       "e.g. townsquare analyze --input posts.jsonl --output scored.jsonl, or --store")
    if engine not in ("local", "ray"):
        raise BadInput("--engine", f"unknown engine {engine!r}", "use local or ray")
    if engine == "local" and address:  # a cluster address would otherwise be ignored without a word
        raise BadInput("--address", "is only used with --engine ray", "add --engine ray, or leave --address out")
    if store:
        from townsquare.store import Store
        from townsquare.understand.batch import analyze_store

        st = Store()
        with _progress(limit, "analysing stored posts", unit_bytes=False) as bar:
            task = bar.add_task("", total=limit)
            report = analyze_store(st, limit=limit, on_progress=lambda n: bar.advance(task, n))
        typer.echo(f"analysed {report['analysed']:,} posts (heads {report['version']})")
        return
    if output is None:
        raise BadInput("--output", "missing", "name the file (or, for ray, the folder) to write the results to")
    if engine == "ray":
        from townsquare.scale.analyze import analyze_parquet_with_ray

        # Plain strings: Path would turn s3://bucket/x into s3:/bucket/x.
        report = analyze_parquet_with_ray(input, output, address=address, workers=workers)
        typer.echo(f"analysed {report['rows']:,} rows into {output}")
        return
    from townsquare.understand.batch import analyze_jsonl, check_first_line

    fix = "give a JSONL file with `id` and `text` per line, or - for standard input"
    name = "standard input" if is_stdio(input) else input
    with open_input(input, binary=True, fix=fix) as src:
        if src.seekable():  # a file: a CSV is refused before the output is created (or an old one emptied)
            start = src.tell()
            first = next((raw for raw in src if raw.strip()), b"")
            if first:
                check_first_line(first, name)
            src.seek(start)
        with open_output(output, binary=True, example="scored.jsonl") as dst:
            total = None if is_stdio(input) else os.fstat(src.fileno()).st_size
            with _progress(total, "analysing", unit_bytes=True) as bar:
                task = bar.add_task("", total=total)
                counts = analyze_jsonl(src, dst, on_progress=lambda n: bar.advance(task, n), name=name)
    status_console(output, console(highlight=False, soft_wrap=True)).print(
        f"read {counts['lines']:,} lines, analysed {counts['analysed']:,}, errors {counts['errors']:,} -> {shown(output)}")
