"""The stream of incoming posts behind one small interface, with two implementations:

* `MemoryQueue` — the embedded default: an in-process queue, for one process with no servers;
* `RedisQueue` — a Redis Stream read by a consumer group (`TOWNSQUARE_STREAM_URL=redis://...`), so several
  consumer processes share the load.

Both give the same guarantees: a message stays *pending* for the consumer that read it until that consumer
acknowledges it (after its results are stored); a message pending longer than `min_idle_ms` — its consumer died or
hangs — can be claimed by another consumer. Delivery is at least once; the listen pipeline makes counting
idempotent, so the effect is exactly once.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Protocol

import orjson

from townsquare.errors import BadInput

STREAM_KEY = "townsquare:posts"
GROUP = "listen"


@dataclass(slots=True)
class Message:
    id: str
    body: dict  # {"format": "generic" | "x_v2" | ..., "record": {...}}


class StreamQueue(Protocol):
    def publish(self, bodies: list[dict]) -> int: ...

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[Message]:
        """New messages for `consumer`; they stay pending until acknowledged."""

    def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[Message]:
        """Messages another consumer read but did not acknowledge within `min_idle_ms`, now `consumer`'s."""

    def own_pending(self, consumer: str, count: int) -> list[Message]:
        """What `consumer` read before and never acknowledged (e.g. before a restart under the same name)."""

    def ack(self, ids: list[str]) -> None: ...

    def backlog(self) -> dict[str, int]:
        """{"waiting": not yet read, "pending": read but not acknowledged}."""


class MemoryQueue:
    """In-process stream with the consumer-group semantics of a Redis Stream."""

    def __init__(self) -> None:
        self._waiting: deque[Message] = deque()
        self._pending: OrderedDict[str, tuple[str, float, Message]] = OrderedDict()  # id -> (consumer, since, msg)
        self._ids = itertools.count(1)
        self._cond = threading.Condition()

    def publish(self, bodies: list[dict]) -> int:
        with self._cond:
            for body in bodies:
                self._waiting.append(Message(f"{next(self._ids)}-0", body))
            self._cond.notify_all()
        return len(bodies)

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[Message]:
        deadline = time.monotonic() + block_ms / 1000
        with self._cond:
            while not self._waiting and block_ms > 0:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    break
            out = [self._waiting.popleft() for _ in range(min(count, len(self._waiting)))]
            now = time.monotonic()
            for m in out:
                self._pending[m.id] = (consumer, now, m)
            return out

    def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[Message]:
        now = time.monotonic()
        with self._cond:
            stale = [m for owner, since, m in self._pending.values()
                     if owner != consumer and (now - since) * 1000 >= min_idle_ms][:count]
            for m in stale:
                self._pending[m.id] = (consumer, now, m)
            return stale

    def own_pending(self, consumer: str, count: int) -> list[Message]:
        with self._cond:
            return [m for owner, _, m in self._pending.values() if owner == consumer][:count]

    def ack(self, ids: list[str]) -> None:
        with self._cond:
            for i in ids:
                self._pending.pop(i, None)

    def backlog(self) -> dict[str, int]:
        with self._cond:
            return {"waiting": len(self._waiting), "pending": len(self._pending)}


class RedisQueue:
    """A Redis Stream (`XADD`) read through one consumer group (`XREADGROUP`, `XACK`, `XAUTOCLAIM`)."""

    def __init__(self, url: str, key: str = STREAM_KEY, group: str = GROUP):
        import redis

        self.key, self.group = key, group
        self.redis = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5)
        try:
            self.redis.xgroup_create(key, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        except redis.ConnectionError as exc:
            raise BadInput("TOWNSQUARE_STREAM_URL", f"cannot reach Redis at {url} ({exc})",
                           "start Redis or unset TOWNSQUARE_STREAM_URL to use the in-process queue") from exc

    def publish(self, bodies: list[dict]) -> int:
        with self.redis.pipeline(transaction=False) as pipe:
            for body in bodies:
                pipe.xadd(self.key, {b"m": orjson.dumps(body)})
            pipe.execute()
        return len(bodies)

    @staticmethod
    def _messages(entries) -> list[Message]:
        out = []
        for mid, fields in entries:
            if fields is None:  # trimmed or deleted while pending
                continue
            raw = fields.get(b"m")
            out.append(Message(mid.decode(), orjson.loads(raw) if raw else {}))
        return out

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[Message]:
        got = self.redis.xreadgroup(self.group, consumer, {self.key: ">"}, count=count, block=block_ms or None)
        return self._messages(got[0][1]) if got else []

    def claim_stale(self, consumer: str, min_idle_ms: int, count: int) -> list[Message]:
        _, entries, *_ = self.redis.xautoclaim(self.key, self.group, consumer, min_idle_time=min_idle_ms,
                                               start_id="0-0", count=count)
        return self._messages(entries)

    def own_pending(self, consumer: str, count: int) -> list[Message]:
        got = self.redis.xreadgroup(self.group, consumer, {self.key: "0"}, count=count)
        return self._messages(got[0][1]) if got else []

    def ack(self, ids: list[str]) -> None:
        if ids:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.xack(self.key, self.group, *ids)
                pipe.xdel(self.key, *ids)  # processed messages are stored in the database: keep Redis small
                pipe.execute()

    def backlog(self) -> dict[str, int]:
        info = self.redis.xinfo_groups(self.key)
        group = next((g for g in info if g["name"].decode() == self.group), None)
        pending = int(group["pending"]) if group else 0
        lag = group.get("lag") if group else None
        waiting = int(lag) if lag is not None else max(0, int(self.redis.xlen(self.key)) - pending)
        return {"waiting": waiting, "pending": pending}


_memory: MemoryQueue | None = None
_memory_lock = threading.Lock()


def get_queue(url: str | None = None) -> StreamQueue:
    """The Redis stream named by `url` (default: TOWNSQUARE_STREAM_URL), else this process's in-process queue."""
    global _memory
    from townsquare.config import get_settings

    settings = get_settings()
    if url is None:
        url = settings.stream_url
    if url and url != "memory://":
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise BadInput("TOWNSQUARE_STREAM_URL", f"{url!r} is not a Redis URL",
                           "use redis://host:6379/0, or memory:// for the in-process queue")
        return RedisQueue(url, key=settings.stream_key)
    with _memory_lock:
        if _memory is None:
            _memory = MemoryQueue()
        return _memory
