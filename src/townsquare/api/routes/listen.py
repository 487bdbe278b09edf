"""Listen over HTTP: `POST /stream`, watches, per-bucket series and top lists, alerts, and `GET /listen/events`
(Server-Sent Events: new alerts and stream progress, pushed as they are stored)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from townsquare.api.security import get_store, require
from townsquare.store import Store

router = APIRouter(tags=["listen"])
MAX_POSTS = 5_000
POLL_S = 1.0  # how often /listen/events looks for new alerts (the store is the source of truth)


class StreamIn(BaseModel):
    posts: list[Any] = Field(..., min_length=1, max_length=MAX_POSTS,
                             description=f"1 to {MAX_POSTS:,} records in `format` (generic: id, text, author, "
                                         "created_at, ...)")
    format: str = Field("generic", description="generic, x_v2, x_v1, mastodon, weibo, reddit, bluesky")


class WatchIn(BaseModel):
    name: str = Field(..., max_length=128)
    keywords: list[str] = Field(default_factory=list, max_length=200)
    langs: list[str] = Field(default_factory=list, description="en, zh, other; empty = all")
    description: str = Field("", max_length=2_000)
    similarity: float | None = None
    minutes: int = 60
    sensitivity: float | None = None
    webhook_url: str | None = Field(None, max_length=2_000)


@router.post("/stream", summary="Send a batch of posts into the live stream", status_code=202)
def post_stream(body: StreamIn, _key=Depends(require("posts:write"))) -> dict:
    from townsquare.errors import BadInput
    from townsquare.ingest.formats import READERS
    from townsquare.listen.pipeline import message
    from townsquare.listen.queue import get_queue

    if body.format not in READERS:
        raise BadInput("format", f"{body.format!r} is not a record format", f"use one of {', '.join(READERS)}")
    queue = get_queue()
    accepted = queue.publish([message(p, body.format) for p in body.posts])
    return {"accepted": accepted, "backlog": queue.backlog()}


def _watch_or_404(store: Store, watch_id: int):
    from townsquare.listen.watches import get_watch

    w = get_watch(store, watch_id)
    if w is None:
        raise HTTPException(404, f"watch_id: no watch {watch_id} — list them with GET /watches")
    return w


@router.get("/watches", summary="The watches")
def watches(store: Store = Depends(get_store), _key=Depends(require("listen"))) -> dict:
    from townsquare.listen.watches import list_watches

    return {"watches": [w.to_dict() for w in list_watches(store)]}


@router.post("/watches", summary="Start following something", status_code=201)
def add_watch(body: WatchIn, store: Store = Depends(get_store), _key=Depends(require("listen"))) -> dict:
    from townsquare.listen.watches import DEFAULT_SIMILARITY, Watch
    from townsquare.listen.watches import add_watch as add

    w = add(store, Watch(name=body.name, keywords=body.keywords, langs=body.langs, description=body.description,
                         similarity=body.similarity or DEFAULT_SIMILARITY, minutes=body.minutes,
                         sensitivity=body.sensitivity, webhook_url=body.webhook_url))
    return w.to_dict()


@router.delete("/watches/{watch_id}", summary="Stop following something")
def remove_watch(watch_id: int, store: Store = Depends(get_store), _key=Depends(require("listen"))) -> dict:
    from townsquare.listen.watches import remove_watch as remove

    _watch_or_404(store, watch_id)
    remove(store, watch_id)
    return {"removed": watch_id}


def _iso(t: datetime) -> str:
    return t.isoformat() + "Z"


@router.get("/watches/{watch_id}/series", summary="Counts per bucket, with the alerts on them")
def watch_series(watch_id: int, minutes: int = Query(60, description="1, 5 or 60"),
                 hours: float = Query(24 * 7, gt=0, le=24 * 366, description="how far back from the newest post"),
                 store: Store = Depends(get_store), _key=Depends(require("listen"))) -> dict:
    from townsquare.errors import BadInput
    from townsquare.listen.aggregate import series, top_keys
    from townsquare.listen.monitor import list_alerts
    from townsquare.listen.pipeline import watermark
    from townsquare.listen.watches import GRANULARITIES

    if minutes not in GRANULARITIES:
        raise BadInput("minutes", f"{minutes} is not a bucket size", f"use one of {GRANULARITIES}")
    w = _watch_or_404(store, watch_id)
    mark = watermark(store)
    if mark is None:
        return {"watch": w.to_dict(), "minutes": minutes, "buckets": [], "alerts": [], "top": {}, "watermark": None}
    since = mark - timedelta(hours=hours)
    rows = series(store, watch_id, minutes, since=since)
    alerts = [a for a in list_alerts(store, watch_id, limit=200) if a["bucket_start"] >= _iso(since)]
    top = top_keys(store, watch_id, minutes, since, mark + timedelta(minutes=minutes))
    return {"watch": w.to_dict(), "minutes": minutes, "watermark": _iso(mark),
            "buckets": [{**r, "start": _iso(r["start"])} for r in rows], "alerts": alerts, "top": top}


@router.get("/alerts", summary="Newest alerts first, with their explanations")
def alerts(watch_id: int | None = None, limit: int = Query(50, ge=1, le=500), store: Store = Depends(get_store),
           _key=Depends(require("listen"))) -> dict:
    from townsquare.listen.monitor import list_alerts

    return {"alerts": list_alerts(store, watch_id, limit=limit)}


@router.get("/alerts/{alert_id}", summary="One alert")
def alert(alert_id: int, store: Store = Depends(get_store), _key=Depends(require("listen"))) -> dict:
    from townsquare.listen.monitor import get_alert

    a = get_alert(store, alert_id)
    if a is None:
        raise HTTPException(404, f"alert_id: no alert {alert_id} — list them with GET /alerts")
    return a


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


@router.get("/listen/events", summary="Server-Sent Events: `alert` (each new alert) and `progress` (watermark)")
async def events(request: Request, after: int | None = Query(None, description="last alert id seen"),
                 store: Store = Depends(get_store), _key=Depends(require("listen"))) -> StreamingResponse:
    from townsquare.listen.monitor import explained, list_alerts
    from townsquare.listen.pipeline import watermark

    async def stream():
        last = after
        if last is None:
            newest = await run_in_threadpool(list_alerts, store, None, limit=1)
            last = newest[0]["id"] if newest else 0
        mark = None
        yield b"retry: 2000\n\n"
        while not await request.is_disconnected():
            new = await run_in_threadpool(list_alerts, store, None, after_id=last, limit=50)
            for a in new:
                if not explained(a):
                    break  # pushed once its explanation is stored (moments later)
                last = a["id"]
                yield _sse("alert", a)
            now = await run_in_threadpool(watermark, store)
            if now != mark:
                mark = now
                yield _sse("progress", {"watermark": _iso(now) if now else None})
            else:
                yield b": keep-alive\n\n"
            await asyncio.sleep(POLL_S)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

