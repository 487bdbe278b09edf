"""`townsquare quarantine list|show|retry`: inspect records that could not be stored, and retry them."""

from __future__ import annotations

import typer
from rich.table import Table

from townsquare.cli import app, console
from townsquare.errors import BadInput, NotFound
from townsquare.ingest import retry_quarantined
from townsquare.store import Store

quarantine_app = typer.Typer(help="Records that could not be stored: list, show, retry.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
out = console(highlight=False, soft_wrap=True)


@quarantine_app.command("list")
def list_records(
    all_: bool = typer.Option(False, "--all", help="Include resolved records."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many records to show."),
) -> None:
    """Quarantined records, oldest first: id, source, location, reason."""
    store = Store()
    status = None if all_ else "open"
    rows = store.list_quarantine(status=status, limit=limit)
    total = store.count_quarantine(status)
    if not rows:
        out.print("the quarantine is empty" if all_ else "no open records in the quarantine")
        return
    table = Table("id", "source", "location", "reason", *(["status", "attempts"] if all_ else []),
                  show_lines=False, expand=False)
    for r in rows:
        extra = [r["status"], str(r["attempts"])] if all_ else []
        table.add_row(str(r["id"]), _short(r["source"], 40), r["location"], r["reason"], *extra)
    out.print(table)
    if total > len(rows):
        out.print(f"showing {len(rows)} of {total}; use --limit to see more")


@quarantine_app.command("show")
def show(record_id: int = typer.Argument(..., help="The id from `townsquare quarantine list`.")) -> None:
    """One record: where it came from, why it was quarantined, and its raw content."""
    row = Store().get_quarantine(record_id)
    if row is None:
        raise NotFound(f"quarantine: no record {record_id} — see the ids with `townsquare quarantine list`")
    out.print(f"id:       {row['id']} ({row['status']}, {row['attempts']} retries)")
    out.print(f"source:   {row['source']}")
    out.print(f"location: {row['location']}")
    out.print(f"format:   {row['format']}")
    out.print(f"received: {row['created_at']:%Y-%m-%d %H:%M:%S} UTC")
    out.print(f"reason:   {row['reason']}")
    out.print("raw:")
    out.print(bytes(row["raw"] or b"").decode("utf-8", errors="replace"))


@quarantine_app.command("retry")
def retry(
    ids: list[int] = typer.Argument(None, help="Record ids to retry."),
    all_: bool = typer.Option(False, "--all", help="Retry every open record."),
) -> None:
    """Parse records again with their format (after fixing a setting, ingesting missing authors, ...).
    Success stores the post and marks the record resolved; failure keeps it with the new reason."""
    if not ids and not all_:
        raise BadInput("retry", "no record given", "name ids (townsquare quarantine retry 3 7) or pass --all")
    report = retry_quarantined(None if all_ else ids)
    for rid, reason in report.outcomes[:20]:
        out.print(f"  {rid}: {'stored' if reason is None else reason}")
    out.print(report.summary())


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else "…" + s[-(n - 1):]
