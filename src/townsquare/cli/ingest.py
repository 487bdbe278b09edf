"""`townsquare ingest PATH`: store a file's posts; bad records go to the quarantine (see `townsquare quarantine`)."""

from __future__ import annotations

from pathlib import Path

import typer

from townsquare.cli import app, console
from townsquare.errors import BadInput
from townsquare.ingest import FORMATS, ingest_path

out = console(highlight=False, soft_wrap=True)
_SHOWN_REASONS = 5


def parse_mappings(pairs: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise BadInput("--map", f'"{pair}" is not FIELD=COLUMN', "write e.g. --map text=content --map id=tweet_id")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command("ingest")
def ingest(
    path: Path = typer.Argument(..., help="A file: .jsonl/.ndjson, .json, .csv/.tsv, .parquet (optionally .gz)."),
    fmt: str = typer.Option("auto", "--format", "-f",
                            help=f"One of: {', '.join(FORMATS)}. auto looks at the extension and the first records."),
    maps: list[str] = typer.Option(None, "--map", "-m", metavar="FIELD=COLUMN",
                                   help="Generic files: read FIELD from COLUMN, e.g. --map text=content "
                                        "--map id=tweet_id. Fields: id, text, author, created_at, lang, platform, "
                                        "reply_to, quote_of, repost_of, likes, reposts, replies, quotes, views."),
    platform: str = typer.Option(None, "--platform", "-p",
                                 help="Store posts under this platform name (generic default: a `platform` column, "
                                      "else 'generic'; e.g. mastodon.social for one Mastodon server)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on a terminal."),
) -> None:
    """Ingest posts from a file. Re-ingesting the same file changes nothing; bad records are quarantined."""
    report = ingest_path(path, fmt, mapping=parse_mappings(maps), platform=platform, progress=progress)
    out.print(report.summary())
    if report.skipped:
        out.print(f"skipped {report.skipped} response(s) holding no post (API errors, tokens, profiles)")
    if report.quarantined:
        for reason in report.reasons[:_SHOWN_REASONS]:
            out.print(f"  quarantined {reason}")
        if report.quarantined > _SHOWN_REASONS:
            out.print(f"  … and {report.quarantined - _SHOWN_REASONS} more")
        out.print("see them with `townsquare quarantine list`; fix the cause and run `townsquare quarantine retry --all`")
