"""Predicted engagement, learned from the store: ridge regression from a post's stored embedding (plus a few
shape features) to log(1 + likes + 2·reposts + replies). It ranks candidates — what has worked on this
platform for this audience before — and reports how well it ranks held-out posts (Spearman)."""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from townsquare.store import Store
from townsquare.store.tables import EmbeddingRow, PostRow

MIN_POSTS = 200
MAX_POSTS = 50_000
_HASHTAG = re.compile(r"(?<![\w#])#\w+")
_lock = threading.Lock()
_cache: dict[str, tuple[float, EngagementModel | None]] = {}
REFIT_S = 3600


def engagement(metrics: dict) -> float:
    m = metrics or {}
    return math.log1p(max(0.0, float(m.get("likes", 0) or 0) + 2 * float(m.get("reposts", 0) or 0)
                          + float(m.get("replies", 0) or 0)))


def shape(texts: list[str]) -> np.ndarray:
    return np.array([[min(len(t), 500) / 280, len(_HASHTAG.findall(t)) / 3, float("?" in t or "？" in t),
                      float("!" in t or "！" in t)] for t in texts], dtype=np.float32)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


@dataclass
class EngagementModel:
    weights: np.ndarray
    bias: float
    model: str  # the embedder the weights read
    heldout_spearman: float
    trained_on: int

    @classmethod
    def fit(cls, emb: np.ndarray, texts: list[str], y: np.ndarray, model: str, alpha: float = 10.0,
            seed: int = 0) -> EngagementModel:
        x = np.hstack([emb, shape(texts)]).astype(np.float64)
        order = np.random.default_rng(seed).permutation(len(y))
        cut = int(len(y) * 0.8)
        train, test = order[:cut], order[cut:]

        def solve(idx):
            mu = y[idx].mean()
            a = x[idx]
            w = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ (y[idx] - mu))
            return w, mu

        w, mu = solve(train)
        rho = spearman(x[test] @ w + mu, y[test])
        w, mu = solve(order)  # the shipped weights see every post
        return cls(w.astype(np.float32), float(mu), model, round(rho, 3), len(y))

    def predict(self, emb: np.ndarray, texts: list[str]) -> np.ndarray:
        return np.hstack([emb, shape(texts)]) @ self.weights + self.bias


def engagement_model(store: Store, embedder_name: str) -> EngagementModel | None:
    """The store's model (refit hourly); None when the store has too few embedded posts with metrics."""
    key = f"{store.engine.url}|{embedder_name}"
    with _lock:
        at, model = _cache.get(key, (0.0, None))
        if time.monotonic() - at < REFIT_S and key in _cache:
            return model
        p, e = PostRow.__table__.c, EmbeddingRow.__table__.c
        q = (select(p.text, p.metrics, e.vector).join(EmbeddingRow.__table__, (e.post_id == p.id)
                                                    & (e.model == embedder_name))
             .order_by(p.id.desc()).limit(MAX_POSTS))
        with store.engine.connect() as conn:
            rows = conn.execute(q).all()
        model = None
        if len(rows) >= MIN_POSTS:
            emb = np.stack([np.frombuffer(r.vector, dtype=np.float32) for r in rows])
            y = np.array([engagement(r.metrics) for r in rows])
            if y.std() > 0:
                model = EngagementModel.fit(emb, [r.text for r in rows], y, embedder_name)
        _cache[key] = (time.monotonic(), model)
        return model
