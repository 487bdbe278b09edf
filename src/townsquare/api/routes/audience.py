"""Audiences and promoted posts over HTTP: segments, look-alikes, matching a post to users, promotions.
Thin: every answer comes from `townsquare.recommend.audiences` and `townsquare.recommend.promoted`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from townsquare.api.security import get_store, require
from townsquare.store import Store

router = APIRouter(tags=["audiences"])


class LookalikeIn(BaseModel):
    seed: list[int] = Field(..., min_length=1, max_length=100_000, description="ids of users like the audience")
    k: int = Field(100, ge=1, le=1_000_000, description="how many look-alike users")


class PromoteIn(BaseModel):
    post_id: int
    audience: int = Field(1_000, ge=1, le=1_000_000, description="best-matching users to show it to")
    cap: int = Field(3, ge=1, le=1_000, description="at most this many impressions per user ...")
    cap_hours: int = Field(24, ge=1, le=8_760, description="... in this many hours")
    name: str = Field("", max_length=128, description="a label shown with the promoted item")


@router.get("/audiences/segments", summary="Interest segments with readable labels (c-TF-IDF)")
def segments(k: int | None = Query(None, ge=1, le=100, description="segments (default: chosen by silhouette)"),
             users: bool = Query(False, description="list every member's id"),
             store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.audiences import segments as build

    return {"segments": [s.to_dict(with_users=users) for s in build(store, k)]}


@router.post("/audiences/lookalike", summary="Users closest in interests to a seed list")
def lookalike(body: LookalikeIn, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.audiences import lookalike as build

    return build(store, body.seed, body.k)


@router.get("/audiences/match", summary="The users most likely to engage with a post")
def match(post_id: int = Query(..., description="the post's stored id"),
          k: int = Query(100, ge=1, le=1_000_000), store: Store = Depends(get_store),
          _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.audiences import match as build

    return {"post_id": post_id, "users": build(store, post_id, k)}


@router.post("/promoted", status_code=201, summary="Promote a post to its best-matching audience, capped per user")
def promote(body: PromoteIn, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.promoted import promote as run

    return run(store, body.post_id, audience=body.audience, cap=body.cap, cap_hours=body.cap_hours, name=body.name)


@router.get("/promoted", summary="Promotions with audience, impressions and reach")
def promoted(active: bool = Query(False, description="only running promotions"), store: Store = Depends(get_store),
             _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.promoted import default_rate, list_promotions

    return {"rate": default_rate(), "promotions": list_promotions(store, active_only=active)}


@router.post("/promoted/{promoted_id}/stop", summary="Stop a promotion")
def stop(promoted_id: int, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.recommend.promoted import stop_promotion

    return stop_promotion(store, promoted_id)
