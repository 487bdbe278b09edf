"""The feedback loop: customers rate answers, agents correct them, reviewed corrections teach the assistant.

* `rate(message_id, +1 | -1)`: a customer's thumbs on one assistant answer (rating again replaces it).
* `correct(...)`: an agent's better answer to a question (target ``faq``) or the question's right intent
  (target ``intent``); it waits for review.
* `review(id, approve)`: approved FAQ corrections are written to one CSV (``question,answer,key,lang``) under
  the data dir and added to the knowledge base — retrieval finds them like any FAQ entry, and re-adding the file
  replaces the previous set; approved intent corrections join the intent examples the assistant trains on
  (it retrains on its next turn: the cached model is keyed by the examples' hash).
* `export_finetune(path)`: approved FAQ corrections as prompt/completion JSONL in the create fine-tuning format
  (`townsquare.create.finetune.prompt`, task ``reply``, voice "customer support agent"), readable by
  `townsquare finetune train --pairs`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select, update

from townsquare.errors import BadInput, NotFound
from townsquare.respond import conversations as convs
from townsquare.store import Store
from townsquare.store.tables import CorrectionRow, RatingRow

TARGETS = ("faq", "intent")
FAQ_FILE = "corrections_faq.csv"


def rate(store: Store, message_id: int, rating: int, viewer: convs.Viewer, comment: str = "") -> dict:
    """Thumbs up (+1) or down (-1) on an assistant answer the viewer may see."""
    if rating not in (1, -1):
        raise BadInput("rating", f"{rating} is not a rating", "use 1 (helpful) or -1 (not helpful)")
    msg = convs.get_message(store, message_id)
    if msg is None:
        raise NotFound(f"message_id: no message {message_id} — rate an answer from GET /conversations/{{id}}")
    convs.check(store, msg["conversation_id"], viewer)  # NotFound for a conversation the key may not see
    if msg["role"] != "assistant":
        raise BadInput("message_id", f"message {message_id} is not an answer of the assistant",
                       "rate the assistant's answers only")
    t = convs.now()
    with store.engine.begin() as conn:
        conn.execute(RatingRow.__table__.delete().where(RatingRow.message_id == message_id))
        conn.execute(RatingRow.__table__.insert().values(message_id=message_id, rating=rating,
                                                          comment=convs.scrub(comment)[:1000],
                                                          key_id=viewer.key_id, created_at=t))
    return {"message_id": message_id, "rating": rating}


def ratings_summary(store: Store) -> dict:
    with store.engine.connect() as conn:
        rows = conn.execute(select(RatingRow.rating)).scalars().all()
    return {"up": sum(r > 0 for r in rows), "down": sum(r < 0 for r in rows)}


def _question_for(store: Store, message_id: int) -> tuple[str, str]:
    """(the customer question an answer replied to, its language)."""
    msg = convs.get_message(store, message_id)
    if msg is None:
        raise NotFound(f"message_id: no message {message_id}")
    before = [m for m in convs.messages(store, msg["conversation_id"]) if m["id"] < message_id
              and m["role"] == "customer"]
    if not before:
        raise BadInput("question", "the message answers no customer question", "give the question yourself")
    return before[-1]["text"], before[-1]["lang"]


def _dict(r) -> dict:
    return {"id": r.id, "message_id": r.message_id, "target": r.target, "question": r.question, "answer": r.answer,
            "intent": r.intent, "lang": r.lang, "status": r.status, "note": r.note, "created_by": r.created_by,
            "reviewed_by": r.reviewed_by, "created_at": convs.iso(r.created_at),
            "reviewed_at": convs.iso(r.reviewed_at)}


def correct(store: Store, *, answer: str = "", intent: str = "", question: str = "", message_id: int | None = None,
            lang: str = "", target: str = "faq", created_by: int | None = None) -> dict:
    """A correction waiting for review. With ``message_id`` (an assistant answer) the question is the one it
    answered; otherwise ``question`` is required."""
    if target not in TARGETS:
        raise BadInput("target", f"{target!r} is not a correction target", f"use one of {', '.join(TARGETS)}")
    if message_id is not None and not question.strip():
        question, qlang = _question_for(store, message_id)
        lang = lang or qlang
    question = convs.scrub(question.strip())
    if not question:
        raise BadInput("question", "is empty", "give the customer's question (or the message_id of the answer)")
    if target == "faq" and not answer.strip():
        raise BadInput("answer", "is empty", "write the answer the assistant should have given")
    if target == "intent" and not intent.strip():
        raise BadInput("intent", "is empty", "name the intent this question belongs to, e.g. talk_to_human")
    if not lang:
        from townsquare.text.langid import detect_language

        lang = detect_language(question)
    with store.engine.begin() as conn:
        cid = conn.execute(CorrectionRow.__table__.insert().values(
            message_id=message_id, target=target, question=question[:2000], answer=convs.scrub(answer.strip()),
            intent=intent.strip(), lang=lang if lang in ("en", "zh") else "en", status="pending", note="",
            created_by=created_by, created_at=convs.now())).inserted_primary_key[0]
    return get(store, cid)


def get(store: Store, correction_id: int) -> dict:
    with store.engine.connect() as conn:
        r = conn.execute(select(CorrectionRow).where(CorrectionRow.id == correction_id)).first()
    if r is None:
        raise NotFound(f"correction_id: no correction {correction_id} — list them with `townsquare corrections list` or GET /corrections")
    return _dict(r)


def list_corrections(store: Store, status: str | None = "pending", limit: int = 200) -> list[dict]:
    q = select(CorrectionRow).order_by(CorrectionRow.id).limit(limit)
    if status:
        q = q.where(CorrectionRow.status == status)
    with store.engine.connect() as conn:
        return [_dict(r) for r in conn.execute(q)]


def review(store: Store, correction_id: int, approve: bool, *, reviewer: int | None = None, note: str = "",
           kb=None, data_dir: str | Path | None = None) -> dict:
    """Approve (it takes effect now) or reject a pending correction."""
    c = get(store, correction_id)
    if c["status"] != "pending":
        raise BadInput("correction_id", f"correction {correction_id} is already {c['status']}",
                       "review the pending ones (GET /corrections)")
    with store.engine.begin() as conn:
        conn.execute(update(CorrectionRow).where(CorrectionRow.id == correction_id).values(
            status="approved" if approve else "rejected", reviewed_by=reviewer, note=note[:1000],
            reviewed_at=convs.now()))
    if approve and c["target"] == "faq":
        apply_faq(store, kb=kb, data_dir=data_dir)
    return get(store, correction_id)


def _data_dir(data_dir) -> Path:
    if data_dir is None:
        from townsquare.config import get_settings

        data_dir = get_settings().data_dir
    return Path(data_dir) / "respond"


def apply_faq(store: Store, *, kb=None, data_dir: str | Path | None = None):
    """Write every approved FAQ correction to the corrections CSV and add it to the knowledge base."""
    rows = [c for c in list_corrections(store, "approved", limit=100_000) if c["target"] == "faq"]
    if not rows:
        return None
    folder = _data_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FAQ_FILE
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["key", "lang", "question", "answer"])
        for c in rows:
            w.writerow([f"correction-{c['id']}", c["lang"], c["question"], c["answer"]])
    if kb is None:
        from townsquare.respond.kb import KnowledgeBase

        kb = KnowledgeBase(store)
    return kb.add(path)


def approved_intent_examples(store: Store) -> tuple[list[str], list[str]]:
    """(texts, intents) of approved intent corrections: extra training examples for the intent model."""
    q = select(CorrectionRow.question, CorrectionRow.intent).where(
        CorrectionRow.status == "approved", CorrectionRow.target == "intent").order_by(CorrectionRow.id)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [r[0] for r in rows], [r[1] for r in rows]


def finetune_pairs(store: Store) -> list[dict]:
    """Approved FAQ corrections as {"prompt", "completion", "lang", "source"} in the create prompt format."""
    from townsquare.create.finetune.prompt import LANGUAGES, build_prompt

    out = []
    for c in list_corrections(store, "approved", limit=100_000):
        if c["target"] != "faq" or c["lang"] not in LANGUAGES:
            continue
        n = len(c["answer"])
        platform = "x" if n <= 280 else "mastodon" if n <= 500 else "weibo"
        prompt = build_prompt("reply", "", c["lang"], platform, reply_to=c["question"],
                              voice="customer support agent")
        out.append({"prompt": prompt, "completion": c["answer"], "lang": c["lang"],
                    "source": f"correction-{c['id']}"})
    return out


def export_finetune(store: Store, path: str | Path) -> int:
    """Write `finetune_pairs` as JSONL; returns how many pairs were written."""
    pairs = finetune_pairs(store)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    return len(pairs)
