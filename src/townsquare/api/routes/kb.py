"""The knowledge base over HTTP (agents and admins, permission ``respond``): documents, hybrid search, and the
prompt-injection check the assistant runs on every message. Documents are added with `townsquare kb add`."""

from __future__ import annotations

import threading
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from townsquare.api.security import get_store, require
from townsquare.store import Store

router = APIRouter(tags=["respond"])
_kbs: dict[int, object] = {}
_lock = threading.Lock()


def _kb(store: Store):
    """One KnowledgeBase per engine and process: its retrieval index is built once and kept."""
    from townsquare.respond.kb import KnowledgeBase

    with _lock:
        kb = _kbs.get(id(store.engine))
        if kb is None:
            kb = _kbs[id(store.engine)] = KnowledgeBase(store)
        return kb


class InjectionIn(BaseModel):
    texts: list[str] = Field(..., min_length=1, max_length=256, description="messages or passages to check")
    context: Literal["message", "document"] = Field(
        "message", description="message: a customer's; document: knowledge-base text (policy pages may mention "
                               "other customers' data without asking for it)")


@router.get("/kb/documents", summary="Knowledge-base documents (key, language, kind, chunks, flagged)",
            dependencies=[Depends(require("respond"))])
async def documents(store: Store = Depends(get_store)) -> list[dict]:
    return await run_in_threadpool(_kb(store).documents)


@router.get("/kb/search", summary="Hybrid search: BM25 (jieba for Chinese) + multilingual embeddings, fused",
            dependencies=[Depends(require("respond"))])
async def search(q: str = Query(..., max_length=4_000, description="the question"),
                 k: int = Query(5, ge=1, le=50), lang: str | None = Query(None, pattern="^[a-z]{2}$"),
                 store: Store = Depends(get_store)) -> list[dict]:
    hits = await run_in_threadpool(_kb(store).search, q, k, lang=lang)
    return [dict(rank=i, score=p.score, doc_key=p.doc_key, lang=p.lang, title=p.title, source=p.source,
                 heading=p.heading, chunk_id=p.chunk_id, text=p.text) for i, p in enumerate(hits, 1)]


@router.post("/safety/injection", summary="Prompt-injection check (English, Chinese, German)",
             dependencies=[Depends(require("respond"))])
async def injection(body: InjectionIn, store: Store = Depends(get_store)) -> list[dict]:
    from townsquare.respond.safety import detect_injection

    kb = _kb(store)
    verdicts = await run_in_threadpool(detect_injection, body.texts, embedder=kb.embedder, context=body.context)
    return [dict(attack=v.is_attack, score=round(v.score, 4), reason=v.reason) for v in verdicts]
