"""The store's contract, run on SQLite and on PostgreSQL (skipped with a reason when no server is reachable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from tests.pg import fresh_postgres_database
from townsquare.schema import Author, Follow, Interaction, Post
from townsquare.store import QuarantinedRecord, Store
from townsquare.store.db import current_revision, get_engine, head_revision

T0 = datetime(2026, 11, 28, 14, 10, 8, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield Store(get_engine(f"sqlite:///{tmp_path / 'ts.db'}"))
    else:
        with fresh_postgres_database() as url:
            yield Store(get_engine(url))


def _post(pid: str, text: str = "hello", author: str = "a1", **kw) -> Post:
    return Post(platform="x", platform_id=pid, text=text, created_at=kw.pop("created_at", T0), author_id=author, **kw)


def test_new_database_is_migrated_on_first_use(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"posts", "authors", "interactions", "follows", "quarantine", "api_keys", "embeddings"} <= tables
    assert current_revision(store.engine) == head_revision()


def test_upsert_is_idempotent_and_counts_changes(store):
    ids = store.upsert_authors([Author("x", "a1", "alice", followers=10)])
    posts = [_post("1", "first"), _post("2", "第二条微博 #话题#", lang="zh")]
    assert store.upsert_posts(posts, ids).new == 2
    again = store.upsert_posts(posts, ids)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    changed = store.upsert_posts([_post("1", "first, edited")], ids)
    assert (changed.new, changed.updated) == (0, 1)
    assert store.count_posts() == 2
    rows = {r["platform_id"]: r for r in store.query_posts()}
    assert rows["1"]["text"] == "first, edited" and rows["1"]["author"] == "alice"
    assert rows["2"]["text"] == "第二条微博 #话题#"


def test_same_platform_id_on_two_platforms_are_two_posts(store):
    ids = store.ensure_authors([("x", "a1"), ("weibo", "a1")])
    p = Post("weibo", "1", "微博", T0, author_id="a1")
    counts = store.upsert_posts([_post("1"), p], ids)
    assert counts.new == 2 and store.count_posts() == 2


def test_query_filters(store):
    ids = store.upsert_authors([Author("x", "a1", "alice"), Author("x", "a2", "bob")])
    store.upsert_posts(
        [_post(str(i), f"post {i} acme" if i % 2 else f"帖子 {i}", author="a1" if i < 5 else "a2",
               lang="en" if i % 2 else "zh", created_at=T0 + timedelta(hours=i)) for i in range(10)],
        ids,
    )
    assert [r["platform_id"] for r in store.query_posts(limit=3)] == ["9", "8", "7"]
    assert {r["lang"] for r in store.query_posts(lang="zh")} == {"zh"}
    assert len(store.query_posts(author="bob")) == 5
    assert len(store.query_posts(contains="acme")) == 5
    assert len(store.query_posts(since=T0 + timedelta(hours=8))) == 2
    assert store.query_posts(contains="100%_") == []  # LIKE wildcards are escaped


def test_interactions_and_follows_are_deduplicated(store):
    ids = store.upsert_authors([Author("x", "a1"), Author("x", "a2")])
    store.upsert_posts([_post("1")], ids)
    events = [Interaction("x", "a2", "1", "like", T0), Interaction("x", "a2", "1", "like", T0)]
    assert store.add_interactions(events) == 1
    assert store.add_interactions(events) == 0
    follows = [Follow("x", "a2", "a1", T0)]
    assert store.add_follows(follows) == 1
    assert store.add_follows(follows) == 0


def test_quarantine_keeps_raw_bytes_and_reason(store):
    raw = b'{"id": 1, "text": "\xff"}'
    store.quarantine([QuarantinedRecord("f.jsonl", "line 3", "jsonl", raw, "line 3: invalid UTF-8")])
    [row] = store.list_quarantine()
    assert row["raw"] == raw and row["reason"].startswith("line 3")
    store.mark_quarantine(row["id"], resolved=True)
    assert store.count_quarantine() == 0 and store.count_quarantine(status=None) == 1
    assert store.get_quarantine(row["id"])["attempts"] == 1


def test_large_batches_stay_under_parameter_limits(store):
    ids = store.ensure_authors([("x", f"a{i}") for i in range(3000)])
    posts = [_post(str(i), f"t{i}", author=f"a{i % 3000}") for i in range(12_000)]
    assert store.upsert_posts(posts, ids).new == 12_000
    assert store.count_posts() == 12_000
