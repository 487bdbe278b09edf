"""Listen over HTTP (watches, POST /stream consumed in-process, series, alerts, Server-Sent Events) and webhook
delivery with retries against a real local HTTP server."""

from __future__ import annotations

import http.server
import json
import threading
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from townsquare.api import create_app
from townsquare.listen.notify import MAX_ATTEMPTS, deliver_due
from townsquare.listen.watches import Watch, add_watch, fold, keyword_pattern
from townsquare.store.tables import AlertRow
from townsquare.world import WorldConfig, iter_posts


@pytest.fixture
def app(tmp_store, settings_env):
    return create_app(settings_env)


@pytest.fixture
def headers(app) -> dict[str, dict[str, str]]:
    out = {}
    for role in ("admin", "analyst", "agent"):
        _, raw = app.state.keys.create(role, f"test {role}")
        out[role] = {"Authorization": f"Bearer {raw}"}
    return out


def _record(p) -> dict:
    return {"id": p.platform_id, "platform": p.platform, "text": p.text, "author": p.author_id,
            "created_at": p.created_at.isoformat()}


def test_watches_stream_and_series_through_the_api(app, headers):
    with TestClient(app) as client:  # the app's own consumer thread processes the in-process queue
        bad = client.post("/watches", json={"name": "Acme", "langs": ["fr"]}, headers=headers["analyst"])
        assert bad.status_code == 400 and bad.json()["error"].startswith("langs:")
        assert client.get("/watches", headers=headers["agent"]).status_code == 403
        w = client.post("/watches", json={"name": "Acme", "keywords": ["Acme", "acme手机"], "similarity": 0.99,
                                          "minutes": 60}, headers=headers["analyst"])
        assert w.status_code == 201, w.text
        watch = w.json()
        assert client.post("/watches", json={"name": "Acme"}, headers=headers["analyst"]).status_code == 400

        posts = list(iter_posts(WorldConfig(posts=1_500, authors=200, days=3, seed=5)))
        body = [_record(p) for p in posts] + [{"id": "x1", "text": "no time, no author"}]
        assert client.post("/stream", json={"posts": body}, headers=headers["analyst"]).status_code == 403
        r = client.post("/stream", json={"posts": body}, headers=headers["admin"])
        assert r.status_code == 202 and r.json()["accepted"] == len(body)
        pattern = keyword_pattern(["Acme", "acme手机"])
        expected = sum(1 for p in posts if pattern.search(fold(p.text)))
        deadline = time.monotonic() + 120
        while True:
            s = client.get(f"/watches/{watch['id']}/series", params={"minutes": 60, "hours": 24 * 5},
                           headers=headers["analyst"]).json()
            if sum(b["volume"] for b in s["buckets"]) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert sum(b["volume"] for b in s["buckets"]) == expected > 5
        assert s["watermark"] and s["top"]["terms"] and s["top"]["authors"]
        assert all(b["negative"] + b["neutral"] + b["positive"] == b["volume"] for b in s["buckets"])
        assert app.state.store.count_quarantine() == 1  # the bad record is kept, with its reason
        assert client.get("/watches/999/series", headers=headers["analyst"]).status_code == 404
        assert client.get("/watches/1/series", params={"minutes": 7}, headers=headers["analyst"]).status_code == 400
        assert client.delete(f"/watches/{watch['id']}", headers=headers["analyst"]).json() == {"removed": watch["id"]}


def _alert(store, watch_id: int, **kw) -> int:
    now = datetime.now(UTC).replace(tzinfo=None)
    values = dict(watch_id=watch_id, metric="volume", minutes=60, bucket_start=datetime(2026, 10, 1, 9), value=40,
                  expected=3, score=0.99, created_at=now, explanation={"summary": {"text": "spike", "method": "x"}},
                  webhook_status="none", webhook_attempts=0, webhook_next_at=None, webhook_error="")
    values.update(kw)
    with store.engine.begin() as conn:
        return conn.execute(AlertRow.__table__.insert().values(**values).returning(AlertRow.__table__.c.id)).scalar()


def test_server_sent_events_push_new_alerts(app, headers, tmp_store):
    watch = add_watch(tmp_store, Watch(name="Acme"))
    first = _alert(tmp_store, watch.id)
    with TestClient(app) as client:
        with client.stream("GET", "/listen/events", params={"after": 0}, headers=headers["analyst"]) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            events = []
            for line in lines:
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                if any(e.get("id") == first for e in events):
                    break
        assert events[-1]["id"] == first and events[-1]["explanation"]["summary"]["text"] == "spike"
        assert client.get(f"/alerts/{first}", headers=headers["analyst"]).json()["value"] == 40
        assert client.get("/alerts/999", headers=headers["analyst"]).status_code == 404


class _Hook(http.server.BaseHTTPRequestHandler):
    fail_first = 2
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        ok = len(type(self).received) > type(self).fail_first
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhooks_are_retried_with_backoff_then_sent_or_marked_failed(tmp_store):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        watch = add_watch(tmp_store, Watch(name="Acme", webhook_url=url))
        now = datetime.now(UTC).replace(tzinfo=None)
        alert_id = _alert(tmp_store, watch.id, webhook_status="pending", webhook_next_at=now)
        for _ in range(50):
            deliver_due(tmp_store, first_delay=0.02)
            row = _row(tmp_store, alert_id)
            if row.webhook_status != "pending":
                break
            time.sleep(0.03)
        assert row.webhook_status == "sent" and row.webhook_attempts == 3  # two 503s, then 200
        assert _Hook.received[-1]["alert"]["id"] == alert_id and _Hook.received[-1]["watch"] == "Acme"

        dead = add_watch(tmp_store, Watch(name="Dead", webhook_url="http://127.0.0.1:9/nothing-listens"))
        dead_id = _alert(tmp_store, dead.id, webhook_status="pending", webhook_next_at=now)
        for _ in range(200):
            deliver_due(tmp_store, first_delay=0.001)
            row = _row(tmp_store, dead_id)
            if row.webhook_status != "pending":
                break
            time.sleep(0.02)
        assert row.webhook_status == "failed" and row.webhook_attempts == MAX_ATTEMPTS and row.webhook_error
    finally:
        server.shutdown()


def _row(store, alert_id: int):
    from sqlalchemy import select

    with store.engine.connect() as conn:
        return conn.execute(select(AlertRow.__table__).where(AlertRow.__table__.c.id == alert_id)).one()
