"""Parse quarantined records again, with each record's own format: after a setting changed (a higher text limit),
after the missing author was ingested, or after a parser fix. Success stores the post and marks the record
resolved; failure counts an attempt and keeps the new reason."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from townsquare.config import get_settings
from townsquare.errors import NotFound
from townsquare.ingest.formats import READERS, generic
from townsquare.ingest.items import Context, IngestReport, Item, Rejected
from townsquare.ingest.pipeline import split_label
from townsquare.ingest.sources import decode_json, iter_csv
from townsquare.ingest.writer import Writer
from townsquare.store import Store

_PAGE = 500
_GENERIC_LABELS = {"jsonl", "json", "parquet", "generic"}


@dataclass
class RetryReport:
    tried: int = 0
    resolved: int = 0
    still_open: int = 0
    outcomes: list[tuple[int, str | None]] = field(default_factory=list)  # (id, None if resolved else reason)

    def summary(self) -> str:
        return f"retried {self.tried}: resolved {self.resolved}, still quarantined {self.still_open}"


def retry_quarantined(ids: Iterable[int] | None = None, *, store: Store | None = None) -> RetryReport:
    """Retry the given quarantine ids, or every open record when `ids` is None."""
    store = store or Store()
    report = RetryReport()
    if ids is not None:
        rows = []
        for record_id in ids:
            row = store.get_quarantine(record_id)
            if row is None:
                raise NotFound(f"quarantine: no record {record_id} — see the ids with `townsquare quarantine list`")
            if row["status"] == "open":
                rows.append(row)
        _retry_rows(rows, store, report)
        return report
    offset = 0
    while rows := store.list_quarantine(status="open", limit=_PAGE, offset=offset):
        before = report.still_open
        _retry_rows(rows, store, report)
        offset += report.still_open - before  # resolved rows leave the open list; failed ones stay ahead
    return report


def _retry_rows(rows: list[dict], store: Store, report: RetryReport) -> None:
    failed: dict[int, str] = {}
    stored: set[int] = set()

    def outcome(tag, reason):
        if reason is None:
            stored.add(tag)
        else:
            failed.setdefault(tag, reason)

    settings = get_settings()
    writer = Writer(store, IngestReport(), source="retry", fmt="", batch_size=settings.ingest_batch_size,
                    quarantine=False, on_outcome=outcome)
    with writer:
        for row in rows:
            for item in _items(row, settings.max_text_chars):
                writer.add(item, tag=row["id"])
        writer.flush()
    for row in rows:
        rid = row["id"]
        reason = failed.get(rid) or (None if rid in stored else "no record found in the raw data — nothing to store")
        store.mark_quarantine(rid, resolved=reason is None, reason=reason)
        report.tried += 1
        report.outcomes.append((rid, reason))
        if reason is None:
            report.resolved += 1
        else:
            report.still_open += 1


def _items(row: dict, max_chars: int) -> Iterator[Item]:
    fmt, platform = split_label(row["format"] or "jsonl")
    created = row.get("created_at") or datetime.now(UTC)
    ctx = Context(max_chars=max_chars, reference_time=created.replace(tzinfo=UTC) if created.tzinfo is None
                  else created, platform=platform)
    loc, raw = row["location"] or f"quarantine {row['id']}", bytes(row["raw"] or b"")
    if fmt in ("csv", "tsv") and not raw.startswith(b"{"):
        # Unreadable CSV rows keep their original bytes (header + row); rows that failed validation are kept as
        # JSON objects of column -> value, which the generic reader below takes.
        for value, _ in iter_csv(io.BytesIO(raw), "\t" if fmt == "tsv" else ","):
            yield value if isinstance(value, Rejected) else generic.record(value, ctx, loc)
        return
    reader = generic if fmt in _GENERIC_LABELS or fmt in ("csv", "tsv") else READERS.get(fmt)
    if reader is None:
        yield Rejected(loc, raw, f"format: {fmt!r} is not a known format — this record cannot be retried")
        return
    value = decode_json(raw, loc)
    if isinstance(value, Rejected):
        yield value
    else:
        yield from reader.parse(value, ctx, loc)
