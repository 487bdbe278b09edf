"""Training and judging the ranker on the store's own interactions (`townsquare feed train`).

Examples come from daily snapshots: at a moment T the service builds each user's candidates exactly as it
would serve them (profile, sources and filters as of T); a candidate is positive when the user engaged with
it (like, repost, reply, click) in the following day. The newest snapshot is held out: the model is fitted
on the older ones, its validation AUC measured there (next to the stand-in heuristic's), and the feeds it
serves at that moment are compared with the chronological baseline on what users went on to engage with.
The saved model is then refitted on every snapshot, with collaborative-filtering factors from all history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from townsquare.recommend.ranker import CF, FEATURES, Ranker, features
from townsquare.recommend.state import ENGAGE, KIND_CODE, KIND_WEIGHT, KINDS, store_clock
from townsquare.store import Store
from townsquare.store.tables import InteractionRow, PostRow

ENGAGE_KINDS = [KINDS[c] for c in ENGAGE]


@dataclass
class TrainReport:
    examples: int = 0
    positives: int = 0
    snapshots: list[str] = field(default_factory=list)
    validation_auc: float | None = None
    heuristic_auc: float | None = None
    feeds: dict = field(default_factory=dict)  # strategy -> {"recall@50", "hit@50", "users"}
    seconds: float = 0.0
    saved: Path | None = None
    note: str = ""

    def lines(self) -> list[str]:
        out = [f"{self.examples:,} examples ({self.positives:,} engaged) from snapshots {', '.join(self.snapshots)}"]
        if self.validation_auc is not None:
            out.append(f"validation AUC {self.validation_auc:.3f} (hand-weighted stand-in {self.heuristic_auc:.3f}) "
                       "on the newest snapshot")
        for name, m in self.feeds.items():
            out.append(f"{name:>13} feed: recall@50 {m['recall@50']:.3f}, hit@50 {m['hit@50']:.3f} "
                       f"({m['users']} user{'' if m['users'] == 1 else 's'}, next-day engagements)")
        if self.note:
            out.append(self.note)
        if self.saved:
            out.append(f"saved to {self.saved} in {self.seconds:.1f} s")
        return out


def next_day_engagements(store: Store, at: datetime, hours: int = 24) -> dict[int, set[int]]:
    """user -> posts (created before `at`) they engaged with in [at, at + hours)."""
    i, p = InteractionRow.__table__.c, PostRow.__table__.c
    q = (select(i.user_id, i.post_id).select_from(InteractionRow.__table__.join(PostRow.__table__, p.id == i.post_id))
         .where(i.created_at >= at, i.created_at < at + timedelta(hours=hours), i.kind.in_(ENGAGE_KINDS),
                p.created_at < at))
    out: dict[int, set[int]] = {}
    with store.engine.connect() as conn:
        for u, pid in conn.execute(q):
            out.setdefault(u, set()).add(pid)
    return out


def fit_cf(store: Store, until: datetime) -> CF | None:
    """ALS on user × author engagement weights from the interactions before `until`."""
    i, p = InteractionRow.__table__.c, PostRow.__table__.c
    q = (select(i.user_id, p.author_id, i.kind).select_from(InteractionRow.__table__.join(PostRow.__table__,
                                                                                          p.id == i.post_id))
         .where(i.created_at < until, p.author_id.is_not(None)))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    if not rows:
        return None
    user = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    author = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    weight = np.fromiter((KIND_WEIGHT[KIND_CODE.get(r[2], 0)] for r in rows), np.float32, len(rows))
    return CF.fit(user, author, weight, int(max(user.max(), author.max())) + 1)


def snapshot(svc, labels: dict[int, set[int]], users: list[int], neg_per_user: int, rng: np.random.Generator):
    """(X, y) over the users' allowed candidates at the service's clock; negatives subsampled per user."""
    xs, ys = [], []
    for u in users:
        prof = svc.profile(u)
        pos, flags, _reasons, ctx = svc.candidates(prof)
        if not len(pos):
            continue
        y = np.isin(svc.state.post_id[pos], np.fromiter(labels[u], np.int64, len(labels[u])))
        neg = np.flatnonzero(~y)
        keep = np.concatenate([np.flatnonzero(y), rng.choice(neg, min(len(neg), neg_per_user), replace=False)])
        xs.append(features(svc.state, prof, pos[keep], flags[keep], ctx.now, svc.ranker.cf))
        ys.append(y[keep])
    if not xs:
        return np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, bool)
    return np.concatenate(xs), np.concatenate(ys)


def compare_feeds(svc, labels: dict[int, set[int]], users: list[int], k: int = 50) -> dict:
    """Recall and hit rate at k of the ranked and the chronological feed against next-day engagements."""
    out = {}
    for strategy in ("ranked", "chronological"):
        recall, hit = [], []
        for u in users:
            got = {it.post_id for it in svc.feed(u, k, strategy=strategy, mix=False)}
            found = len(got & labels[u])
            recall.append(found / len(labels[u]))
            hit.append(found > 0)
        out[strategy] = {"recall@50": float(np.mean(recall)) if recall else 0.0,
                         "hit@50": float(np.mean(hit)) if hit else 0.0, "users": len(users)}
    return out


def new_model():
    from sklearn.ensemble import HistGradientBoostingClassifier

    # 80 trees: scikit-learn scores tree by tree, so serving cost grows with the count (200 trees ≈ 10 ms a feed)
    return HistGradientBoostingClassifier(max_iter=80, learning_rate=0.15, max_leaf_nodes=31,
                                          l2_regularization=1.0, early_stopping=False, random_state=0)


def train(store: Store, *, days: int = 5, users_per_day: int = 400, neg_per_user: int = 40,
          folder: Path | None = None, save: bool = True, seed: int = 0,
          on_step: Callable[[str], None] | None = None) -> TrainReport:
    """Fit, validate and save the ranker (see the module docstring)."""
    from sklearn.metrics import roc_auc_score

    from townsquare.recommend.feed import FeedService

    started = time.perf_counter()
    report = TrainReport()
    rng = np.random.default_rng(seed)
    clock = store_clock(store)
    # Snapshot moments, oldest first, each a day apart so every one has a full next day of engagements.
    times = [(clock - timedelta(days=j + 1)).replace(minute=0, second=0, microsecond=0) for j in range(days)][::-1]
    cf = fit_cf(store, until=times[0])  # learned before every snapshot: no label leaks into this feature
    stand_in = Ranker(None, cf)
    sets, val = [], None
    for n, at in enumerate(times):
        if on_step:
            on_step(f"snapshot {n + 1}/{len(times)}: {at:%Y-%m-%d %H:%M}")
        labels = next_day_engagements(store, at)
        users = sorted(labels)
        if len(users) > users_per_day:
            users = sorted(rng.choice(users, users_per_day, replace=False).tolist())
        svc = FeedService(store, as_of=at, ranker=stand_in, auto_train=False)
        x, y = snapshot(svc, labels, users, neg_per_user, rng)
        sets.append((x, y))
        report.snapshots.append(f"{at:%m-%d %H:%M}")
        if n == len(times) - 1:
            val = (svc, labels, users[:300])
    x_all = np.concatenate([s[0] for s in sets])
    y_all = np.concatenate([s[1] for s in sets])
    report.examples, report.positives = len(y_all), int(y_all.sum())
    if report.positives < 20 or report.positives == len(y_all) or len(sets) < 2:
        report.note = "too few engagements to learn from: keeping the hand-weighted ranker"
        report.seconds = time.perf_counter() - started
        return report
    x_tr = np.concatenate([s[0] for s in sets[:-1]])
    y_tr = np.concatenate([s[1] for s in sets[:-1]])
    x_va, y_va = sets[-1]
    model = new_model().fit(x_tr, y_tr)
    if 0 < y_va.sum() < len(y_va):
        report.validation_auc = float(roc_auc_score(y_va, model.predict_proba(x_va)[:, 1]))
        report.heuristic_auc = float(roc_auc_score(y_va, stand_in.score(x_va)))
    if on_step:
        on_step("comparing feeds on the held-out snapshot")
    svc, labels, users = val
    svc.ranker = Ranker(model, cf)
    report.feeds = compare_feeds(svc, labels, users)
    if save:
        final = Ranker(new_model().fit(x_all, y_all), fit_cf(store, until=clock),
                       {"validation_auc": report.validation_auc, "heuristic_auc": report.heuristic_auc,
                        "examples": report.examples, "positives": report.positives, "snapshots": report.snapshots,
                        "feeds": report.feeds, "clock": clock.isoformat()})
        report.saved = final.save(folder)
    report.seconds = time.perf_counter() - started
    return report
