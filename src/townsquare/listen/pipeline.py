"""What a stream consumer does with a batch of messages, in order:

1. parse each record with its format's reader and store it (bad records go to the quarantine, with the reason);
2. analyse the posts that have no analysis yet (embeddings stored once, reused on redelivery);
3. match them against every watch (keywords, then embedding similarity);
4. in ONE transaction: record the matches (primary key (watch, post): a redelivered post is not recounted), add
   them to the 1/5/60-minute aggregates, and move the stream's watermark;
5. score the buckets the watermark has closed, per watch, and raise alerts (see `monitor`).

Only then does the consumer acknowledge the messages. A crash anywhere before that leaves them pending; whoever
processes them again finds the posts stored and the matches counted, and counts nothing twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, func, select

from townsquare.config import get_settings
from townsquare.ingest.formats import READERS
from townsquare.ingest.formats.common import raw_json
from townsquare.ingest.items import Context, IngestReport, Parsed, Rejected
from townsquare.ingest.writer import Writer
from townsquare.listen.aggregate import Counted, add_counts
from townsquare.listen.watches import Matcher, build_matcher, list_watches
from townsquare.store import Store
from townsquare.store.tables import (
    AnalysisRow,
    AuthorRow,
    EmbeddingRow,
    PostRow,
    StreamStateRow,
    WatchMatchRow,
)

SOURCE = "stream"


@dataclass
class BatchResult:
    messages: int = 0
    stored: int = 0
    quarantined: int = 0
    matched: int = 0  # newly counted (watch, post) pairs
    alerts: list[int] = field(default_factory=list)  # ids of alerts raised


def message(record: dict, fmt: str = "generic") -> dict:
    """The body of one stream message."""
    return {"format": fmt, "record": record}


class ListenPipeline:
    """Stores, analyses, matches, counts and scores batches of stream messages. One per consumer."""

    def __init__(self, store: Store | None = None, analyzer=None, *, on_alert: Callable[[int], None] | None = None):
        self.store = store or Store()
        self._analyzer = analyzer
        self.on_alert = on_alert
        self._matcher: Matcher | None = None
        self._matcher_key: tuple | None = None
        self._lock = threading.Lock()

    @property
    def analyzer(self):
        if self._analyzer is None:
            from townsquare.understand.batch import get_analyzer

            self._analyzer = get_analyzer()
        return self._analyzer

    def matcher(self) -> Matcher:
        """Watches are re-read every batch (a few rows) and re-embedded only when they changed."""
        watches = list_watches(self.store)
        key = tuple((w.id, w.semantic_text, tuple(w.keywords), tuple(w.langs), w.similarity) for w in watches)
        if key != self._matcher_key:
            self._matcher = build_matcher(self.store, self.analyzer.embed)
            self._matcher_key = key
        return self._matcher

    def process(self, bodies: list[dict]) -> BatchResult:
        with self._lock:
            result = BatchResult(messages=len(bodies))
            return self._process_keys(self._store_posts(bodies, result), result)

    def process_stored(self, keys: list[tuple[str, str]]) -> BatchResult:
        """Run steps 2-5 over posts already in the store (a backfill), by (platform, platform id)."""
        with self._lock:
            return self._process_keys(keys, BatchResult(messages=len(keys), stored=len(keys)))

    def _process_keys(self, keys: list[tuple[str, str]], result: BatchResult) -> BatchResult:
        if keys:
            rows = self._rows(keys)
            emb, results = self._analysed(rows)
            self._count(rows, emb, results, result)
        from townsquare.listen.monitor import advance

        result.alerts = advance(self.store, on_alert=self.on_alert)
        return result

    # 1. parse and store ------------------------------------------------------------------------------------
    def _store_posts(self, bodies: list[dict], result: BatchResult) -> list[tuple[str, str]]:
        settings = get_settings()
        ctx = Context(max_chars=settings.max_text_chars, reference_time=datetime.now(UTC))
        by_format: dict[str, list] = {}
        for n, body in enumerate(bodies, 1):
            fmt = body.get("format", "generic") if isinstance(body, dict) else None
            record = body.get("record") if isinstance(body, dict) else None
            loc = f"message {n}"
            if fmt not in READERS:
                by_format.setdefault("generic", []).append(Rejected(
                    loc, raw_json(body), f"format: {fmt!r} is not a record format — use one of {', '.join(READERS)}"))
                continue
            if record is None:
                by_format.setdefault(fmt, []).append(Rejected(
                    loc, raw_json(body), "record: the message has no record — send {\"record\": {...post...}}"))
                continue
            by_format.setdefault(fmt, []).extend(READERS[fmt].parse(record, ctx, loc))
        keys: list[tuple[str, str]] = []
        for fmt, items in by_format.items():
            report = IngestReport(source=SOURCE, format=fmt)
            stored: list[tuple[str, str]] = []
            writer = Writer(self.store, report, source=SOURCE, fmt=fmt, batch_size=len(items) + 1,
                            on_outcome=lambda tag, reason, s=stored: s.append(tag) if reason is None else None)
            with writer:
                for item in items:
                    tag = (item.post.platform, item.post.platform_id) if isinstance(item, Parsed) else None
                    writer.add(item, tag)
                writer.flush()
            result.stored += report.stored
            result.quarantined += report.quarantined
            keys.extend(stored)
        return list(dict.fromkeys(keys))

    # 2. analyse ---------------------------------------------------------------------------------------------
    def _rows(self, keys: list[tuple[str, str]]):
        ids = self.store.post_ids(keys)
        p, a, e, u = PostRow.__table__.c, AnalysisRow.__table__.c, EmbeddingRow.__table__.c, AuthorRow.__table__.c
        q = (select(p.id, p.text, p.lang, p.created_at, u.handle, u.platform_id.label("author_key"), u.followers,
                    a.version, a.sentiment, a.lang.label("found_lang"), e.vector)
             .select_from(PostRow.__table__.outerjoin(AuthorRow.__table__, u.id == p.author_id)
                          .outerjoin(AnalysisRow.__table__, a.post_id == p.id)
                          .outerjoin(EmbeddingRow.__table__,
                                     (e.post_id == p.id) & (e.model == self.analyzer.embedder.name)))
             .where(p.id.in_(list(ids.values()))).order_by(p.id))
        with self.store.engine.connect() as conn:
            return conn.execute(q).all()

    def _analysed(self, rows) -> tuple[np.ndarray, list[dict]]:
        """Embeddings and results for every row; only rows without a current analysis go through the models."""
        from townsquare.understand.batch import analyze_rows, heads_version

        version = heads_version()
        todo = [i for i, r in enumerate(rows) if r.version != version or r.vector is None]
        results: list[dict] = [{"lang": r.found_lang, "sentiment": {"label": r.sentiment}} for r in rows]
        fresh_emb, fresh = (analyze_rows(self.store, [rows[i] for i in todo], self.analyzer, version)
                            if todo else (None, []))
        row_of = {i: j for j, i in enumerate(todo)}
        emb = np.stack([fresh_emb[row_of[i]] if i in row_of else np.frombuffer(r.vector, dtype=np.float32)
                        for i, r in enumerate(rows)])
        for j, i in enumerate(todo):
            results[i] = fresh[j]
        return emb, results

    # 3-4. match and count ----------------------------------------------------------------------------------
    def _count(self, rows, emb: np.ndarray, results: list[dict], result: BatchResult) -> None:
        matcher = self.matcher()
        langs = [res.get("lang") or r.lang for r, res in zip(rows, results, strict=True)]
        matches = matcher.match([r.text for r in rows], langs, [r.handle or "" for r in rows], emb)
        newest = max(r.created_at for r in rows)
        store = self.store
        with store.engine.begin() as conn:
            counted: list[Counted] = []
            if matches:
                table = WatchMatchRow.__table__
                stmt = (store.insert(table).on_conflict_do_nothing()
                        .returning(table.c.watch_id, table.c.post_id))
                params = sorted(({"watch_id": m.watch_id, "post_id": rows[m.index].id,
                                  "created_at": rows[m.index].created_at, "how": m.how,
                                  "similarity": round(m.similarity, 4)} for m in matches),
                                key=lambda d: (d["watch_id"], d["post_id"]))
                fresh = {(x.watch_id, x.post_id) for x in conn.execute(stmt, params).all()}
                by_id = {r.id: (r, res) for r, res in zip(rows, results, strict=True)}
                for w, pid in sorted(fresh):
                    r, res = by_id[pid]
                    counted.append(Counted(w, r.created_at, (res.get("sentiment") or {}).get("label"), r.text,
                                           res.get("lang") or r.lang, r.handle or r.author_key or "",
                                           int(r.followers or 0)))
                add_counts(conn, store, counted)
            result.matched += len(counted)
            _move_watermark(conn, store, newest)


def _move_watermark(conn, store: Store, at: datetime) -> None:
    table = StreamStateRow.__table__
    stmt = store.insert(table).values(key="watermark", at=at)
    greatest = func.max if store.engine.dialect.name == "sqlite" else func.greatest
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                            set_={"at": greatest(table.c.at, stmt.excluded.at)}))


def reset_watermark(store: Store) -> None:
    """Forget how far the stream has got, for a replay of the past: with the mark left at the end of an earlier
    replay, every bucket of the replayed range would close empty before its posts came back."""
    with store.engine.begin() as conn:
        conn.execute(delete(StreamStateRow.__table__).where(StreamStateRow.__table__.c.key == "watermark"))


def watermark(store: Store) -> datetime | None:
    with store.engine.connect() as conn:
        return conn.execute(select(StreamStateRow.__table__.c.at)
                            .where(StreamStateRow.__table__.c.key == "watermark")).scalar()
