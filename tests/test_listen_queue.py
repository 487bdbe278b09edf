"""The stream queue's contract, run over every implementation: in-process and a real Redis server."""

from __future__ import annotations

import time
import uuid

import pytest

from townsquare.listen.queue import MemoryQueue, RedisQueue

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_queue():
    try:
        q = RedisQueue(REDIS_URL, key=f"townsquare:test:{uuid.uuid4().hex[:8]}", group="test")
        q.redis.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})")
    return q


@pytest.fixture(params=["memory", "redis"])
def queue(request):
    if request.param == "memory":
        yield MemoryQueue()
        return
    q = _redis_queue()
    yield q
    q.redis.delete(q.key)


def test_read_gives_each_message_to_one_consumer_and_keeps_it_pending_until_acked(queue):
    assert queue.publish([{"n": i} for i in range(10)]) == 10
    a = queue.read("a", 4)
    b = queue.read("b", 100)
    assert [m.body["n"] for m in a] == [0, 1, 2, 3] and [m.body["n"] for m in b] == list(range(4, 10))
    assert queue.read("a", 10) == []  # nothing new; pending messages are not handed out again
    assert queue.backlog() == {"waiting": 0, "pending": 10}
    queue.ack([m.id for m in b])
    assert queue.backlog() == {"waiting": 0, "pending": 4}
    assert [m.body["n"] for m in queue.own_pending("a", 10)] == [0, 1, 2, 3]  # e.g. after a restart
    assert queue.own_pending("b", 10) == []


def test_a_dead_consumers_messages_are_claimed_by_another_after_the_idle_time(queue):
    queue.publish([{"n": i} for i in range(3)])
    taken = queue.read("dead", 10)
    assert len(taken) == 3
    assert queue.claim_stale("alive", min_idle_ms=60_000, count=10) == []  # not idle long enough yet
    time.sleep(0.25)
    claimed = queue.claim_stale("alive", min_idle_ms=200, count=10)
    assert sorted(m.body["n"] for m in claimed) == [0, 1, 2]
    assert queue.own_pending("dead", 10) == []  # they are alive's now
    queue.ack([m.id for m in claimed])
    assert queue.backlog() == {"waiting": 0, "pending": 0}


def test_read_blocks_up_to_the_timeout_and_bodies_round_trip(queue):
    started = time.monotonic()
    assert queue.read("a", 5, block_ms=300) == []
    assert time.monotonic() - started >= 0.25
    body = {"format": "generic", "record": {"id": "1", "text": "Acme手机 很烫 🔥", "n": 1.5, "tags": [None, True]}}
    queue.publish([body])
    assert queue.read("a", 5, block_ms=300)[0].body == body


def test_a_stream_url_that_is_not_redis_is_refused_in_one_line():
    from townsquare.errors import BadInput
    from townsquare.listen.queue import get_queue

    with pytest.raises(BadInput, match="TOWNSQUARE_STREAM_URL.*redis://"):
        get_queue("kafka://somewhere")
    assert isinstance(get_queue("memory://"), MemoryQueue)
