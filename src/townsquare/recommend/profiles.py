"""Who a user is, from what the store holds: an interest vector (the recency-weighted mean of the stored
embeddings of the posts they wrote and engaged with), declared interests matched to topics across languages,
whom they follow, when they are active, their languages, topics and favourite authors, and what they have
already seen or blocked. Everything is read "as of" the feed state's clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from townsquare.errors import NotFound
from townsquare.recommend.state import KIND_CODE, KIND_WEIGHT, FeedState, secs
from townsquare.recommend.topics import TOPICS, match_interests
from townsquare.store.tables import (
    AuthorRow,
    EmbeddingRow,
    FeedSeenRow,
    FollowRow,
    InteractionRow,
    PostRow,
    UserBlockRow,
)

HALF_LIFE_DAYS = 7.0  # an engagement a week old counts half as much as one today
MAX_EVENTS = 500  # the newest interactions a profile reads
MAX_WRITTEN = 100
ACTIVE_SHARE = 0.7  # observed active hours: the busiest hours that hold 70% of the user's activity


@dataclass
class Profile:
    user_id: int
    handle: str
    display_name: str
    vector: np.ndarray | None  # unit interest vector, None without history
    vector_from: str  # "engaged", "written", "both" or "none"
    interests: list[tuple[str, str | None, np.ndarray]]  # (declared label, matched topic, vector)
    follows: np.ndarray
    followers: int
    active_hours: np.ndarray  # bool[24], UTC
    active_source: str  # declared | observed | none
    langs: list[str]
    author_affinity: dict[int, float]
    topic_counts: Counter
    seen: set[int] = field(default_factory=set)  # post ids
    blocked: set[int] = field(default_factory=set)  # author ids (blocked or muted)
    written: int = 0
    engaged: int = 0
    lang_declared: str | None = None

    @property
    def interest_topics(self) -> dict[int, str]:
        """Topic index -> the label the user declared for it (their own words, e.g. 科技)."""
        return {TOPICS.index(t): label for label, t, _ in self.interests if t is not None}

    def to_dict(self) -> dict:
        hours = np.flatnonzero(self.active_hours).tolist()
        return {
            "user_id": self.user_id, "handle": self.handle, "display_name": self.display_name,
            "declared_interests": [{"label": label, "topic": t} for label, t, _ in self.interests],
            "follows": int(len(self.follows)), "followers": self.followers,
            "active_hours": hours, "active_hours_source": self.active_source,
            "langs": self.langs,
            "top_topics": [{"topic": TOPICS[t], "count": c} for t, c in self.topic_counts.most_common(5)],
            "history": {"written": self.written, "engaged": self.engaged},
            "interest_vector": {"from": self.vector_from, "dim": 0 if self.vector is None else int(len(self.vector))},
            "blocked": len(self.blocked), "seen": len(self.seen),
        }


def _hours(times: list[int]) -> np.ndarray:
    counts = np.bincount(np.asarray(times, np.int64) // 3600 % 24, minlength=24).astype(float)
    out = np.zeros(24, bool)
    if counts.sum() < 5:
        return out
    order = np.argsort(-counts, kind="stable")
    cum = np.cumsum(counts[order]) / counts.sum()
    out[order[: int(np.searchsorted(cum, ACTIVE_SHARE)) + 1]] = True
    return out


def build_profile(state: FeedState, user_id: int) -> Profile:
    """The user's profile as of the state's clock; NotFound for an unknown user id."""
    a, f, i, p = AuthorRow.__table__.c, FollowRow.__table__.c, InteractionRow.__table__.c, PostRow.__table__.c
    clock = state.clock
    with state.store.engine.connect() as conn:
        user = conn.execute(select(a.id, a.handle, a.display_name, a.followers, a.extra)
                            .where(a.id == int(user_id))).first()
        if user is None:
            raise NotFound(f"user_id: no user {user_id} — list users with GET /recommend/users (a feed takes a user id or @handle)")
        follows = [r[0] for r in conn.execute(select(f.followee_id).where(f.follower_id == user.id))]
        events = conn.execute(
            select(i.post_id, i.kind, i.created_at, p.author_id, p.lang)
            .select_from(InteractionRow.__table__.join(PostRow.__table__, p.id == i.post_id))
            .where(i.user_id == user.id, i.created_at < clock).order_by(i.created_at.desc()).limit(MAX_EVENTS)).all()
        written = conn.execute(select(p.id, p.created_at, p.lang).where(p.author_id == user.id, p.created_at <= clock)
                               .order_by(p.created_at.desc()).limit(MAX_WRITTEN)).all()
        seen = {r[0] for r in conn.execute(select(FeedSeenRow.post_id).where(FeedSeenRow.user_id == user.id))}
        blocked = {r[0] for r in conn.execute(select(UserBlockRow.target_id).where(UserBlockRow.user_id == user.id))}
    extra = user.extra or {}
    now = secs(clock)

    # Interest vector: recency-weighted mean of embeddings of what they wrote (weight 1) and engaged with.
    weights: dict[int, float] = {}
    affinity: Counter = Counter()
    lang_counts: Counter = Counter()
    times: list[int] = []
    engaged = 0
    for post_id, kind, at, author_id, lang in events:
        t = secs(at)
        times.append(t)
        w = float(KIND_WEIGHT[KIND_CODE.get(kind, 0)])
        decay = 0.5 ** ((now - t) / 86_400 / HALF_LIFE_DAYS)
        if author_id:
            affinity[author_id] += w * decay
        if w > 0.2:
            engaged += 1
            weights[post_id] = weights.get(post_id, 0.0) + w * decay
            lang_counts[lang or "und"] += 1
    for post_id, at, lang in written:
        t = secs(at)
        times.append(t)
        weights[post_id] = weights.get(post_id, 0.0) + 0.5 ** ((now - t) / 86_400 / HALF_LIFE_DAYS)
        lang_counts[lang or "und"] += 1
    vector, topics = _interest_vector(state, weights)
    vector_from = ("both" if engaged and written else "engaged" if engaged else "written" if written else "none")
    if vector is None:
        vector_from = "none"

    declared_hours = [h for h in extra.get("active_hours") or [] if isinstance(h, int) and 0 <= h < 24]
    if declared_hours:
        active, source = np.zeros(24, bool), "declared"
        active[declared_hours] = True
    else:
        active = _hours(times)
        source = "observed" if active.any() else "none"
    declared_lang = extra.get("lang") if isinstance(extra.get("lang"), str) else None
    if declared_lang:
        lang_counts[declared_lang] += max(3, sum(lang_counts.values()) // 3)
    total = sum(lang_counts.values())
    langs = [lg for lg, c in lang_counts.most_common() if lg != "und" and c >= 0.15 * total][:3]
    interests = extra.get("interests") or []
    return Profile(
        user_id=user.id, handle=user.handle or "", display_name=user.display_name or "", vector=vector,
        vector_from=vector_from, interests=match_interests(interests if isinstance(interests, list) else []),
        follows=np.asarray(follows, np.int64), followers=int(user.followers or 0), active_hours=active,
        active_source=source, langs=langs, author_affinity=dict(affinity), topic_counts=topics,
        seen=seen | {r[0] for r in events}, blocked=blocked, written=len(written), engaged=engaged,
        lang_declared=declared_lang,
    )


def _interest_vector(state: FeedState, weights: dict[int, float]) -> tuple[np.ndarray | None, Counter]:
    """Weighted mean of the stored embeddings (window posts from memory, older ones from the store)."""
    if not weights:
        return None, Counter()
    ids = np.fromiter(weights, np.int64, len(weights))
    w = np.fromiter(weights.values(), np.float32, len(weights))
    pos = state.index_of(ids)
    vecs = np.zeros((len(ids), state.dim), np.float32)
    have = np.zeros(len(ids), bool)
    inside = (pos >= 0)
    inside[inside] = state.has_emb[pos[inside]]
    vecs[inside] = state.vectors(pos[inside])
    have |= inside
    outside = ids[~inside].tolist()
    if outside:
        e = EmbeddingRow.__table__.c
        with state.store.engine.connect() as conn:
            rows = conn.execute(select(e.post_id, e.vector).where(e.post_id.in_(outside), e.model == state.model)).all()
        where = {pid: k for k, pid in enumerate(ids.tolist())}
        for pid, blob in rows:
            if len(blob) == 4 * state.dim:
                vecs[where[pid]] = np.frombuffer(blob, np.float32)
                have[where[pid]] = True
    if not have.any():
        return None, Counter()
    mean = (vecs[have] * w[have, None]).sum(0)
    norm = float(np.linalg.norm(mean))
    topics = Counter()
    if len(vecs[have]):
        from townsquare.recommend.topics import POST_TOPIC_MIN, anchors

        sims = vecs[have] @ anchors().T
        best = sims.argmax(1)
        for t, s in zip(best.tolist(), sims[np.arange(len(best)), best].tolist(), strict=True):
            if s >= POST_TOPIC_MIN:
                topics[t] += 1
    return (mean / norm if norm > 0 else None), topics


__all__ = ["Profile", "build_profile"]
