"""A stream consumer: read a batch, process it, acknowledge it — in that order, so a crash loses nothing.

Each step first takes back this consumer's own unacknowledged messages (left by an error or a restart under the
same name), then messages another consumer left pending for longer than `claim_idle_ms` (it died), and only then
new messages.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from townsquare.listen.pipeline import BatchResult, ListenPipeline
from townsquare.listen.queue import StreamQueue

log = logging.getLogger("townsquare.listen")


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class ConsumerStats:
    batches: int = 0
    messages: int = 0
    stored: int = 0
    quarantined: int = 0
    matched: int = 0
    alerts: int = 0
    errors: int = 0
    last_error: str = ""

    def add(self, r: BatchResult) -> None:
        self.batches += 1
        self.messages += r.messages
        self.stored += r.stored
        self.quarantined += r.quarantined
        self.matched += r.matched
        self.alerts += len(r.alerts)


class Consumer:
    def __init__(self, queue: StreamQueue, pipeline: ListenPipeline, name: str | None = None, *,
                 batch: int = 256, block_ms: int = 500, claim_idle_ms: int = 30_000):
        self.queue, self.pipeline = queue, pipeline
        self.name = name or consumer_name()
        self.batch, self.block_ms, self.claim_idle_ms = batch, block_ms, claim_idle_ms
        self.stats = ConsumerStats()

    def step(self) -> BatchResult | None:
        """Process one batch; None when there was nothing to do."""
        msgs = (self.queue.own_pending(self.name, self.batch)
                or self.queue.claim_stale(self.name, self.claim_idle_ms, self.batch)
                or self.queue.read(self.name, self.batch, self.block_ms))
        if not msgs:
            return None
        result = self.pipeline.process([m.body for m in msgs])
        self.queue.ack([m.id for m in msgs])  # only now: the results are stored
        self.stats.add(result)
        return result

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> ConsumerStats:
        """Consume until `stop` is set (or, with `idle_exit_s`, until the stream has been empty that long)."""
        idle_since = time.monotonic()
        backoff = 0.5
        while not stop.is_set():
            try:
                result = self.step()
                backoff = 0.5
            except Exception as exc:  # noqa: BLE001 - the messages stay pending; retry after a pause
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                log.warning("listen consumer %s: %s (will retry)", self.name, self.stats.last_error)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30)
                continue
            if result is not None:
                idle_since = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                break
        return self.stats


def start_in_background(queue: StreamQueue, pipeline: ListenPipeline, name: str | None = None,
                        **kw) -> tuple[threading.Thread, threading.Event, Consumer]:
    """A consumer on a daemon thread (the embedded deployment: the API process consumes its own queue)."""
    stop = threading.Event()
    consumer = Consumer(queue, pipeline, name, **kw)
    thread = threading.Thread(target=consumer.run, args=(stop,), name="townsquare-listen", daemon=True)
    thread.start()
    return thread, stop, consumer
