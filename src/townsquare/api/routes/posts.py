"""`/posts`: POST a batch (ingested like any other source: bad records are quarantined), GET with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field, field_validator

from townsquare.api.security import get_store, require
from townsquare.errors import BadInput
from townsquare.store import Store

router = APIRouter(tags=["posts"])


class PostOut(BaseModel):
    id: int
    platform: str
    platform_id: str
    text: str
    lang: str | None = None
    created_at: datetime
    author: str | None = None
    author_id: str | None = None
    reply_to: str | None = None
    quote_of: str | None = None
    repost_of: str | None = None
    metrics: dict = Field(default_factory=dict)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        # The store keeps naive UTC; say so on the wire.
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v


class PostPage(BaseModel):
    posts: list[PostOut]
    count: int = Field(description="posts in this page")
    limit: int
    offset: int


class IngestReportOut(BaseModel):
    read: int
    new: int
    updated: int
    unchanged: int
    quarantined: int
    stored: int
    summary: str
    reasons: list[str] = Field(default_factory=list, description="why records were quarantined (first few)")


@router.get("/posts", response_model=PostPage, summary="Posts, newest first, filtered")
def list_posts(
    platform: str | None = Query(None, max_length=32, description="e.g. x, mastodon, weibo, reddit"),
    lang: str | None = Query(None, max_length=16, description="language code, e.g. en, zh"),
    author: str | None = Query(None, max_length=256, description="author handle or platform id"),
    since: datetime | None = Query(None, description="created at or after (ISO 8601; UTC if no zone)"),
    until: datetime | None = Query(None, description="created before (ISO 8601; UTC if no zone)"),
    contains: str | None = Query(None, max_length=200, description="text contains this (case as stored)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    store: Store = Depends(get_store),
    _key=Depends(require("posts:read")),
) -> PostPage:
    if since and until and _as_utc(since) >= _as_utc(until):
        raise BadInput("until", f"{until.isoformat()} is not after since={since.isoformat()}",
                       "pass an until later than since")
    rows = store.query_posts(platform=platform, lang=lang, author=author, since=since, until=until,
                             contains=contains, limit=limit, offset=offset)
    return PostPage(posts=[PostOut(**r) for r in rows], count=len(rows), limit=limit, offset=offset)


@router.post("/posts", response_model=IngestReportOut, summary="Ingest a batch of posts")
def ingest_posts(
    records: list[dict[str, Any]] = Body(
        ...,
        description="A JSON list of post objects. The generic shape: id, text, author, created_at (ISO 8601), "
        "optional lang, platform, reply_to. Records that cannot be stored are quarantined with a reason "
        "(see `townsquare quarantine`), not rejected.",
        examples=[[{"id": "1", "text": "hello", "author": "alice", "created_at": "2026-11-28T14:10:08Z",
                    "lang": "en"}]],
    ),
    fmt: str = Query("generic", max_length=32, description="record shape: generic or a platform payload shape"),
    platform: str | None = Query(None, max_length=32, description="platform for records that do not name one"),
    store: Store = Depends(get_store),
    _key=Depends(require("posts:write")),
) -> IngestReportOut:
    # Imported on first use, so the API starts without loading ingest's readers.
    from townsquare.ingest import ingest_records

    report = ingest_records(records, fmt, source="api", store=store, platform=platform)
    return IngestReportOut(
        read=report.read, new=report.new, updated=report.updated, unchanged=report.unchanged,
        quarantined=report.quarantined, stored=report.stored, summary=report.summary(),
        reasons=list(report.reasons)[:20],
    )


def _as_utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts

