"""Audiences for promoted posts, from the stored post embeddings (embed once: nothing is embedded here).

- interest vectors: each user's mean of the embeddings of the posts they wrote and engaged with (likes, reposts,
  replies, clicks), unit length; activity = how many such posts.
- segments: spherical k-means over the interest vectors centred per language (k by silhouette unless given), each
  labelled by c-TF-IDF of its members' posts' terms (jieba segments Chinese), so one segment holds the English and
  the Chinese speakers who share an interest.
- look-alikes: the users nearest the centroid of a seed list (the seed left out), with their cosine scores.
- match: the users most likely to engage with a post = similarity to the post × activity, leaving out its author
  and anyone who reached a promoted post's frequency cap.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from townsquare.errors import BadInput, NotFound
from townsquare.store import Store
from townsquare.store.tables import AuthorRow, EmbeddingRow, InteractionRow, PostRow

# What says "interested": writing a post, and engaging with one (views are too weak; hides and reports say the
# opposite and are left out).
ENGAGE_WEIGHT = {"like": 1.0, "repost": 1.5, "reply": 1.0, "click": 0.5}
WRITE_WEIGHT = 1.0
MAX_K = 12
LABEL_POSTS = 400  # posts per segment read for its label (enough for stable top terms, cheap with jieba)


@dataclass
class UserVectors:
    user_ids: np.ndarray  # int64, ascending
    x: np.ndarray  # (n, dim) float32, unit rows
    activity: np.ndarray  # posts written + engaged with

    def rows(self, user_ids: Iterable[int]) -> tuple[np.ndarray, list[int]]:
        """Row positions of the given users that have a vector, and the ids that have none."""
        ids = np.asarray(list(user_ids), dtype=np.int64)
        pos = np.searchsorted(self.user_ids, ids)
        ok = (pos < len(self.user_ids)) & (self.user_ids[np.minimum(pos, len(self.user_ids) - 1)] == ids)
        return pos[ok], ids[~ok].tolist()


def _model(model: str | None) -> str:
    from townsquare.config import get_settings

    return model or get_settings().embedder


def _edges(store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, post, weight) for every post written and every engagement."""
    p, i = PostRow.__table__.c, InteractionRow.__table__.c
    with store.engine.connect() as conn:
        written = conn.execute(select(p.author_id, p.id).where(p.author_id.is_not(None))).all()
        engaged = conn.execute(select(i.user_id, i.post_id, i.kind).where(i.kind.in_(list(ENGAGE_WEIGHT)))).all()
    u = np.array([r[0] for r in written] + [r[0] for r in engaged], dtype=np.int64)
    post = np.array([r[1] for r in written] + [r[1] for r in engaged], dtype=np.int64)
    w = np.array([WRITE_WEIGHT] * len(written) + [ENGAGE_WEIGHT[r[2]] for r in engaged], dtype=np.float32)
    return u, post, w


def _fingerprint(store: Store, model: str) -> tuple:
    p, i, e = PostRow.__table__.c, InteractionRow.__table__.c, EmbeddingRow.__table__.c
    with store.engine.connect() as conn:
        return (str(store.engine.url), model, conn.execute(select(func.max(p.id))).scalar(),
                conn.execute(select(func.max(i.id))).scalar(),
                conn.execute(select(func.count()).select_from(EmbeddingRow).where(e.model == model)).scalar())


_cache: dict[tuple, UserVectors] = {}
_lock = threading.Lock()


def user_vectors(store: Store, model: str | None = None) -> UserVectors:
    """Everyone's interest vector (users without a written or engaged post that has an embedding are left out).
    Cached until a post, interaction or embedding is added, so repeated API calls cost a few counts."""
    model = _model(model)
    key = _fingerprint(store, model)
    with _lock:
        if key in _cache:
            return _cache[key]
    from scipy.sparse import csr_matrix

    u, post, w = _edges(store)
    users, uidx = np.unique(u, return_inverse=True)
    order = np.argsort(post, kind="stable")
    post_sorted = post[order]
    sums: np.ndarray | None = None
    counts = np.zeros(len(users), dtype=np.int64)
    e = EmbeddingRow.__table__.c
    q = select(e.post_id, e.vector).where(e.model == model).order_by(e.post_id)
    with store.engine.connect() as conn:
        for chunk in conn.execution_options(yield_per=20_000).execute(q).partitions(20_000):
            pids = np.array([r[0] for r in chunk], dtype=np.int64)
            emb = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in chunk])
            if sums is None:
                sums = np.zeros((len(users), emb.shape[1]), dtype=np.float32)
            lo, hi = np.searchsorted(post_sorted, [pids[0], pids[-1] + 1])
            sel = order[lo:hi]  # edges whose post falls in this chunk's id range
            local = np.searchsorted(pids, post[sel])
            has = (local < len(pids)) & (pids[np.minimum(local, len(pids) - 1)] == post[sel])
            sel, local = sel[has], local[has]
            if not len(sel):
                continue
            mat = csr_matrix((w[sel], (uidx[sel], local)), shape=(len(users), len(pids)))
            sums += mat @ emb
            counts += np.bincount(uidx[sel], minlength=len(users))
    if sums is None:
        out = UserVectors(np.zeros(0, np.int64), np.zeros((0, 512), np.float32), np.zeros(0, np.int64))
    else:
        norms = np.linalg.norm(sums, axis=1)
        keep = (counts > 0) & (norms > 1e-9)
        out = UserVectors(users[keep], (sums[keep] / norms[keep, None]).astype(np.float32), counts[keep])
    with _lock:
        _cache.clear()  # one store's vectors at a time: they can be large
        _cache[key] = out
    return out


# ---- segments -------------------------------------------------------------------------------------------------


def _choose_k(x: np.ndarray, max_k: int) -> int:
    from townsquare.listen.explain import best_k

    sample = x if len(x) <= 800 else x[np.random.default_rng(0).choice(len(x), 800, replace=False)]
    return max(2, best_k(sample, max_k, min_size=5, floor=-1.0))  # segments: always at least two


def ctfidf(docs_per_class: list[list[list[str]]], top: int = 6) -> list[list[str]]:
    """Top terms per class by c-TF-IDF (BERTopic's): tf(t, c) × log(1 + A / f(t)), where A is the average number of
    terms per class and f(t) the term's frequency over all classes — frequent here, rare elsewhere. Terms no more
    frequent in a class than overall are left out, so words every segment uses never label one."""
    tf = [Counter(w for doc in docs for w in set(doc)) for docs in docs_per_class]
    total = Counter()
    for c in tf:
        total.update(c)
    avg = sum(sum(c.values()) for c in tf) / max(len(tf), 1)
    grand = max(sum(total.values()), 1)
    out = []
    for c in tf:
        size = max(sum(c.values()), 1)
        # Only distinctive terms: at least 1.5× as frequent here as overall ("reply", "happy" are everywhere).
        scored = sorted(((c[w] / size) * math.log(1 + avg / total[w]), w) for w in c
                        if c[w] >= 2 and (len(tf) == 1 or c[w] / size >= 1.5 * total[w] / grand))
        out.append([w for _, w in sorted(scored, key=lambda s: (-s[0], s[1]))[:top]])
    return out


def _without_language(uv: UserVectors, authored: list, authors: dict) -> np.ndarray:
    """Interest vectors with each language's mean taken out (then unit length again). Even a multilingual
    embedding keeps a language offset, and clusters of raw vectors split by language first (English vs Chinese
    speakers); centred per language, they form around interests shared across languages."""
    count: dict[int, Counter] = {}
    for r in authored:
        count.setdefault(r.author_id, Counter())[r.lang or "und"] += 1
    lang = []
    for u in uv.user_ids.tolist():
        if u in count:
            lang.append(count[u].most_common(1)[0][0])
        else:
            extra = (authors[u].extra or {}) if u in authors else {}
            lang.append(extra.get("lang") or "und")
    lang = np.asarray(lang)
    x = uv.x.copy()
    groups = [g for g in set(lang.tolist()) if (lang == g).sum() >= 5]
    if len(groups) < 2:
        return x
    for g in groups:
        x[lang == g] -= x[lang == g].mean(0)
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass
class Segment:
    id: int
    label: str
    keywords: list[str]
    size: int
    share: float
    users: list[int]
    examples: list[str]  # handles of the members nearest the segment's centre
    langs: dict[str, int]
    declared: list[str]  # the interests members declare most (for reading the label, not used to cluster)

    def to_dict(self, with_users: bool = False) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "users"}
        return d | ({"users": self.users} if with_users else {})


def segments(store: Store, k: int | None = None, *, model: str | None = None, max_k: int = MAX_K,
             seed: int = 0) -> list[Segment]:
    """Cluster every user with history into `k` segments (chosen by silhouette when None), largest first."""
    from townsquare.listen.aggregate import terms
    from townsquare.listen.explain import kmeans

    if k is not None and not 1 <= k <= 100:
        raise BadInput("k", f"{k} segments", "ask for 1 to 100 segments, or leave k out to choose by silhouette")
    uv = user_vectors(store, model)
    n = len(uv.user_ids)
    if n == 0:
        return []
    p, a = PostRow.__table__.c, AuthorRow.__table__.c
    with store.engine.connect() as conn:
        authored = conn.execute(select(p.author_id, p.text, p.lang).where(p.author_id.is_not(None))
                                .order_by(p.id)).all()
        authors = {r.id: r for r in conn.execute(select(a.id, a.handle, a.extra))}
    x = _without_language(uv, authored, authors)
    k = min(k or _choose_k(x, max_k), n)
    labels, centroids = kmeans(x, k, seed=seed) if k > 1 else (np.zeros(n, int), x.mean(0, keepdims=True))
    # Readable labels: terms of posts written by each segment's members (a sample per segment).
    rng = np.random.default_rng(seed)
    seg_of = dict(zip(uv.user_ids.tolist(), labels.tolist(), strict=True))
    by_seg: list[list[tuple[str, str | None]]] = [[] for _ in range(k)]
    for r in authored:
        j = seg_of.get(r.author_id)
        if j is not None:
            by_seg[j].append((r.text, r.lang))
    docs = []
    for posts in by_seg:
        pick = rng.choice(len(posts), min(LABEL_POSTS, len(posts)), replace=False) if posts else []
        docs.append([terms(posts[i][0], posts[i][1]) for i in pick])
    keywords = ctfidf(docs)
    out = []
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        if not len(idx):
            continue
        members = uv.user_ids[idx]
        near = idx[np.argsort(-(x[idx] @ centroids[j]))[:5]]
        langs = Counter((authors.get(int(u)).extra or {}).get("lang", "other") if authors.get(int(u)) else "other"
                        for u in members)
        declared = Counter(t for u in members for t in ((authors.get(int(u)).extra or {}).get("interests") or []
                                                         if authors.get(int(u)) else []))
        out.append(Segment(
            id=j, label=", ".join(keywords[j][:4]) or "(no common words)", keywords=keywords[j], size=len(idx),
            share=round(len(idx) / n, 4), users=members.tolist(),
            examples=[authors[int(u)].handle for u in uv.user_ids[near] if int(u) in authors],
            langs=dict(langs.most_common()), declared=[t for t, _ in declared.most_common(3)]))
    out.sort(key=lambda s: -s.size)
    for new_id, s in enumerate(out):
        s.id = new_id
    return out


# ---- look-alikes and matching -----------------------------------------------------------------------------------


def _check_k(k: int, field: str = "k") -> None:
    if not 1 <= k <= 1_000_000:
        raise BadInput(field, f"{k} users", "ask for 1 to 1,000,000 users")


def lookalike(store: Store, seed: Iterable[int], k: int = 100, *, model: str | None = None) -> dict:
    """The `k` users nearest the seed list's centroid (seed users excluded), with cosine scores."""
    _check_k(k)
    seed = list(dict.fromkeys(int(s) for s in seed))
    if not seed:
        raise BadInput("seed", "no seed users given", "give the ids of users like the audience you want")
    with store.engine.connect() as conn:
        known = set(conn.execute(select(AuthorRow.id).where(AuthorRow.id.in_(seed))).scalars())
    unknown = [s for s in seed if s not in known]  # a typo is not "a user without history"
    if len(unknown) == len(seed):
        raise BadInput("seed", f"no user has the id{'s' if len(seed) > 1 else ''} {', '.join(map(str, seed[:5]))}",
                       "list users with GET /recommend/users")
    uv = user_vectors(store, model)
    rows, missing = uv.rows([s for s in seed if s in known])
    if not len(rows):
        raise BadInput("seed", f"none of the {len(seed)} seed users has history (posts or engagements)",
                       "pick seed users who have written or engaged with posts")
    centroid = uv.x[rows].mean(0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    scores = uv.x @ centroid
    scores[rows] = -np.inf
    top = np.argsort(-scores)[: min(k, len(scores) - len(rows))]
    users = [{"user_id": int(uv.user_ids[i]), "score": round(float(scores[i]), 4)} for i in top]
    return {"seed_used": len(rows), "seed_without_history": missing, "seed_unknown": unknown, "users": users}


def post_vector(store: Store, post_id: int, model: str | None = None) -> tuple[np.ndarray, int | None]:
    """The stored embedding of a post and its author, or a NotFound / BadInput that says what to do."""
    e, p = EmbeddingRow.__table__.c, PostRow.__table__.c
    with store.engine.connect() as conn:
        post = conn.execute(select(p.id, p.author_id).where(p.id == int(post_id))).first()
        vec = conn.execute(select(e.vector).where(e.post_id == int(post_id), e.model == _model(model))).scalar()
    if post is None:
        raise NotFound(f"post: no post with id {post_id} — find ids with GET /posts (e.g. ?contains=battery)")
    if vec is None:
        raise BadInput("post", f"post {post_id} has no stored embedding",
                       "run `townsquare analyze --store` to embed the stored posts first")
    v = np.frombuffer(vec, dtype=np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12), post.author_id


def match(store: Store, post_id: int, k: int = 1_000, *, exclude: Iterable[int] = (), model: str | None = None
          ) -> list[dict]:
    """The `k` users most likely to engage with a post: score = max(similarity, 0) × (0.5 + 0.5 × activity), where
    activity is log(1 + posts written and engaged with) scaled to [0, 1] — interest leads, and among equally
    interested users the active ones (who will see and react) come first. `exclude`: e.g. users at their cap."""
    _check_k(k)
    v, author = post_vector(store, post_id, model)
    uv = user_vectors(store, model)
    if not len(uv.user_ids):
        return []
    sim = uv.x @ v
    act = np.log1p(uv.activity) / max(float(np.log1p(uv.activity.max())), 1e-12)
    score = np.maximum(sim, 0.0) * (0.5 + 0.5 * act)
    drop = set(int(x) for x in exclude) | ({int(author)} if author is not None else set())
    if drop:
        rows, _ = uv.rows(drop)
        score[rows] = -1.0
    top = np.argsort(-score)[:k]
    return [{"user_id": int(uv.user_ids[i]), "score": round(float(score[i]), 4),
             "similarity": round(float(sim[i]), 4), "activity": int(uv.activity[i])}
            for i in top if score[i] > 0]
