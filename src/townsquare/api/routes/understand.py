"""`POST /analyze`: the understand models on a batch of posts (English and Chinese, no flag needed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from townsquare.api.security import require

router = APIRouter(tags=["understand"])
MAX_POSTS = 5_000


class PostIn(BaseModel):
    id: str | int | None = Field(None, description="echoed back with the result")
    text: str = Field(..., max_length=100_000)
    lang: str | None = Field(None, max_length=16, description="skip language detection: en, zh, ...")


class AnalyzeIn(BaseModel):
    posts: list[PostIn] = Field(..., min_length=1, max_length=MAX_POSTS,
                                description=f"1 to {MAX_POSTS:,} posts; send more as several requests")


class AnalyzeOut(BaseModel):
    results: list[dict] = Field(description="one per post, in order: id, lang, sentiment, emotion, offensive, hate, "
                                            "irony, crisis_informative, toxicity, pii — or id and error")


@router.post("/analyze", response_model=AnalyzeOut, summary="Analyse a batch of posts")
async def analyze(body: AnalyzeIn, _key=Depends(require("understand"))) -> AnalyzeOut:
    from townsquare.understand.batch import get_analyzer, output_record

    def run() -> list[dict]:  # model work off the event loop; one batched pass for the whole request
        results = get_analyzer().analyze([p.text for p in body.posts], [p.lang for p in body.posts])
        return [output_record(p.id, r) for p, r in zip(body.posts, results, strict=True)]

    return AnalyzeOut(results=await run_in_threadpool(run))
