"""Feeds over HTTP: `GET /users/{id}/feed`, `GET /users/{id}/profile`, what a user saw or blocked, and the
demo users to pick from. Thin: every answer comes from `townsquare.recommend.feed`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select

from townsquare.api.security import get_store, require
from townsquare.recommend.feed import MAX_K
from townsquare.store import Store
from townsquare.store.tables import AuthorRow, PostRow

router = APIRouter(tags=["recommend"])


class FeedItemOut(BaseModel):
    post_id: int
    score: float
    reasons: list[str]
    source: str = Field(description="in_network, friends, similar, collaborative, trending (or promoted)")
    sources: list[str] = Field(default_factory=list, description="every source that proposed the post")
    promoted: bool = False
    author_id: int | None = None
    author: str | None = None
    created_at: datetime | None = None
    lang: str | None = None
    text: str = ""


class FeedOut(BaseModel):
    user_id: int
    strategy: str
    k: int
    count: int
    ranker: str = Field(description="learned, or heuristic until `townsquare feed train` has run")
    clock: str = Field(description="the moment the feed is computed for: the store's newest post, at most now")
    items: list[FeedItemOut]
    note: str = ""


class SeenIn(BaseModel):
    post_ids: list[int] = Field(..., min_length=1, max_length=5_000)


class BlockIn(BaseModel):
    target_id: int
    kind: Literal["block", "mute"] = "block"


def _utc(ts: datetime | None) -> datetime | None:
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def _hydrate(store: Store, items) -> list[FeedItemOut]:
    """Text, author handle and language of the feed's posts, in one query."""
    p, a = PostRow.__table__.c, AuthorRow.__table__.c
    ids = [it.post_id for it in items]
    with store.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(
            select(p.id, p.text, p.lang, a.handle).select_from(PostRow.__table__.outerjoin(AuthorRow.__table__,
                                                                                           a.id == p.author_id))
            .where(p.id.in_(ids)))} if ids else {}
    out = []
    for it in items:
        r = rows.get(it.post_id)
        out.append(FeedItemOut(post_id=it.post_id, score=it.score, reasons=it.reasons, source=it.source,
                               sources=getattr(it, "sources", []) or [it.source], promoted=it.promoted,
                               author_id=it.author_id, author=r.handle if r else None, created_at=_utc(it.created_at),
                               lang=r.lang if r else None, text=r.text if r else ""))
    return out


@router.get("/users/{user_id}/feed", response_model=FeedOut, summary="A user's personalised feed, with reasons")
def feed(
    user_id: int,
    k: int = Query(50, ge=1, le=MAX_K, description=f"items, 1 to {MAX_K}"),
    strategy: Literal["ranked", "chronological"] = Query("ranked", description="ranked (full pipeline) or "
                                                          "chronological (followed authors, newest first)"),
    store: Store = Depends(get_store),
    _key=Depends(require("recommend")),
) -> FeedOut:
    from townsquare.recommend.feed import empty_note, get_service

    svc = get_service(store)
    items = svc.feed(user_id, k, strategy=strategy)
    note = "" if items else empty_note(svc)
    return FeedOut(user_id=user_id, strategy=strategy, k=k, count=len(items), ranker=svc.ranker.kind,
                   clock=svc.state.clock.isoformat() + "Z", items=_hydrate(store, items), note=note)


@router.get("/users/{user_id}/profile", summary="What a user's feed is built from")
def profile(user_id: int, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.feed import user_profile

    return user_profile(store, user_id)


@router.post("/users/{user_id}/seen", summary="Record posts as shown; they leave the user's feeds")
def seen(user_id: int, body: SeenIn, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.feed import get_service
    from townsquare.recommend.filters import mark_seen

    svc = get_service(store)
    svc.profile(user_id)  # 404 for an unknown user
    added = mark_seen(store, user_id, body.post_ids)
    svc.forget(user_id)
    return {"user_id": user_id, "recorded": added}


@router.post("/users/{user_id}/blocks", summary="Block or mute an author for a user")
def blocks(user_id: int, body: BlockIn, store: Store = Depends(get_store),
           _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.feed import get_service
    from townsquare.recommend.filters import block

    svc = get_service(store)
    svc.profile(user_id)
    svc.profile(body.target_id)
    added = block(store, user_id, body.target_id, body.kind)
    svc.forget(user_id)
    return {"user_id": user_id, "target_id": body.target_id, "kind": body.kind, "new": added}


@router.get("/recommend/users", summary="Users to look at: a handle search, or the most followed")
def users(q: str = Query("", max_length=64, description="start of a handle or display name"),
          limit: int = Query(20, ge=1, le=200), store: Store = Depends(get_store),
          _key=Depends(require("recommend"))) -> dict:
    a = AuthorRow.__table__.c
    query = select(a.id, a.handle, a.display_name, a.followers, a.extra).order_by(a.followers.desc(), a.id).limit(limit)
    if q.strip():
        term = q.strip().lstrip("@")
        query = query.where(or_(func.lower(a.handle).startswith(term.lower(), autoescape=True),
                                a.display_name.startswith(term, autoescape=True)))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {"users": [{"id": r.id, "handle": r.handle, "display_name": r.display_name, "followers": r.followers,
                       "lang": (r.extra or {}).get("lang"), "interests": (r.extra or {}).get("interests", [])}
                      for r in rows]}


@router.get("/recommend/status", summary="The feed service: clock, window, index, ranker")
def status(store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.feed import get_service

    return get_service(store).info()
