"""Replaying stored posts: `backfill` runs the listen pipeline over history (a new watch gets its past), and
`replay_stored` sends a time range of stored posts through the live stream with event time compressed — how the
demo shows a crisis being detected live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from townsquare.listen.pipeline import ListenPipeline, message, reset_watermark
from townsquare.listen.queue import StreamQueue
from townsquare.store import Store
from townsquare.store.tables import AuthorRow, PostRow


def _query(since: datetime | None, until: datetime | None, *columns):
    p, u = PostRow.__table__.c, AuthorRow.__table__.c
    q = (select(*columns).select_from(PostRow.__table__.outerjoin(AuthorRow.__table__, u.id == p.author_id))
         .order_by(p.created_at, p.id))
    if since is not None:
        q = q.where(p.created_at >= since)
    if until is not None:
        q = q.where(p.created_at < until)
    return q


def _stored(store: Store, since: datetime | None, until: datetime | None, batch: int):
    """Stored posts oldest first, in lists of `batch` rows, streamed from the database."""
    p, u = PostRow.__table__.c, AuthorRow.__table__.c
    q = _query(since, until, p.platform, p.platform_id, p.text, p.lang, p.created_at, u.platform_id.label("author"))
    with store.engine.connect() as conn:
        yield from conn.execution_options(yield_per=batch).execute(q).partitions(batch)


def backfill(pipeline: ListenPipeline, *, since: datetime | None = None, until: datetime | None = None,
             batch: int = 2_000, on_progress: Callable[[int], None] | None = None) -> int:
    """Count stored posts in [since, until) for the watches, oldest first; returns how many were processed."""
    p = PostRow.__table__.c
    with pipeline.store.engine.connect() as conn:  # keys only, read first: SQLite allows one writer at a time
        keys = [(r.platform, r.platform_id) for r in conn.execute(_query(since, until, p.platform, p.platform_id))]
    for start in range(0, len(keys), batch):
        chunk = keys[start:start + batch]
        pipeline.process_stored(chunk)
        if on_progress:
            on_progress(len(chunk))
    return len(keys)


def replay_stored(store: Store, queue: StreamQueue, since: datetime, until: datetime, *,
                  seconds_per_hour: float = 2.0, stop: threading.Event | None = None) -> int:
    """Publish stored posts of [since, until) into the stream, one event-hour every `seconds_per_hour`."""
    stop = stop or threading.Event()
    started, sent = time.monotonic(), 0
    for chunk in _stored(store, since, until, 200):
        for r in chunk:
            due = started + (r.created_at - since).total_seconds() / 3600 * seconds_per_hour
            wait = due - time.monotonic()
            if wait > 0 and stop.wait(wait):
                return sent
            queue.publish([message({"id": r.platform_id, "platform": r.platform, "text": r.text, "lang": r.lang,
                                    "author": r.author, "created_at": r.created_at.isoformat() + "Z"})])
            sent += 1
    return sent


DEMO_WATCH = "Acme Phone"


def prepare_demo(store: Store, crisis_start: datetime, *, lead_hours: int = 24, after_hours: int = 36,
                 on_progress: Callable[[int], None] | None = None) -> tuple[datetime, datetime]:
    """(Re)create the demo's watch, count its history up to `lead_hours` before the crisis, and return the range
    to replay live. Analyses are stored once, so restarts only re-count (seconds), never re-embed."""
    from datetime import timedelta

    from townsquare.listen.watches import Watch, add_watch, remove_watch

    remove_watch(store, DEMO_WATCH)
    reset_watermark(store)  # a restart replays the crisis again: it must not find its buckets already closed
    add_watch(store, Watch(name=DEMO_WATCH, keywords=["Acme Phone", "Acme Phone X", "#AcmePhone", "acme手机", "Acme"],
                           description="the Acme Phone X smartphone: battery, charging, camera, screen", minutes=60))
    crisis_start = crisis_start.replace(tzinfo=None)
    since = crisis_start - timedelta(hours=lead_hours)
    backfill(ListenPipeline(store), until=since, on_progress=on_progress)
    return since, crisis_start + timedelta(hours=after_hours)
