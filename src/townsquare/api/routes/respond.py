"""Respond over HTTP: conversations with the assistant, the agents' hand-off queue, ratings and corrections.

Customer keys (role ``customer``, permission ``chat``) open conversations and see only their own: another
conversation answers 404, exactly as one that does not exist. Agent and admin keys (``respond``) see all of them,
work the hand-off queue and review corrections.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from townsquare.api.security import current_key, get_store, require
from townsquare.auth import ApiKey
from townsquare.errors import BadInput
from townsquare.respond import conversations as convs
from townsquare.respond import feedback, handoff
from townsquare.store import Store

router = APIRouter(tags=["respond"])


def chat_or_respond(key: ApiKey = Depends(current_key)) -> ApiKey:
    if not (key.can("chat") or key.can("respond")):
        raise HTTPException(403, f"permission: a key with role {key.role!r} may not chat — "
                                 "use a key with role customer, agent or admin")
    return key


class ConversationIn(BaseModel):
    channel: Literal["api", "web", "cli"] = "api"


class MessageIn(BaseModel):
    text: str = Field(..., description="the customer's message (1 to 4,000 characters)")


class RatingIn(BaseModel):
    rating: Literal[1, -1] = Field(..., description="1 helpful, -1 not helpful")
    comment: str = Field("", max_length=1_000)


class AgentReplyIn(BaseModel):
    text: str = Field(..., max_length=10_000)


class CorrectionIn(BaseModel):
    target: Literal["faq", "intent"] = Field("faq", description="faq: a better answer; intent: the right intent")
    message_id: int | None = Field(None, description="the assistant answer being corrected (its question is used)")
    question: str = Field("", max_length=2_000)
    answer: str = Field("", max_length=5_000)
    intent: str = Field("", max_length=128)
    lang: Literal["", "en", "zh"] = ""


class ReviewIn(BaseModel):
    note: str = Field("", max_length=1_000)


def _assistant(store: Store):
    from townsquare.respond.assistant import get_assistant

    return get_assistant(store)


@router.post("/conversations", summary="Start a conversation with the assistant", status_code=201)
def new_conversation(body: ConversationIn | None = None, store: Store = Depends(get_store),
                     key: ApiKey = Depends(chat_or_respond)) -> dict:
    return convs.create(store, convs.Viewer.of(key), (body or ConversationIn()).channel)


@router.get("/conversations", summary="Conversations, newest first (a customer key: its own)")
def list_conversations(status: Literal["open", "handed_off", "closed"] | None = None,
                       limit: int = Query(50, ge=1, le=500), store: Store = Depends(get_store),
                       key: ApiKey = Depends(chat_or_respond)) -> dict:
    return {"conversations": convs.list_conversations(store, convs.Viewer.of(key), status=status, limit=limit)}


@router.get("/conversations/{conversation_id}", summary="A conversation with its messages")
def get_conversation(conversation_id: int, after: int = Query(0, ge=0, description="only messages after this id"),
                     store: Store = Depends(get_store), key: ApiKey = Depends(chat_or_respond)) -> dict:
    conv = convs.with_messages(store, conversation_id, convs.Viewer.of(key), after_id=after)
    conv["handoff"] = handoff.open_handoff_of(store, conversation_id)
    if conv["handoff"] and key.role == "customer":
        conv["handoff"] = {k: conv["handoff"][k] for k in ("id", "status", "reason", "created_at")}
    return conv


@router.post("/conversations/{conversation_id}/messages", summary="Send a message; get the assistant's answer")
async def post_message(conversation_id: int, body: MessageIn, store: Store = Depends(get_store),
                       key: ApiKey = Depends(chat_or_respond)) -> dict:
    from townsquare.respond.assistant import check_message

    viewer = convs.Viewer.of(key)
    await run_in_threadpool(convs.check, store, conversation_id, viewer)  # 404 before judging the text
    try:
        text = check_message(body.text)
    except BadInput as exc:
        raise HTTPException(422, str(exc)) from None
    assistant = _assistant(store)
    return await run_in_threadpool(assistant.reply, conversation_id, text, viewer)


@router.post("/messages/{message_id}/feedback", summary="Rate an answer of the assistant (1 or -1)")
def rate_message(message_id: int, body: RatingIn, store: Store = Depends(get_store),
                 key: ApiKey = Depends(chat_or_respond)) -> dict:
    return feedback.rate(store, message_id, body.rating, convs.Viewer.of(key), body.comment)


@router.get("/handoffs", summary="Hand-offs to a person, oldest first, with reason and summary")
def list_handoffs(status: Literal["open", "closed", "all"] = "open", limit: int = Query(100, ge=1, le=500),
                  store: Store = Depends(get_store), _key=Depends(require("respond"))) -> dict:
    return {"handoffs": handoff.list_handoffs(store, None if status == "all" else status, limit)}


@router.get("/handoffs/{handoff_id}", summary="A hand-off with its whole conversation")
def get_handoff(handoff_id: int, store: Store = Depends(get_store), _key=Depends(require("respond"))) -> dict:
    return handoff.get(store, handoff_id, with_conversation=True)


@router.post("/handoffs/{handoff_id}/reply", summary="Answer the customer (the reply goes into the conversation)")
def reply_handoff(handoff_id: int, body: AgentReplyIn, store: Store = Depends(get_store),
                  key: ApiKey = Depends(require("respond"))) -> dict:
    if not body.text.strip():
        raise HTTPException(422, "text: is empty — write the reply to the customer")
    return handoff.reply(store, handoff_id, body.text, key.id)


@router.post("/handoffs/{handoff_id}/close", summary="Close the hand-off; the assistant answers again")
def close_handoff(handoff_id: int, store: Store = Depends(get_store),
                  key: ApiKey = Depends(require("respond"))) -> dict:
    return handoff.close(store, handoff_id, key.id)


@router.post("/corrections", summary="Propose a better answer (faq) or the right intent for a question",
             status_code=201)
def new_correction(body: CorrectionIn, store: Store = Depends(get_store),
                   key: ApiKey = Depends(require("respond"))) -> dict:
    return feedback.correct(store, answer=body.answer, intent=body.intent, question=body.question,
                            message_id=body.message_id, lang=body.lang, target=body.target, created_by=key.id)


@router.get("/corrections", summary="Corrections by review status")
def list_corrections(status: Literal["pending", "approved", "rejected", "all"] = "pending",
                     store: Store = Depends(get_store), _key=Depends(require("respond"))) -> dict:
    return {"corrections": feedback.list_corrections(store, None if status == "all" else status)}


@router.post("/corrections/{correction_id}/approve", summary="Approve: FAQ answers join the knowledge base, "
             "intent examples the intent model")
async def approve_correction(correction_id: int, body: ReviewIn | None = None, store: Store = Depends(get_store),
                             key: ApiKey = Depends(require("respond"))) -> dict:
    assistant = _assistant(store)
    return await run_in_threadpool(lambda: feedback.review(store, correction_id, True, reviewer=key.id,
                                                           note=(body or ReviewIn()).note, kb=assistant.kb))


@router.post("/corrections/{correction_id}/reject", summary="Reject a correction")
def reject_correction(correction_id: int, body: ReviewIn | None = None, store: Store = Depends(get_store),
                      key: ApiKey = Depends(require("respond"))) -> dict:
    return feedback.review(store, correction_id, False, reviewer=key.id, note=(body or ReviewIn()).note)


@router.get("/corrections/export", summary="Approved corrections as fine-tuning pairs (JSONL for create)",
            response_class=PlainTextResponse)
def export_corrections(store: Store = Depends(get_store), _key=Depends(require("respond"))) -> PlainTextResponse:
    import json

    lines = [json.dumps(p, ensure_ascii=False) for p in feedback.finetune_pairs(store)]
    return PlainTextResponse("\n".join(lines) + ("\n" if lines else ""), media_type="application/x-ndjson")
