"""Hand-offs: a conversation passed to a person, with why and a summary the agent can read in ten seconds.

Reasons (`REASONS`): the customer asked for a person, the question is out of scope for the intent model,
retrieval found nothing confident enough to quote, the customer is angry or abusive, or the topic is a policy
marked sensitive in the knowledge base. While a hand-off is open the assistant stays quiet in that conversation
(the customer is told a colleague will answer); the agent's replies go into the conversation, and closing the
hand-off gives the conversation back to the assistant.

The summary is extractive — the customer's own (redacted) words, the intents and topics seen, the mood — so it
never says anything the conversation did not.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update

from townsquare.errors import BadInput, NotFound
from townsquare.respond import conversations as convs
from townsquare.store import Store
from townsquare.store.tables import ConversationRow, HandoffRow

REASONS = {
    "asked_for_person": "the customer asked for a person",
    "out_of_scope": "the question is outside what the assistant knows (intent out of scope)",
    "low_confidence": "nothing in the knowledge base matched well enough to quote",
    "angry": "the customer sounds angry or abusive",
    "sensitive": "a sensitive policy topic",
}
LANG_NAMES = {"en": "English", "zh": "Chinese", "other": "another language", "und": "an unknown language"}
QUOTE_CHARS = 160


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[:QUOTE_CHARS]}{'…' if len(text) > QUOTE_CHARS else ''}”"


def summarize(messages: list[dict], reason: str, detail: str = "") -> str:
    """A few lines for the agent: why, who (language, mood), what was asked, what the assistant answered from."""
    customer = [m for m in messages if m["role"] == "customer"]
    answers = [m for m in messages if m["role"] == "assistant"]
    langs = Counter(m["lang"] for m in customer if m["lang"])
    lang = langs.most_common(1)[0][0] if langs else "und"
    lines = [f"Hand-off: {REASONS.get(reason, reason)}" + (f" ({detail})" if detail else "") + "."]
    moods = [m["meta"].get("mood") for m in customer if m["meta"].get("mood")]
    mood = f"; mood of the last message: {moods[-1]}" if moods else ""
    lines.append(f"Customer writes in {LANG_NAMES.get(lang, lang)}; {len(customer)} message(s){mood}.")
    if customer:
        lines.append(f"First asked: {_quote(customer[0]['text'])}")
    if len(customer) > 1:
        lines.append(f"Last said: {_quote(customer[-1]['text'])}")
    intents = [m["meta"].get("intent") for m in customer if m["meta"].get("intent") not in (None, "")]
    if intents:
        lines.append("Intents seen: " + ", ".join(dict.fromkeys(intents)) + ".")
    topics = [s["title"] for m in answers for s in m["meta"].get("sources", [])]
    if topics:
        lines.append("The assistant answered from: " + ", ".join(dict.fromkeys(topics)) + ".")
    elif answers:
        lines.append("The assistant had no article to quote.")
    return "\n".join(lines)


def _dict(r, conv: dict | None = None) -> dict:
    out = {"id": r.id, "conversation_id": r.conversation_id, "message_id": r.message_id, "reason": r.reason,
           "reason_text": REASONS.get(r.reason, r.reason), "detail": r.detail, "summary": r.summary,
           "status": r.status, "agent_key_id": r.agent_key_id, "created_at": convs.iso(r.created_at),
           "closed_at": convs.iso(r.closed_at)}
    if conv is not None:
        out["conversation"] = conv
    return out


def open_for(store: Store, conversation_id: int, reason: str, *, detail: str = "",
             message_id: int | None = None) -> dict:
    """Open a hand-off for the conversation (or return the one already open, its summary refreshed)."""
    if reason not in REASONS:
        raise BadInput("reason", f"{reason!r} is not a hand-off reason", f"use one of {', '.join(REASONS)}")
    summary = summarize(convs.messages(store, conversation_id), reason, detail)
    t = convs.now()
    with store.engine.begin() as conn:
        existing = conn.execute(select(HandoffRow).where(HandoffRow.conversation_id == conversation_id,
                                                         HandoffRow.status == "open")).first()
        if existing is not None:
            conn.execute(update(HandoffRow).where(HandoffRow.id == existing.id).values(summary=summary))
            hid = existing.id
        else:
            hid = conn.execute(HandoffRow.__table__.insert().values(
                conversation_id=conversation_id, message_id=message_id, reason=reason, detail=detail[:500],
                summary=summary, status="open", created_at=t)).inserted_primary_key[0]
        conn.execute(update(ConversationRow).where(ConversationRow.id == conversation_id).values(
            status="handed_off", updated_at=t))
    return get(store, hid)


def open_handoff_of(store: Store, conversation_id: int) -> dict | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(HandoffRow).where(HandoffRow.conversation_id == conversation_id,
                                                  HandoffRow.status == "open")).first()
    return _dict(r) if r else None


def get(store: Store, handoff_id: int, *, with_conversation: bool = False) -> dict:
    with store.engine.connect() as conn:
        r = conn.execute(select(HandoffRow).where(HandoffRow.id == handoff_id)).first()
    if r is None:
        raise NotFound(f"handoff_id: no hand-off {handoff_id} — list the open ones with `townsquare handoffs list` or GET /handoffs")
    conv = convs.with_messages(store, r.conversation_id, convs.Viewer.staff()) if with_conversation else None
    return _dict(r, conv)


def list_handoffs(store: Store, status: str | None = "open", limit: int = 100) -> list[dict]:
    """Hand-offs, oldest open first (the queue an agent works through); with their conversations' titles."""
    q = (select(HandoffRow, ConversationRow.title.label("conv_title"), ConversationRow.lang.label("conv_lang"))
         .join(ConversationRow, ConversationRow.id == HandoffRow.conversation_id)
         .order_by(HandoffRow.created_at, HandoffRow.id).limit(limit))
    if status:
        q = q.where(HandoffRow.status == status)
    with store.engine.connect() as conn:
        return [{**_dict(r), "title": r.conv_title, "lang": r.conv_lang} for r in conn.execute(q)]


def reply(store: Store, handoff_id: int, text: str, agent_key_id: int | None = None) -> dict:
    """The agent's answer, added to the customer's conversation (redacted at rest like every message)."""
    if not text or not text.strip():
        raise BadInput("text", "is empty", "write the reply to the customer")
    h = get(store, handoff_id)
    if h["status"] != "open":
        raise BadInput("handoff_id", f"hand-off {handoff_id} is closed", "reopen the conversation by replying "
                       "in a new hand-off, or read it with GET /conversations/{id}")
    msg = convs.add_message(store, h["conversation_id"], "agent", text.strip(), meta={"handoff_id": handoff_id})
    with store.engine.begin() as conn:
        conn.execute(update(HandoffRow).where(HandoffRow.id == handoff_id).values(agent_key_id=agent_key_id))
    return msg


def close(store: Store, handoff_id: int, agent_key_id: int | None = None) -> dict:
    """Close the hand-off; the assistant answers the conversation again."""
    h = get(store, handoff_id)
    if h["status"] == "open":
        t = convs.now()
        with store.engine.begin() as conn:
            conn.execute(update(HandoffRow).where(HandoffRow.id == handoff_id).values(
                status="closed", closed_at=t, agent_key_id=agent_key_id or h["agent_key_id"]))
        convs.set_status(store, h["conversation_id"], "open")
    return get(store, handoff_id)
