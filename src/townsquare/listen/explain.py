"""What an alert carries so a team can act on it without digging: the posts that drove it grouped into 1-5
clusters (k-means on the stored embeddings, k by silhouette) with keyword labels, representative posts, the
language mix, the most-reached authors, a summary and a drafted holding statement in the conversation's language.

The summary and the draft come from the instruction-tuned generator when one is installed (the create job's
adapter); otherwise they are built from the data and say so (`"method": "extractive"` / `"template"`).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import numpy as np
from sqlalchemy import select

from townsquare.listen.aggregate import mix, terms
from townsquare.store import Store
from townsquare.store.tables import (
    AlertRow,
    AnalysisRow,
    AuthorRow,
    EmbeddingRow,
    PostRow,
    WatchMatchRow,
    WatchRow,
)

MAX_POSTS = 2_000  # posts considered per alert (the newest)
MAX_CLUSTERS = 5


def _posts(store: Store, alert) -> list:
    m, p, a, e, u = (WatchMatchRow.__table__.c, PostRow.__table__.c, AnalysisRow.__table__.c,
                     EmbeddingRow.__table__.c, AuthorRow.__table__.c)
    end = alert.bucket_start + timedelta(minutes=alert.minutes)
    q = (select(p.id, p.platform, p.platform_id, p.text, p.created_at, a.lang, a.sentiment, e.vector,
                u.handle, u.followers)
         .select_from(WatchMatchRow.__table__.join(PostRow.__table__, p.id == m.post_id)
                      .outerjoin(AnalysisRow.__table__, a.post_id == p.id)
                      .outerjoin(EmbeddingRow.__table__, e.post_id == p.id)
                      .outerjoin(AuthorRow.__table__, u.id == p.author_id))
         .where(m.watch_id == alert.watch_id, m.created_at >= alert.bucket_start, m.created_at < end)
         .order_by(p.created_at.desc()).limit(MAX_POSTS))
    if alert.metric == "negative":
        q = q.where(a.sentiment == "negative")
    with store.engine.connect() as conn:
        return [r for r in conn.execute(q).all() if r.vector is not None]


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means with k-means++ seeding on unit vectors: (labels, centroids)."""
    rng = np.random.default_rng(seed)
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = 1 - np.max(x @ np.array(centroids).T, axis=1)
        p = np.clip(d, 0, None) ** 2
        centroids.append(x[rng.choice(len(x), p=p / p.sum()) if p.sum() > 0 else rng.integers(len(x))])
    c = np.array(centroids)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iters):
        labels = np.argmax(x @ c.T, axis=1)
        new = np.array([x[labels == j].mean(0) if np.any(labels == j) else c[j] for j in range(k)])
        new /= np.maximum(np.linalg.norm(new, axis=1, keepdims=True), 1e-12)
        if np.allclose(new, c):
            break
        c = new
    return labels, c


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    d = 1 - x @ x.T
    scores = []
    for i in range(len(x)):
        same = labels == labels[i]
        if same.sum() <= 1:
            scores.append(0.0)
            continue
        a = d[i, same].sum() / (same.sum() - 1)
        b = min(d[i, labels == j].mean() for j in set(labels.tolist()) if j != labels[i])
        scores.append((b - a) / max(a, b, 1e-12))
    return float(np.mean(scores))


def best_k(sample: np.ndarray, max_k: int, min_size: int, floor: float) -> int:
    """The k in 2..max_k (at most one cluster per `min_size` rows) whose k-means clustering of `sample`
    has the best silhouette above `floor`; 1 when none beats it."""
    best, best_s = 1, floor
    for k in range(2, min(max_k, len(sample) // min_size) + 1):
        labels, _ = kmeans(sample, k)
        if len(set(labels.tolist())) < k:
            continue
        s = silhouette(sample, labels)
        if s > best_s:
            best, best_s = k, s
    return best


def cluster(x: np.ndarray, max_k: int = MAX_CLUSTERS) -> np.ndarray:
    """Labels for 1-5 clusters: the k with the best silhouette, if it is convincingly above one cluster."""
    n = len(x)
    if n < 6:
        return np.zeros(n, dtype=int)
    sample = x if n <= 600 else x[np.random.default_rng(0).choice(n, 600, replace=False)]
    k = best_k(sample, max_k, min_size=3, floor=0.08)  # below 0.08, the posts are one conversation
    if k == 1:
        return np.zeros(n, dtype=int)
    _, centroids = kmeans(sample, k)
    return np.argmax(x @ centroids.T, axis=1)


def _labels(docs: list[list[str]], labels: np.ndarray, k: int, known: set[str]) -> list[list[str]]:
    """Keyword labels per cluster: c-TF-IDF (term frequency in the cluster x rarity across clusters), leaving out
    the watch's own words — every post of the alert has those."""
    tf = [Counter() for _ in range(k)]
    for words, j in zip(docs, labels, strict=True):
        tf[j].update(set(words) - known)
    df = Counter()
    for c in tf:
        df.update(c.keys())
    out = []
    for c in tf:
        ranked = sorted(c, key=lambda w: (-c[w] * math.log(1 + k / df[w]), w))
        out.append(ranked[:4])
    return out


def merge_alike(labels: np.ndarray, names: list[list[str]], shared: int = 3) -> np.ndarray:
    """Clusters whose keyword labels share `shared` words are one thread to a reader ("battery, hot, overheating"
    twice, split by wording the embedding saw): merged into the larger, then renumbered 0..k-1."""
    sizes = np.bincount(labels, minlength=len(names))
    target = list(range(len(names)))
    by_size = sorted(range(len(names)), key=lambda j: -sizes[j])
    for n, j in enumerate(by_size):
        for i in by_size[:n]:
            if target[i] == i and len(set(names[i]) & set(names[j])) >= min(shared, len(names[i]), len(names[j])) > 0:
                target[j] = i
                break
    merged = np.asarray(target)[labels]
    _, renumbered = np.unique(merged, return_inverse=True)
    return renumbered.reshape(labels.shape)


def explain(store: Store, alert) -> dict:
    posts = _posts(store, alert)
    with store.engine.connect() as conn:
        watch = conn.execute(select(WatchRow.__table__).where(WatchRow.__table__.c.id == alert.watch_id)).first()
    also = list((alert.explanation or {}).get("also", []))  # metrics that fired in the same bucket (monitor._join)
    if not posts:
        return {"posts": 0, "clusters": [], "summary": {"text": "", "method": "none"}, "also": also}
    x = np.stack([np.frombuffer(r.vector, dtype=np.float32) for r in posts])
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    labels = cluster(x)
    k = int(labels.max()) + 1
    docs = [terms(r.text, r.lang) for r in posts]
    known = set()
    if watch is not None:
        for phrase in [watch.name, *watch.keywords]:
            known.update(terms(phrase, None))
            known.update(w.lower() for w in phrase.replace("#", " ").replace("@", " ").split())
    names = _labels(docs, labels, k, known)
    if k > 1:
        merged = merge_alike(labels, names)
        if merged.max() + 1 < k:
            labels, k = merged, int(merged.max()) + 1
            names = _labels(docs, labels, k, known)
    clusters = []
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        centroid = x[idx].mean(0)
        order = idx[np.argsort(-(x[idx] @ centroid))]
        seen, reps = set(), []
        for i in order:  # representative = close to the centre, and not a near-copy of one already shown
            key = " ".join(docs[i][:8])
            if key in seen:
                continue
            seen.add(key)
            r = posts[i]
            reps.append({"id": f"{r.platform}:{r.platform_id}", "text": r.text, "author": r.handle,
                         "created_at": r.created_at.isoformat() + "Z", "sentiment": r.sentiment})
            if len(reps) == 3:
                break
        sentiments = Counter(posts[i].sentiment or "unknown" for i in idx)
        clusters.append({"label": ", ".join(names[j]) or "(no common words)", "keywords": names[j],
                         "posts": int(len(idx)), "sentiment": mix(sentiments), "examples": reps})
    clusters.sort(key=lambda c: -c["posts"])
    langs = Counter(r.lang or "other" for r in posts)
    authors = sorted({(r.handle or "", int(r.followers or 0)) for r in posts}, key=lambda a: -a[1])[:5]
    lang = langs.most_common(1)[0][0]
    facts = {
        "watch": watch.name if watch else str(alert.watch_id), "metric": alert.metric, "minutes": alert.minutes,
        "bucket_start": alert.bucket_start.isoformat() + "Z", "value": alert.value, "expected": alert.expected,
        "ratio": round(alert.value / alert.expected, 1) if alert.expected else None,
        "posts": len(posts), "languages": mix(langs), "language": lang,
        "top_authors": [{"handle": h, "followers": f} for h, f in authors], "clusters": clusters,
        "also": also,
    }
    from townsquare.listen.writeup import draft_statement, summarise

    facts["summary"] = summarise(facts)
    facts["draft"] = draft_statement(facts)
    return facts


def explain_alert(store: Store, alert_id: int) -> dict:
    """Build the alert's explanation and store it with the alert."""
    t = AlertRow.__table__
    with store.engine.connect() as conn:
        alert = conn.execute(select(t).where(t.c.id == alert_id)).first()
    if alert is None:
        return {}
    facts = explain(store, alert)
    with store.engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == alert_id).values(explanation=facts))
    return facts
