"""`POST /generate`: candidates for a brief or a reply, gated by the understand models and ranked."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from townsquare.api.security import get_store, require
from townsquare.store import Store

router = APIRouter(tags=["create"])


class GenerateIn(BaseModel):
    brief: str = Field("", max_length=2_000, description="topic and key points")
    lang: str = Field("en", description="en or zh")
    platform: str = Field("x", description="x, mastodon or weibo")
    n: int = Field(5, description="candidates, 1-20")
    tone: str | None = Field(None, max_length=40)
    hashtags: bool | None = True
    max_chars: int | None = None
    reply_to: str | None = Field(None, max_length=5_000, description="the post to reply to")
    voice: str | None = Field(None, max_length=200)
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int | None = None


@router.post("/generate", summary="Write candidate posts or replies, gated and ranked")
async def generate(body: GenerateIn, store: Store = Depends(get_store), _key=Depends(require("create"))) -> dict:
    from townsquare.create.writer import WriteRequest, write

    req = WriteRequest(**body.model_dump())
    return (await run_in_threadpool(write, req, store=store)).to_dict()
