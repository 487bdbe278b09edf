"""The one-server deployment under failure: Redis Streams consumer group + PostgreSQL, several consumer processes,
one killed with SIGKILL mid-stream. Every post must be stored, and every matched post counted exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
from sqlalchemy import func, select

from tests.conftest import TOWNSQUARE_BIN
from tests.pg import fresh_postgres_database
from townsquare.listen.pipeline import message
from townsquare.listen.queue import RedisQueue
from townsquare.listen.watches import Watch, add_watch, fold, keyword_pattern
from townsquare.store import Store
from townsquare.store.db import get_engine
from townsquare.store.tables import PostRow, WatchBucketRow, WatchMatchRow
from townsquare.world import WorldConfig, iter_posts

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]
REDIS_URL = "redis://127.0.0.1:6379/0"
POSTS = 2_400


def _count(store: Store, stmt) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)


def test_killing_a_consumer_mid_stream_loses_nothing_and_counts_nothing_twice(tmp_path):
    key = f"townsquare:test:{uuid.uuid4().hex[:8]}"
    try:
        queue = RedisQueue(REDIS_URL, key=key)
        queue.redis.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})")
    with fresh_postgres_database() as url:
        store = Store(get_engine(url))
        keywords = ["Acme", "acme手机", "#AcmePhone"]
        watch = add_watch(store, Watch(name="Acme", keywords=keywords, similarity=1.0, minutes=5))
        posts = list(iter_posts(WorldConfig(posts=POSTS, authors=300, days=5, seed=3)))
        pattern = keyword_pattern(keywords)
        expected = sum(1 for p in posts if pattern.search(fold(p.text)))  # keyword-only watch: known answer
        assert expected > 20
        queue.publish([message({"id": p.platform_id, "platform": p.platform, "text": p.text, "author": p.author_id,
                                "created_at": p.created_at.isoformat()}) for p in posts])

        env = {**os.environ, "TOWNSQUARE_DATABASE_URL": url, "TOWNSQUARE_STREAM_URL": REDIS_URL,
               "TOWNSQUARE_DATA_DIR": str(tmp_path)}
        env["TOWNSQUARE_STREAM_KEY"] = key  # a stream of its own

        def consumer(name: str, idle_exit: float) -> subprocess.Popen:
            return subprocess.Popen([str(TOWNSQUARE_BIN), "listen", "consume", "--name", name, "--batch", "40",
                                     "--claim-after", "3", "--idle-exit", str(idle_exit)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        victim = consumer("victim", 60)
        survivor = consumer("survivor", 12)
        try:
            stored = PostRow.__table__.c
            deadline = time.monotonic() + 120
            while _count(store, select(func.count()).select_from(PostRow.__table__)) < POSTS // 4:
                if time.monotonic() > deadline:
                    victim.kill()
                    survivor.kill()
                    pytest.fail(f"consumers made no progress:\n{victim.stdout.read()}\n{survivor.stdout.read()}")
                assert victim.poll() is None, victim.stdout.read()
                time.sleep(0.1)
            victim.send_signal(signal.SIGKILL)  # mid-stream, most likely mid-batch
            victim.wait(timeout=10)
            out, _ = survivor.communicate(timeout=240)
            assert survivor.returncode == 0, out
        finally:
            for proc in (victim, survivor):
                if proc.poll() is None:
                    proc.kill()
        assert queue.backlog() == {"waiting": 0, "pending": 0}, "messages left unacknowledged"
        assert _count(store, select(func.count(func.distinct(stored.platform_id)))) == POSTS  # nothing lost
        m, b = WatchMatchRow.__table__.c, WatchBucketRow.__table__.c
        assert _count(store, select(func.count()).where(m.watch_id == watch.id)) == expected
        for minutes in (1, 5, 60):  # each matched post counted once, at every granularity
            assert _count(store, select(func.sum(b.volume)).where(b.watch_id == watch.id,
                                                                  b.minutes == minutes)) == expected
        store.engine.dispose()
    queue.redis.delete(key)
