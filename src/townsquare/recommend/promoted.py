"""Promoted posts: an audience matched once (`promote`), then mixed into those users' feeds at a set rate, each
shown item marked `promoted`, with a per-user frequency cap (at most `cap` impressions per `cap_hours`).

    p = promote(store, post_id=123, audience=1_000, cap=3, cap_hours=24)   # audiences.match picks the users
    items = mix(store, user_id, items, now)                                 # the feed calls this

Slots: one promoted item every `1 / rate` organic items, the first half-way into the first block (positions
5, 15, 25... at the default rate 0.1), so a feed of 50 carries at most 5 and a feed shorter than 6 none. A promoted
item replaces the organic item at its slot (the feed keeps its length) and is skipped when the post is already in
the feed, its author is blocked or muted by the user, or the user reached the cap in the window before `now`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from townsquare.errors import BadInput, NotFound
from townsquare.store import Store
from townsquare.store.repository import utc_naive
from townsquare.store.tables import (
    PostRow,
    PromotedAudienceRow,
    PromotedImpressionRow,
    PromotedPostRow,
    UserBlockRow,
)

DEFAULT_RATE = 0.1  # share of feed slots that may carry a promoted post (TOWNSQUARE_PROMOTED_RATE overrides)
DEFAULT_CAP, DEFAULT_CAP_HOURS = 3, 24
MAX_AUDIENCE = 1_000_000


def default_rate() -> float:
    raw = os.environ.get("TOWNSQUARE_PROMOTED_RATE", "")
    try:
        rate = float(raw) if raw else DEFAULT_RATE
    except ValueError:
        raise BadInput("TOWNSQUARE_PROMOTED_RATE", f"{raw!r} is not a number", "use a share such as 0.1") from None
    return check_rate(rate)


def check_rate(rate: float) -> float:
    if not 0.0 <= rate <= 0.5:
        raise BadInput("rate", f"{rate} is not a share of feed slots", "use 0 (no promotions) to 0.5, e.g. 0.1")
    return rate


def slots(n: int, rate: float) -> list[int]:
    """Positions (0-based) in a feed of `n` items that carry a promoted post at `rate`."""
    if rate <= 0 or n <= 0:
        return []
    every = max(2, round(1 / rate))
    return list(range(every // 2, n, every))


def _now(now: datetime | None) -> datetime:
    return utc_naive(now) if now is not None else datetime.now(UTC).replace(tzinfo=None)


# ---- managing promotions ----------------------------------------------------------------------------------------


def promote(store: Store, post_id: int, *, audience: int = 1_000, cap: int = DEFAULT_CAP,
            cap_hours: int = DEFAULT_CAP_HOURS, name: str = "", model: str | None = None) -> dict:
    """Promote a post to the `audience` users most likely to engage (audiences.match), capped per user."""
    from townsquare.recommend.audiences import match

    if not 1 <= audience <= MAX_AUDIENCE:
        raise BadInput("audience", f"{audience} users", f"ask for 1 to {MAX_AUDIENCE:,} users, e.g. 1000")
    if not 1 <= cap <= 1_000:
        raise BadInput("cap", f"{cap} impressions", "allow 1 to 1000 impressions per user, e.g. 3")
    if not 1 <= cap_hours <= 24 * 365:
        raise BadInput("cap_hours", f"{cap_hours} hours", "use 1 to 8760 hours, e.g. 24")
    users = match(store, post_id, audience, model=model)  # NotFound / BadInput for a post it cannot use
    now = _now(None)
    with store.engine.begin() as conn:
        pid = conn.execute(PromotedPostRow.__table__.insert().values(
            post_id=int(post_id), name=name[:128], cap=cap, cap_hours=cap_hours, active=True, created_at=now)
        ).inserted_primary_key[0]
        rows = [{"promoted_id": pid, "user_id": u["user_id"], "score": u["score"]} for u in users]
        for i in range(0, len(rows), 5_000):
            conn.execute(PromotedAudienceRow.__table__.insert(), rows[i:i + 5_000])
    return get_promotion(store, pid) | {"top": users[:10]}


def _promotion_dicts(store: Store, where=None) -> list[dict]:
    t, a, i = PromotedPostRow.__table__.c, PromotedAudienceRow.__table__.c, PromotedImpressionRow.__table__.c
    aud = (select(a.promoted_id, func.count().label("n")).group_by(a.promoted_id).subquery())
    imp = (select(i.promoted_id, func.count().label("n"), func.count(func.distinct(i.user_id)).label("reach"))
           .group_by(i.promoted_id).subquery())
    q = (select(t.id, t.post_id, t.name, t.cap, t.cap_hours, t.active, t.created_at, aud.c.n.label("audience"),
                imp.c.n.label("impressions"), imp.c.reach)
         .select_from(PromotedPostRow.__table__.outerjoin(aud, aud.c.promoted_id == t.id)
                      .outerjoin(imp, imp.c.promoted_id == t.id))
         .order_by(t.id.desc()))
    if where is not None:
        q = q.where(where)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [{"id": r.id, "post_id": r.post_id, "name": r.name, "cap": r.cap, "cap_hours": r.cap_hours,
             "active": bool(r.active), "created_at": r.created_at.isoformat() + "Z", "audience": r.audience or 0,
             "impressions": r.impressions or 0, "reach": r.reach or 0} for r in rows]


def list_promotions(store: Store, active_only: bool = False) -> list[dict]:
    return _promotion_dicts(store, PromotedPostRow.__table__.c.active.is_(True) if active_only else None)


def get_promotion(store: Store, promoted_id: int) -> dict:
    found = _promotion_dicts(store, PromotedPostRow.__table__.c.id == int(promoted_id))
    if not found:
        raise NotFound(f"promotion: no promotion with id {promoted_id} — list them with `townsquare audience "
                       "promoted` or GET /promoted")
    return found[0]


def stop_promotion(store: Store, promoted_id: int) -> dict:
    get_promotion(store, promoted_id)
    with store.engine.begin() as conn:
        conn.execute(update(PromotedPostRow).where(PromotedPostRow.id == int(promoted_id)).values(active=False))
    return get_promotion(store, promoted_id)


# ---- mixing into feeds ------------------------------------------------------------------------------------------


def eligible(store: Store, user_id: int, now: datetime | None = None) -> list[dict]:
    """Active promotions whose audience holds the user and whose cap the user has not reached, best match first."""
    now = _now(now)
    t, a, p = PromotedPostRow.__table__.c, PromotedAudienceRow.__table__.c, PostRow.__table__.c
    i, b = PromotedImpressionRow.__table__.c, UserBlockRow.__table__.c
    q = (select(t.id, t.post_id, t.name, t.cap, t.cap_hours, a.score, p.author_id, p.created_at)
         .select_from(PromotedAudienceRow.__table__.join(PromotedPostRow.__table__, t.id == a.promoted_id)
                      .join(PostRow.__table__, p.id == t.post_id))
         .where(a.user_id == int(user_id), t.active.is_(True))
         .order_by(a.score.desc(), t.id))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
        if not rows:
            return []
        horizon = now - timedelta(hours=max(r.cap_hours for r in rows))
        shown = conn.execute(select(i.promoted_id, i.shown_at).where(
            i.user_id == int(user_id), i.promoted_id.in_([r.id for r in rows]), i.shown_at > horizon,
            i.shown_at <= now)).all()
        blocked = set(conn.execute(select(b.target_id).where(b.user_id == int(user_id))).scalars())
    out = []
    for r in rows:
        since = now - timedelta(hours=r.cap_hours)
        used = sum(1 for s in shown if s.promoted_id == r.id and s.shown_at > since)
        if used >= r.cap or r.author_id in blocked or r.author_id == int(user_id):
            continue
        out.append({"promoted_id": r.id, "post_id": r.post_id, "name": r.name, "score": float(r.score),
                    "author_id": r.author_id, "created_at": r.created_at, "used": used, "cap": r.cap,
                    "cap_hours": r.cap_hours})
    return out


def mix(store: Store, user_id: int, items: list, now: datetime | None = None, *, rate: float | None = None,
        record: bool = True) -> list:
    """`items` with promoted posts for `user_id` at their slots, marked promoted; impressions are recorded at `now`
    (the feed's clock) so the frequency cap counts them. Organic items keep their order."""
    rate = default_rate() if rate is None else check_rate(rate)
    places = slots(len(items), rate)
    if not places:
        return items
    now = _now(now)
    present = {it.post_id for it in items}
    chosen = [e for e in eligible(store, user_id, now) if e["post_id"] not in present][: len(places)]
    if not chosen:
        return items
    from townsquare.recommend.feed import FeedItem  # here: feed imports this module

    out = list(items)
    for pos, e in zip(places, chosen, strict=False):
        label = f"promoted{': ' + e['name'] if e['name'] else ''}"
        out.insert(pos, FeedItem(post_id=e["post_id"], score=round(e["score"], 5), source="promoted",
                                 reasons=[label, "shown to people whose interests match this post"],
                                 promoted=True, author_id=e["author_id"], created_at=e["created_at"],
                                 sources=["promoted"]))
    out = out[: len(items)]  # promoted items take organic slots: the feed keeps the length asked for
    shown = [e for pos, e in zip(places, chosen, strict=False) if pos < len(out)]
    if record and shown:
        with store.engine.begin() as conn:
            conn.execute(PromotedImpressionRow.__table__.insert(),
                         [{"promoted_id": e["promoted_id"], "user_id": int(user_id), "shown_at": now} for e in shown])
    return out
