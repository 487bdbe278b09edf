"""The learned ranker: P(engage) for (user, post, context) from a gradient-boosted tree model (scikit-learn's
HistGradientBoostingClassifier), plus the collaborative-filtering factors (implicit ALS on user × author) that
both feed a candidate source and a feature. Saved as one folder: config.json (features, metrics, when),
model.pkl and cf.npz. Without a trained folder, a transparent hand-weighted score stands in (and says so).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from townsquare.recommend.candidates import SOURCE_NAMES
from townsquare.recommend.profiles import Profile
from townsquare.recommend.state import FeedState

FEATURES = (
    "sim_profile", "sim_interest", "topic_match", "follows_author", "author_affinity", "friends_engaged",
    "cf_score", "author_followers", "post_engagements", "post_views", "age_hours", "lang_match",
    "now_in_active_hours", "post_in_active_hours", "is_reply", "toxicity", "has_history",
    *(f"src_{s}" for s in SOURCE_NAMES),
)
# Stand-in weights (no trained model yet): personal signals first, then popularity, then freshness.
HEURISTIC = {"sim_profile": 2.0, "sim_interest": 1.5, "topic_match": 0.5, "follows_author": 1.0,
             "author_affinity": 0.8, "friends_engaged": 0.6, "cf_score": 0.5, "post_engagements": 0.4,
             "age_hours": -0.4, "lang_match": 0.8, "toxicity": -1.0}


def default_dir() -> Path:
    from townsquare.config import get_settings

    return Path(get_settings().data_dir) / "models" / "feed_ranker"


@dataclass
class CF:
    """ALS factors of users and authors (row = store id; zero rows for ids it never saw)."""

    users: np.ndarray
    authors: np.ndarray

    @classmethod
    def fit(cls, user: np.ndarray, author: np.ndarray, weight: np.ndarray, n: int, factors: int = 32) -> CF | None:
        keep = weight > 0
        if keep.sum() < 50:
            return None
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        m = sp.csr_matrix((np.log1p(weight[keep]), (user[keep], author[keep])), shape=(n, n), dtype=np.float32)
        m.sum_duplicates()
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=factors, regularization=1.0, iterations=15, random_state=0,
                                            num_threads=1)
            model.fit(m, show_progress=False)
        return cls(np.asarray(model.user_factors, np.float32), np.asarray(model.item_factors, np.float32))

    def score(self, user_id: int, authors: np.ndarray) -> np.ndarray:
        if user_id >= len(self.users):
            return np.zeros(len(authors), np.float32)
        ok = authors < len(self.authors)
        out = np.zeros(len(authors), np.float32)
        out[ok] = self.authors[authors[ok]] @ self.users[user_id]
        return out

    def similar_authors(self, user_id: int, k: int, exclude: set[int]) -> np.ndarray:
        if user_id >= len(self.users) or not self.users[user_id].any():
            return np.zeros(0, np.int64)
        s = self.authors @ self.users[user_id]
        s[user_id] = -np.inf
        if exclude:
            s[[a for a in exclude if a < len(s)]] = -np.inf
        top = np.argpartition(-s, min(k, len(s) - 1))[:k]
        top = top[np.isfinite(s[top]) & (s[top] > 0)]
        return top[np.argsort(-s[top])]


def features(state: FeedState, prof: Profile, pos: np.ndarray, flags: np.ndarray, now: int,
             cf: CF | None) -> np.ndarray:
    """One row per candidate, columns in FEATURES order (vectorised over candidates)."""
    n = len(pos)
    x = np.zeros((n, len(FEATURES)), np.float32)
    if not n:
        return x
    vec = state.vectors(pos)
    has = state.has_emb[pos]
    authors = state.author[pos]
    if prof.vector is not None:
        x[:, 0] = np.where(has, vec @ prof.vector, 0.0)
    if prof.interests:
        x[:, 1] = np.where(has, (vec @ np.stack([v for _, _, v in prof.interests]).T).max(1), 0.0)
    liked_topics = set(prof.interest_topics) | {t for t, _ in prof.topic_counts.most_common(3)}
    x[:, 2] = np.isin(state.topic[pos], list(liked_topics)) if liked_topics else 0.0
    x[:, 3] = np.isin(authors, prof.follows)
    x[:, 4] = np.array([prof.author_affinity.get(a, 0.0) for a in authors.tolist()], np.float32)
    x[:, 4] = np.sign(x[:, 4]) * np.log1p(np.abs(x[:, 4]))
    if len(prof.follows):
        friend_posts, _ = state.engaged_by(prof.follows, now - 2 * 86_400)
        if len(friend_posts):  # counts by lookup, not a window-sized bincount (a million posts = 8 MB a request)
            uniq, counts = np.unique(friend_posts, return_counts=True)
            at = np.minimum(np.searchsorted(uniq, pos), len(uniq) - 1)
            x[:, 5] = np.where(uniq[at] == pos, np.log1p(counts[at]), 0.0)
    if cf is not None:
        x[:, 6] = cf.score(prof.user_id, authors)
    x[:, 7] = np.log1p(state.followers[np.minimum(authors, len(state.followers) - 1)])
    x[:, 8] = np.log1p(state.pop[pos])
    x[:, 9] = np.log1p(state.views[pos])
    x[:, 10] = np.log1p(np.maximum(now - state.created[pos], 0) / 3600)
    langs = [state.langs.index(lg) for lg in prof.langs if lg in state.langs]
    x[:, 11] = np.isin(state.lang[pos], langs) if langs else 0.5
    x[:, 12] = float(prof.active_hours[(now // 3600) % 24]) if prof.active_hours.any() else 0.5
    x[:, 13] = prof.active_hours[(state.created[pos] // 3600) % 24] if prof.active_hours.any() else 0.5
    x[:, 14] = state.reply[pos]
    x[:, 15] = np.nan_to_num(state.tox[pos], nan=-1.0)
    x[:, 16] = prof.vector is not None
    x[:, 17:17 + flags.shape[1]] = flags
    return x


class Ranker:
    """`score(X) -> P(engage)`; `kind` is "learned" or "heuristic"."""

    def __init__(self, model=None, cf: CF | None = None, meta: dict | None = None):
        self.model, self.cf, self.meta = model, cf, meta or {}
        self.kind = "learned" if model is not None else "heuristic"

    def score(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0, np.float32)
        if self.model is not None:
            return self.model.predict_proba(x)[:, 1].astype(np.float32)
        w = np.array([HEURISTIC.get(f, 0.0) for f in FEATURES], np.float32)
        return 1 / (1 + np.exp(-(x @ w - 2.0)))

    def save(self, folder: Path | None = None) -> Path:
        folder = Path(folder or default_dir())
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.pkl").write_bytes(pickle.dumps(self.model))
        if self.cf is not None:
            np.savez(folder / "cf.npz", users=self.cf.users, authors=self.cf.authors)
        meta = {**self.meta, "features": list(FEATURES), "saved_at": datetime.now(UTC).isoformat()}
        (folder / "config.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: Path | None = None) -> Ranker:
        """The saved ranker, or the heuristic stand-in when none was trained (or features changed since)."""
        folder = Path(folder or default_dir())
        try:
            meta = json.loads((folder / "config.json").read_text())
            if meta.get("features") != list(FEATURES):
                return cls()
            model = pickle.loads((folder / "model.pkl").read_bytes())
        except (OSError, ValueError, pickle.UnpicklingError):
            return cls()
        cf = None
        if (folder / "cf.npz").exists():
            z = np.load(folder / "cf.npz")
            cf = CF(z["users"], z["authors"])
        return cls(model, cf, meta)
