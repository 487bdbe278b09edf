"""The store's one entry point for the rest of the platform: batched upserts and simple queries.

Writes are batched Core statements (not ORM objects) so ingestion stays fast; the same code runs on
SQLite and PostgreSQL through each dialect's `INSERT ... ON CONFLICT`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from townsquare.schema import Author, Follow, Interaction, Post
from townsquare.store.db import get_engine
from townsquare.store.tables import (
    AuthorRow,
    FollowRow,
    InteractionRow,
    PostRow,
    QuarantineRow,
)

# Keeps every statement well under SQLite's bound-parameter limit (32,766).
_CHUNK = 2_000

# SQLite post upserts go straight to the driver's executemany: SQLAlchemy's per-row parameter processing cost more
# than SQLite's insert itself (24 vs 9 µs a row). Values use SQLAlchemy's own SQLite formats, so reads are unchanged.
_POST_COLS = ("platform", "platform_id", "author_id", "text", "lang", "created_at", "reply_to", "quote_of",
              "repost_of", "metrics", "content_hash", "ingested_at")
_SQLITE_POST_UPSERT = (
    f"INSERT INTO posts ({', '.join(_POST_COLS)}) VALUES ({', '.join('?' * len(_POST_COLS))}) "
    "ON CONFLICT (platform, platform_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _POST_COLS[2:])
)


def _sqlite_post_row(r: dict, now: str) -> tuple:
    return (r["platform"], r["platform_id"], r["author_id"], r["text"], r["lang"],
            r["created_at"].isoformat(" ", "microseconds"), r["reply_to"], r["quote_of"], r["repost_of"],
            orjson.dumps(r["metrics"]).decode(), r["content_hash"], now)


def utc_naive(ts: datetime | None) -> datetime | None:
    """Times are stored as naive UTC; aware times are converted, naive ones are taken as UTC."""
    if ts is None or ts.tzinfo is None:
        return ts
    return ts.astimezone(UTC).replace(tzinfo=None)


def _keys_in(c, keys: Iterable[tuple[str, str]]):
    """`(platform, platform_id) IN keys`, grouped by platform: SQLite scans the whole table for a row-value IN."""
    by_platform: dict[str, list[str]] = {}
    for platform, pid in keys:
        by_platform.setdefault(platform, []).append(pid)
    return or_(*(and_(c.platform == p, c.platform_id.in_(ids)) for p, ids in by_platform.items()))


def _chunks(seq: Sequence, n: int = _CHUNK):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def post_content_hash(p: Post, author_key: int | None) -> str:
    payload = orjson.dumps(
        [p.text, author_key, p.lang, p.created_at.isoformat(), p.reply_to, p.quote_of, p.repost_of, p.metrics],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


@dataclass
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def stored(self) -> int:
        return self.new + self.updated + self.unchanged

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass
class QuarantinedRecord:
    source: str
    location: str
    format: str
    raw: bytes
    reason: str


class Store:
    """Batched access to posts, authors, interactions, follows and the quarantine."""

    def __init__(self, engine: Engine | None = None):
        self.engine = engine or get_engine()
        self._dialect = self.engine.dialect.name

    def insert(self, table):
        """`INSERT` for this dialect, with `on_conflict_do_update`/`do_nothing` (SQLite and PostgreSQL alike)."""
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    # ---- authors -------------------------------------------------------------------------------
    def upsert_authors(self, authors: Iterable[Author]) -> dict[tuple[str, str], int]:
        """Insert or update authors; returns {(platform, platform_id): row id}."""
        latest: dict[tuple[str, str], Author] = {(a.platform, a.platform_id): a for a in authors}
        if not latest:
            return {}
        rows = [
            {
                "platform": a.platform,
                "platform_id": a.platform_id,
                "handle": a.handle or "",
                "display_name": a.display_name or "",
                "followers": int(a.followers or 0),
                "created_at": utc_naive(a.created_at),
                "bio": a.bio or "",
                "extra": a.extra or {},
            }
            for a in latest.values()
        ]
        table = AuthorRow.__table__
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                stmt = self.insert(table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["platform", "platform_id"],
                    set_={c: stmt.excluded[c] for c in ("handle", "display_name", "followers", "bio", "extra")}
                    | {"created_at": func.coalesce(stmt.excluded.created_at, table.c.created_at)},
                )
                conn.execute(stmt, chunk)
        return self.author_ids(latest.keys())

    def ensure_authors(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Ids for authors known only by key (e.g. a generic file's `author` column); creates missing ones."""
        keys = list(dict.fromkeys(keys))
        found = self.author_ids(keys)
        missing = [k for k in keys if k not in found]
        if missing:
            table = AuthorRow.__table__
            rows = [
                {"platform": p, "platform_id": pid, "handle": pid, "display_name": "", "followers": 0,
                 "bio": "", "extra": {}}
                for p, pid in missing
            ]
            with self.engine.begin() as conn:
                for chunk in _chunks(rows):
                    conn.execute(self.insert(table).on_conflict_do_nothing(), chunk)
            found |= self.author_ids(missing)
        return found

    def author_ids(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        keys = list(keys)
        out: dict[tuple[str, str], int] = {}
        c = AuthorRow.__table__.c
        with self.engine.connect() as conn:
            for chunk in _chunks(keys, 1_000):
                q = select(c.platform, c.platform_id, c.id).where(_keys_in(c, chunk))
                out.update({(p, pid): i for p, pid, i in conn.execute(q)})
        return out

    # ---- posts ---------------------------------------------------------------------------------
    def upsert_posts(self, posts: Sequence[Post], author_ids: dict[tuple[str, str], int]) -> UpsertCounts:
        """Idempotent upsert on (platform, platform_id). Unchanged posts are not rewritten.

        `author_ids` maps (platform, author platform id) to author row ids; see `upsert_authors`.
        """
        counts = UpsertCounts()
        latest: dict[tuple[str, str], Post] = {(p.platform, p.platform_id): p for p in posts}
        counts.unchanged += len(posts) - len(latest)  # repeats inside one batch: the last one wins
        if not latest:
            return counts
        now = datetime.now(UTC).replace(tzinfo=None)
        table = PostRow.__table__
        with self.engine.begin() as conn:
            items = list(latest.items())
            for chunk in _chunks(items, 1_000):
                existing = self._content_hashes(conn, [k for k, _ in chunk])
                rows = []
                for (platform, pid), p in chunk:
                    author_key = author_ids.get((platform, p.author_id)) if p.author_id else None
                    h = post_content_hash(p, author_key)
                    old = existing.get((platform, pid))
                    if old == h:
                        counts.unchanged += 1
                        continue
                    if old is None:
                        counts.new += 1
                    else:
                        counts.updated += 1
                    rows.append(
                        {
                            "platform": platform,
                            "platform_id": pid,
                            "author_id": author_key,
                            "text": p.text,
                            "lang": p.lang,
                            "created_at": utc_naive(p.created_at),
                            "reply_to": p.reply_to,
                            "quote_of": p.quote_of,
                            "repost_of": p.repost_of,
                            "metrics": p.metrics or {},
                            "content_hash": h,
                            "ingested_at": now,
                        }
                    )
                if rows and self._dialect == "sqlite":
                    now_text = now.isoformat(" ", "microseconds")
                    conn.exec_driver_sql(_SQLITE_POST_UPSERT, [_sqlite_post_row(r, now_text) for r in rows])
                elif rows:
                    stmt = self.insert(table)
                    cols = [k for k in rows[0] if k not in ("platform", "platform_id")]
                    stmt = stmt.on_conflict_do_update(
                        index_elements=["platform", "platform_id"], set_={k: stmt.excluded[k] for k in cols}
                    )
                    conn.execute(stmt, rows)
        return counts

    def _content_hashes(self, conn, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        c = PostRow.__table__.c
        if self._dialect != "sqlite":
            found = conn.execute(select(c.platform, c.platform_id, c.content_hash).where(_keys_in(c, keys)))
            return {(plat, pid): h for plat, pid, h in found}
        out: dict[tuple[str, str], str] = {}
        by_platform: dict[str, list[str]] = {}
        for platform, pid in keys:
            by_platform.setdefault(platform, []).append(pid)
        for platform, ids in by_platform.items():  # straight to the driver, like the upsert (half the cost)
            sql = (f"SELECT platform, platform_id, content_hash FROM posts WHERE platform = ? "
                   f"AND platform_id IN ({', '.join('?' * len(ids))})")
            out.update({(plat, pid): h for plat, pid, h in conn.exec_driver_sql(sql, (platform, *ids))})
        return out

    def refresh_statistics(self) -> None:
        """Refresh PostgreSQL's planner statistics after bulk writes (a no-op on SQLite). Until a fresh table is
        analyzed, a batch's key lookup is planned as a scan of the whole table (1 s a lookup at 1M posts)."""
        if self._dialect == "postgresql":
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE posts, authors")

    def post_ids(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        keys = list(keys)
        out: dict[tuple[str, str], int] = {}
        c = PostRow.__table__.c
        with self.engine.connect() as conn:
            for chunk in _chunks(keys, 1_000):
                q = select(c.platform, c.platform_id, c.id).where(_keys_in(c, chunk))
                out.update({(p, pid): i for p, pid, i in conn.execute(q)})
        return out

    def count_posts(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(PostRow)).scalar_one()

    def query_posts(
        self,
        *,
        platform: str | None = None,
        lang: str | None = None,
        author: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        contains: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict]:
        """Posts newest first, with the author's handle, filtered by the given fields."""
        p, a = PostRow.__table__.c, AuthorRow.__table__.c
        q = select(
            p.id, p.platform, p.platform_id, p.text, p.lang, p.created_at, p.reply_to, p.quote_of,
            p.repost_of, p.metrics, a.handle.label("author"), a.platform_id.label("author_id"),
        ).select_from(PostRow.__table__.outerjoin(AuthorRow.__table__, p.author_id == a.id))
        conds = []
        if platform:
            conds.append(p.platform == platform)
        if lang:
            conds.append(p.lang == lang)
        if author:
            conds.append((a.handle == author) | (a.platform_id == author))
        if since:
            conds.append(p.created_at >= utc_naive(since))
        if until:
            conds.append(p.created_at < utc_naive(until))
        if contains:
            conds.append(p.text.contains(contains, autoescape=True))
        if conds:
            q = q.where(and_(*conds))
        q = q.order_by(p.created_at.desc(), p.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # ---- interactions and follows --------------------------------------------------------------
    def add_interactions(self, interactions: Sequence[Interaction]) -> int:
        """Store interactions whose user and post exist; returns how many were new."""
        users = self.ensure_authors({(i.platform, i.user_id) for i in interactions})
        posts = self.post_ids({(i.platform, i.post_id) for i in interactions})
        rows = [
            {"user_id": users[(i.platform, i.user_id)], "post_id": posts[(i.platform, i.post_id)],
             "kind": i.kind, "created_at": utc_naive(i.created_at)}
            for i in interactions
            if (i.platform, i.post_id) in posts
        ]
        return self._insert_ignore(InteractionRow.__table__, rows)

    def add_follows(self, follows: Sequence[Follow]) -> int:
        ids = self.ensure_authors(
            {(f.platform, f.follower_id) for f in follows} | {(f.platform, f.followee_id) for f in follows}
        )
        rows = [
            {"follower_id": ids[(f.platform, f.follower_id)], "followee_id": ids[(f.platform, f.followee_id)],
             "created_at": utc_naive(f.created_at)}
            for f in follows
        ]
        return self._insert_ignore(FollowRow.__table__, rows)

    def _insert_ignore(self, table, rows: list[dict]) -> int:
        added = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                # RETURNING counts what was really inserted on both dialects (executemany rowcount may be -1).
                stmt = self.insert(table).on_conflict_do_nothing().returning(next(iter(table.primary_key)))
                added += len(conn.execute(stmt, chunk).all())
        return added

    # ---- quarantine ----------------------------------------------------------------------------
    def quarantine(self, records: Sequence[QuarantinedRecord]) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [
            {"source": r.source, "location": r.location, "format": r.format, "raw": r.raw,
             "reason": r.reason, "status": "open", "attempts": 0, "created_at": now}
            for r in records
        ]
        if rows:
            with self.engine.begin() as conn:
                for chunk in _chunks(rows, 500):
                    conn.execute(QuarantineRow.__table__.insert(), chunk)

    def open_quarantine_keys(self, source: str, locations: Iterable[str]) -> set[tuple[str, bytes]]:
        """(location, raw) of the open records from `source` at these locations: re-ingesting a file skips them."""
        c = QuarantineRow.__table__.c
        out: set[tuple[str, bytes]] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(list(set(locations)), 1_000):
                q = select(c.location, c.raw).where(c.source == source, c.status == "open", c.location.in_(chunk))
                out.update((loc, bytes(raw)) for loc, raw in conn.execute(q))
        return out

    def list_quarantine(self, status: str | None = "open", limit: int = 50, offset: int = 0) -> list[dict]:
        c = QuarantineRow.__table__.c
        q = select(QuarantineRow.__table__)
        if status:
            q = q.where(c.status == status)
        q = q.order_by(c.id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def get_quarantine(self, record_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(QuarantineRow.__table__).where(QuarantineRow.id == record_id)).first()
            return dict(row._mapping) if row else None

    def count_quarantine(self, status: str | None = "open") -> int:
        q = select(func.count()).select_from(QuarantineRow)
        if status:
            q = q.where(QuarantineRow.status == status)
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def mark_quarantine(self, record_id: int, *, resolved: bool, reason: str | None = None) -> None:
        values = {"attempts": QuarantineRow.attempts + 1, "status": "resolved" if resolved else "open"}
        if reason:
            values["reason"] = reason
        with self.engine.begin() as conn:
            conn.execute(update(QuarantineRow).where(QuarantineRow.id == record_id).values(**values))
