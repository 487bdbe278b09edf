"""`GET /overview`: the counts behind the dashboard's first page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, field_validator

from townsquare.api.security import get_store, require
from townsquare.api.stats import overview as store_overview
from townsquare.store import Store

router = APIRouter(tags=["overview"])


class LangCount(BaseModel):
    lang: str
    count: int


class PlatformCount(BaseModel):
    platform: str
    count: int


class DayCount(BaseModel):
    day: str  # YYYY-MM-DD (UTC)
    count: int


class Overview(BaseModel):
    posts: int
    authors: int
    quarantined: int
    first_post_at: datetime | None = None
    last_post_at: datetime | None = None
    by_lang: list[LangCount]
    by_platform: list[PlatformCount]
    by_day: list[DayCount]

    @field_validator("first_post_at", "last_post_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v


@router.get("/overview", response_model=Overview, summary="Post counts by language, platform and day")
def overview(
    days: int = Query(30, ge=1, le=366, description="how many days of the per-day counts, ending at the newest post"),
    store: Store = Depends(get_store),
    _key=Depends(require("posts:read")),
) -> Overview:
    return Overview(**store_overview(store, days=days))
