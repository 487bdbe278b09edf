"""Filters and mixing: what may never reach a feed, and how the ranked list is spread over authors.

Before ranking (cheap masks over the candidates): the user's own posts, posts already seen (interacted with, or
reported shown via `POST /users/{id}/seen`), authors the user blocked or muted, stored toxicity ≥ 0.5 (posts
not analysed yet pass), posts outside the freshness window. After ranking: at most `per_author` posts per author
(filled up from the rest only when too few remain), never the same author twice in a row when avoidable.
"""

from __future__ import annotations

import numpy as np

from townsquare.recommend.profiles import Profile
from townsquare.recommend.state import TOXIC, FeedState

PER_AUTHOR = 2


def allowed(state: FeedState, prof: Profile, pos: np.ndarray, now: int, max_age: int) -> np.ndarray:
    """A boolean mask over `pos`: True where the post may be shown to this user."""
    if not len(pos):
        return np.zeros(0, bool)
    authors = state.author[pos]
    ok = authors != prof.user_id
    if prof.seen:
        ok &= ~np.isin(state.post_id[pos], np.fromiter(prof.seen, np.int64, len(prof.seen)))
    if prof.blocked:
        ok &= ~np.isin(authors, np.fromiter(prof.blocked, np.int64, len(prof.blocked)))
    tox = state.tox[pos]
    ok &= ~(tox >= TOXIC)  # NaN (not analysed) passes
    created = state.created[pos]
    ok &= (created <= now) & (created >= now - max_age)
    return ok


def diversify(order: np.ndarray, authors: np.ndarray, k: int, per_author: int = PER_AUTHOR) -> np.ndarray:
    """Indices into `order`'s candidates: best first, ≤ per_author each, no author twice in a row if avoidable."""
    counts: dict[int, int] = {}
    first, rest = [], []
    for i in order.tolist():
        a = int(authors[i])
        if counts.get(a, 0) < per_author:
            counts[a] = counts.get(a, 0) + 1
            first.append(i)
        else:
            rest.append(i)
        if len(first) >= k:
            break
    picked = first + rest[: max(0, k - len(first))]
    out: list[int] = []
    pending = list(picked)
    while pending:  # take the best whose author differs from the last one shown
        j = next((n for n, i in enumerate(pending) if not out or authors[i] != authors[out[-1]]), 0)
        out.append(pending.pop(j))
    return np.asarray(out, np.int64)


def mark_seen(store, user_id: int, post_ids: list[int]) -> int:
    """Record posts as shown to the user (they leave the user's feeds); returns how many were new."""
    from datetime import UTC, datetime

    from townsquare.store.tables import FeedSeenRow, PostRow

    ids = sorted({int(p) for p in post_ids})
    if not ids:
        return 0
    from sqlalchemy import select

    with store.engine.connect() as conn:
        known = [r[0] for r in conn.execute(select(PostRow.id).where(PostRow.id.in_(ids)))]
    missing = sorted(set(ids) - set(known))
    if missing:
        from townsquare.errors import BadInput

        raise BadInput("post_ids", f"no post {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1
                                                              else ""), "send ids of stored posts")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{"user_id": int(user_id), "post_id": p, "seen_at": now} for p in known]
    return store._insert_ignore(FeedSeenRow.__table__, rows)


def block(store, user_id: int, target_id: int, kind: str = "block") -> bool:
    """Block or mute an author for a user; returns False when it was already so."""
    from datetime import UTC, datetime

    from townsquare.errors import BadInput
    from townsquare.store.tables import UserBlockRow

    if kind not in ("block", "mute"):
        raise BadInput("kind", f"{kind!r} is neither block nor mute", "use block or mute")
    if int(user_id) == int(target_id):
        raise BadInput("target_id", "a user cannot block themselves", "name another author")
    row = {"user_id": int(user_id), "target_id": int(target_id), "kind": kind,
           "created_at": datetime.now(UTC).replace(tzinfo=None)}
    return store._insert_ignore(UserBlockRow.__table__, [row]) == 1
