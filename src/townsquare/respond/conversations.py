"""Conversations and their messages in the store, with personal data redacted before anything is written.

Who may see what: a `Viewer` is the API key asking. A customer key sees only the conversations it opened
(anything else is reported as not found, so a customer cannot even learn that another conversation exists);
agent and admin keys see every conversation. The CLI and library callers pass `Viewer.staff()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from townsquare.errors import NotFound
from townsquare.store import Store
from townsquare.store.tables import ConversationRow, InjectionLogRow, MessageRow
from townsquare.text.pii import redact

ROLES = ("customer", "assistant", "agent", "system")
TITLE_CHARS = 120


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(t: datetime | None) -> str | None:
    return t.isoformat() + "Z" if t else None


def scrub(text: str) -> str:
    """The text as it may be stored: e-mails, phones, IDs, cards and IPs replaced by ``[kind]``."""
    return redact(text or "")


@dataclass(frozen=True)
class Viewer:
    key_id: int | None
    role: str

    @property
    def sees_all(self) -> bool:
        return self.role != "customer"

    @classmethod
    def staff(cls) -> Viewer:
        return cls(None, "admin")

    @classmethod
    def of(cls, key) -> Viewer:
        return cls(key.id, key.role)


def _conv_dict(r) -> dict:
    return {"id": r.id, "status": r.status, "lang": r.lang, "title": r.title, "channel": r.channel,
            "owner_key_id": r.owner_key_id, "created_at": iso(r.created_at), "updated_at": iso(r.updated_at)}


def _msg_dict(r) -> dict:
    return {"id": r.id, "conversation_id": r.conversation_id, "role": r.role, "text": r.text, "lang": r.lang,
            "meta": r.meta or {}, "created_at": iso(r.created_at)}


def create(store: Store, viewer: Viewer, channel: str = "api") -> dict:
    t = now()
    with store.engine.begin() as conn:
        cid = conn.execute(ConversationRow.__table__.insert().values(
            owner_key_id=viewer.key_id, channel=channel, lang="", status="open", title="", created_at=t,
            updated_at=t)).inserted_primary_key[0]
    return get(store, cid, viewer)


def _row(store: Store, conversation_id: int, viewer: Viewer):
    with store.engine.connect() as conn:
        row = conn.execute(select(ConversationRow).where(ConversationRow.id == conversation_id)).first()
    if row is None or (not viewer.sees_all and row.owner_key_id != viewer.key_id):
        raise NotFound(f"conversation_id: no conversation {conversation_id} for this key — "
                       "start one with `townsquare chat` (no --conversation) or POST /conversations")
    return row


def get(store: Store, conversation_id: int, viewer: Viewer) -> dict:
    """The conversation (raises NotFound when it does not exist or the viewer may not see it)."""
    return _conv_dict(_row(store, conversation_id, viewer))


def check(store: Store, conversation_id: int, viewer: Viewer) -> None:
    _row(store, conversation_id, viewer)


def with_messages(store: Store, conversation_id: int, viewer: Viewer, after_id: int = 0) -> dict:
    conv = get(store, conversation_id, viewer)
    conv["messages"] = messages(store, conversation_id, after_id=after_id)
    return conv


def messages(store: Store, conversation_id: int, *, after_id: int = 0, limit: int | None = None) -> list[dict]:
    """Messages oldest first (``limit``: only the newest ``limit`` of them)."""
    q = select(MessageRow).where(MessageRow.conversation_id == conversation_id, MessageRow.id > after_id)
    if limit:
        q = q.order_by(MessageRow.id.desc()).limit(limit)
    else:
        q = q.order_by(MessageRow.id)
    with store.engine.connect() as conn:
        rows = [_msg_dict(r) for r in conn.execute(q)]
    return sorted(rows, key=lambda m: m["id"])


def list_conversations(store: Store, viewer: Viewer, *, status: str | None = None, limit: int = 50) -> list[dict]:
    q = select(ConversationRow).order_by(ConversationRow.updated_at.desc(), ConversationRow.id.desc()).limit(limit)
    if not viewer.sees_all:
        q = q.where(ConversationRow.owner_key_id == viewer.key_id)
    if status:
        q = q.where(ConversationRow.status == status)
    with store.engine.connect() as conn:
        return [_conv_dict(r) for r in conn.execute(q)]


def add_message(store: Store, conversation_id: int, role: str, text: str, *, lang: str = "",
                meta: dict | None = None) -> dict:
    """Store one message (text redacted); the first customer message also becomes the conversation's title."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    clean = scrub(text)
    t = now()
    with store.engine.begin() as conn:
        mid = conn.execute(MessageRow.__table__.insert().values(
            conversation_id=conversation_id, role=role, text=clean, lang=lang or "", meta=meta or {},
            created_at=t)).inserted_primary_key[0]
        values: dict = {"updated_at": t}
        if role == "customer":
            if lang in ("en", "zh"):
                values["lang"] = lang
            title = conn.execute(select(ConversationRow.title).where(ConversationRow.id == conversation_id)).scalar()
            if not title:
                values["title"] = " ".join(clean.split())[:TITLE_CHARS]
        conn.execute(update(ConversationRow).where(ConversationRow.id == conversation_id).values(**values))
    return {"id": mid, "conversation_id": conversation_id, "role": role, "text": clean, "lang": lang or "",
            "meta": meta or {}, "created_at": iso(t)}


def get_message(store: Store, message_id: int) -> dict | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(MessageRow).where(MessageRow.id == message_id)).first()
    return _msg_dict(r) if r else None


def set_status(store: Store, conversation_id: int, status: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(ConversationRow).where(ConversationRow.id == conversation_id).values(
            status=status, updated_at=now()))


def log_injection(store: Store, *, conversation_id: int | None, message_id: int | None, location: str,
                  score: float, reason: str, text: str) -> None:
    """Keep a refused injection attempt for review (redacted, first 500 characters)."""
    with store.engine.begin() as conn:
        conn.execute(InjectionLogRow.__table__.insert().values(
            conversation_id=conversation_id, message_id=message_id, location=location, score=float(score),
            reason=reason, excerpt=scrub(text)[:500], created_at=now()))


def injections(store: Store, limit: int = 100) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(InjectionLogRow).order_by(InjectionLogRow.id.desc()).limit(limit))
        return [{"id": r.id, "conversation_id": r.conversation_id, "message_id": r.message_id,
                 "location": r.location, "score": r.score, "reason": r.reason, "excerpt": r.excerpt,
                 "created_at": iso(r.created_at)} for r in rows]


def count_by_status(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {s: n for s, n in conn.execute(
            select(ConversationRow.status, func.count()).group_by(ConversationRow.status))}
