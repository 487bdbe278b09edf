"""Batched writes: authors, then posts, then the quarantine, one batch at a time (constant memory).

Every item added is counted once in `report.read` and ends as stored or quarantined, so that
`read == stored + quarantined` whatever happens to it.

A batch is written on one background thread while the caller parses the next one: the database driver releases
the GIL while SQLite/PostgreSQL work, so reading and writing overlap on two cores. At most one batch is in flight
(back-pressure keeps memory constant), and a failed write is raised to the caller at the next batch or at `flush`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from townsquare.ingest.items import IngestReport, Item, Parsed, Rejected
from townsquare.store import QuarantinedRecord, Store

_FIRST_ANALYZE = 20_000  # posts written before the first statistics refresh; then at every doubling
_AUTHOR_CACHE = 200_000  # (platform, author id) -> row id pairs kept between batches (~40 MB at most)

# Called once per added item after its batch is written: (tag, None when stored else the reason).
Outcome = Callable[[object, str | None], None]


def unresolved_reason(author_id: str) -> str:
    return (f"author_id: {author_id} not found in includes.users — request tweets with expansions=author_id, "
            f"or ingest that user and retry")


class Writer:
    """Collects items and writes them in batches of `batch_size`."""

    def __init__(self, store: Store, report: IngestReport, *, source: str, fmt: str, batch_size: int,
                 quarantine: bool = True, on_outcome: Outcome | None = None):
        self.store, self.report = store, report
        self.source, self.fmt = source, fmt
        self.batch_size = max(1, batch_size)
        self.quarantine = quarantine  # False for retries: the quarantined row is updated instead
        self.on_outcome = on_outcome
        self._parsed: list[tuple[Parsed, object]] = []
        # Author row ids never change, so ids learned in one batch serve the next ones (bounded memory).
        self._author_ids: dict[tuple[str, str], int] = {}
        self._rejected: list[tuple[Rejected, object]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._written, self._next_analyze = 0, _FIRST_ANALYZE
        self._pending: Future | None = None

    def add(self, item: Item, tag: object = None) -> None:
        self.report.read += 1
        if isinstance(item, Parsed):
            self._parsed.append((item, tag))
        else:
            self._rejected.append((item, tag))
        if len(self._parsed) + len(self._rejected) >= self.batch_size:
            self._submit()

    def flush(self) -> None:
        """Write everything added so far and wait for it; raises what a write raised."""
        self._submit()
        self._wait()

    def close(self) -> None:
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _submit(self) -> None:
        parsed, rejected = self._parsed, self._rejected
        if not parsed and not rejected:
            return
        self._parsed, self._rejected = [], []
        self._wait()  # one batch in flight at most
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="townsquare-ingest")
        self._pending = self._pool.submit(self._write, parsed, rejected)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _write(self, parsed: list[tuple[Parsed, object]], rejected: list[tuple[Rejected, object]]) -> None:
        if parsed:
            rejected += self._write_posts(parsed)
        if rejected:
            self._write_rejected(rejected)

    def _write_posts(self, parsed: list[tuple[Parsed, object]]) -> list[tuple[Rejected, object]]:
        store, cache = self.store, self._author_ids
        profiles, known_only, pending = [], set(), set()
        for p, _ in parsed:  # one pass: this runs for every post
            if p.author is not None:
                profiles.append(p.author)
            elif p.unresolved:
                pending.add((p.post.platform, p.post.author_id))
            elif p.post.author_id:
                known_only.add((p.post.platform, p.post.author_id))
        ids = store.upsert_authors(profiles) if profiles else {}
        if known_only:
            ids |= {k: cache[k] for k in known_only & cache.keys()}
            missing = known_only - ids.keys()
            if missing:
                ids |= store.ensure_authors(missing)
        if pending - ids.keys():
            ids |= store.author_ids(pending - ids.keys())
        if len(cache) + len(ids) > _AUTHOR_CACHE:
            cache.clear()
        cache.update(ids)
        keep, rejected = parsed, []
        if pending:
            keep = []
            for p, tag in parsed:
                if p.unresolved and (p.post.platform, p.post.author_id) not in ids:
                    rejected.append((Rejected(p.location, p.raw or b"", unresolved_reason(p.post.author_id)), tag))
                else:
                    keep.append((p, tag))
        if keep:
            counts = store.upsert_posts([p.post for p, _ in keep], ids)
            self.report.new += counts.new
            self.report.updated += counts.updated
            self.report.unchanged += counts.unchanged
            self._written += counts.new + counts.updated
            if self._written >= self._next_analyze:  # log2(N) cheap refreshes keep lookups on the index
                store.refresh_statistics()
                self._next_analyze *= 2
            if self.on_outcome:
                for _, tag in keep:
                    self.on_outcome(tag, None)
        return rejected

    def _write_rejected(self, rejected: list[tuple[Rejected, object]]) -> None:
        self.report.quarantined += len(rejected)
        for r, tag in rejected:
            self.report.note_reason(r.location, r.reason)
            if self.on_outcome:
                self.on_outcome(tag, r.reason)
        if self.quarantine:
            # Re-ingesting a file must not quarantine the same record twice.
            known = self.store.open_quarantine_keys(self.source, [r.location[:64] for r, _ in rejected])
            self.store.quarantine([QuarantinedRecord(source=self.source, location=r.location[:64], format=self.fmt,
                                                     raw=r.raw, reason=r.reason)
                                   for r, _ in rejected if (r.location[:64], r.raw) not in known])
