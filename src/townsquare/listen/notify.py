"""Webhook delivery for alerts: POSTed from a background thread with exponential backoff, never from the stream.

Pending deliveries live in the alerts table (`webhook_status`, `webhook_next_at`), so they survive restarts; a
sender claims one by pushing its next attempt forward in a conditional UPDATE, so two senders never post the
same alert at the same time.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select, update

from townsquare.listen.monitor import alert_dict
from townsquare.store import Store
from townsquare.store.tables import AlertRow, WatchRow

log = logging.getLogger("townsquare.listen")
MAX_ATTEMPTS = 6
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 600.0
LEASE = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def delay(attempts: int, first: float = FIRST_DELAY_S) -> float:
    return min(first * 2 ** max(attempts - 1, 0), MAX_DELAY_S)


def post_json(url: str, body: dict, timeout: float = 5.0) -> None:
    req = urllib.request.Request(url, data=orjson.dumps(body), method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "townsquare-webhook"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the user configured this URL
        if resp.status >= 300:
            raise urllib.error.HTTPError(url, resp.status, "not a 2xx answer", resp.headers, None)


def deliver_due(store: Store, *, first_delay: float = FIRST_DELAY_S) -> int:
    """Try every delivery that is due once; return how many were sent."""
    a, w = AlertRow.__table__, WatchRow.__table__
    now = _now()
    with store.engine.connect() as conn:
        due = conn.execute(select(a, w.c.webhook_url, w.c.name.label("watch_name"))
                           .join(w, w.c.id == a.c.watch_id)
                           .where(a.c.webhook_status == "pending", a.c.webhook_next_at <= now)
                           .order_by(a.c.webhook_next_at).limit(20)).all()
    sent = 0
    for row in due:
        with store.engine.begin() as conn:  # claim: nobody else tries it for LEASE
            claimed = conn.execute(update(a).where(a.c.id == row.id, a.c.webhook_status == "pending",
                                                   a.c.webhook_next_at == row.webhook_next_at)
                                   .values(webhook_next_at=now + LEASE)).rowcount
        if not claimed:
            continue
        attempts = row.webhook_attempts + 1
        try:
            post_json(row.webhook_url, {"event": "alert", "watch": row.watch_name, "alert": alert_dict(row)})
            values = {"webhook_status": "sent", "webhook_attempts": attempts, "webhook_error": ""}
            sent += 1
        except Exception as exc:  # noqa: BLE001 - kept with the alert and retried later
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
            failed = attempts >= MAX_ATTEMPTS
            values = {"webhook_status": "failed" if failed else "pending", "webhook_attempts": attempts,
                      "webhook_error": error,
                      "webhook_next_at": None if failed else _now() + timedelta(seconds=delay(attempts, first_delay))}
            log.warning("webhook for alert %s: %s (attempt %d/%d)", row.id, error, attempts, MAX_ATTEMPTS)
        with store.engine.begin() as conn:
            conn.execute(update(a).where(a.c.id == row.id).values(**values))
    return sent


def start_sender(store: Store, *, every_s: float = 1.0, first_delay: float = FIRST_DELAY_S
                 ) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                deliver_due(store, first_delay=first_delay)
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not kill the sender
                log.warning("webhook sender: %s", exc)

    thread = threading.Thread(target=loop, name="townsquare-webhooks", daemon=True)
    thread.start()
    return thread, stop
