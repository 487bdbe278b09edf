"""What every feed request reads, held in memory: the recent window's posts (author, time, language, toxicity,
embedding, topic), the interactions on them, per-author and per-user indexes, trending lists per language and
the ANN index. Built once from the store (`FeedState.load`) and brought up to date with `refresh()`, which
appends the posts and interactions stored since (ids only grow), so the index is updated as posts arrive.

A state is "as of" its clock: posts created and interactions made before it. Live, the clock is the store's
(its newest post, never later than now); for evaluation a state can be loaded as of any past time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select

from townsquare.recommend.ann import AnnIndex
from townsquare.recommend.topics import post_topics
from townsquare.store import Store
from townsquare.store.tables import AnalysisRow, AuthorRow, EmbeddingRow, InteractionRow, PostRow

log = logging.getLogger(__name__)

KINDS = ("view", "like", "repost", "click", "hide", "report", "reply")
KIND_CODE = {k: i for i, k in enumerate(KINDS)}
ENGAGE = np.array([KIND_CODE[k] for k in ("like", "repost", "click", "reply")])
NEGATIVE = np.array([KIND_CODE[k] for k in ("hide", "report")])
# How much each kind says about interest (profiles, affinities); hides and reports count against.
KIND_WEIGHT = np.array([0.1, 1.0, 1.5, 0.5, -1.0, -2.0, 1.5], np.float32)
TOXIC = 0.5  # stored toxicity at or above this never reaches a feed
EPOCH = datetime(1970, 1, 1)


def secs(ts: datetime) -> int:
    """Seconds since the epoch of a naive-UTC (as stored) or aware time."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return int((ts - EPOCH).total_seconds())


def store_clock(store: Store) -> datetime:
    """The store's clock: its newest post's time, never later than now (an archive's clock is its end)."""
    with store.engine.connect() as conn:
        newest = conn.execute(select(func.max(PostRow.created_at))).scalar()
    now = datetime.now(UTC).replace(tzinfo=None)
    return min(newest, now) if newest else now


def _csr(keys: np.ndarray, order_by: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, positions): positions of rows with key i, sorted by `order_by`, are pos[off[i]:off[i+1]]."""
    order = np.lexsort((order_by, keys))
    return np.searchsorted(keys[order], np.arange(n_keys + 1)), order


class FeedState:
    def __init__(self, store: Store, *, window_days: float = 7.0, as_of: datetime | None = None,
                 model: str | None = None, prepare: bool = True, max_prepare: int = 20_000):
        from townsquare.config import get_settings

        self.store, self.window = store, timedelta(days=window_days)
        self.live = as_of is None
        self.clock = (as_of.replace(tzinfo=None) if as_of else store_clock(store))
        self.model = model or get_settings().embedder
        self.prepare, self.max_prepare = prepare, max_prepare
        self.lock = threading.Lock()
        self.dim = 512
        self.langs: list[str] = []
        self.last_post_id = self.last_interaction_id = 0
        self._n = 0
        self._empty_posts()
        self._load_authors()
        self._append_posts(self._read_posts(since=self.clock - self.window))
        self._append_interactions(self._read_interactions(0))
        self._derive()
        self.ann = AnnIndex(self.dim)
        has = np.flatnonzero(self.has_emb)
        self.ann.build(self.emb[has].astype(np.float32), has)

    # ---- loading -------------------------------------------------------------------------------
    def _empty_posts(self) -> None:
        self.post_id = np.zeros(0, np.int64)
        self.author = np.zeros(0, np.int64)
        self.created = np.zeros(0, np.int64)
        self.lang = np.zeros(0, np.int16)
        self.reply = np.zeros(0, bool)
        self.tox = np.zeros(0, np.float32)
        self.has_emb = np.zeros(0, bool)
        self._emb = np.zeros((0, self.dim), np.float16)  # grows by doubling: appends stay cheap

    @property
    def n(self) -> int:
        return self._n

    @property
    def emb(self) -> np.ndarray:
        return self._emb[: self._n]

    @property
    def t(self) -> int:
        return secs(self.clock)

    def _load_authors(self) -> None:
        c = AuthorRow.__table__.c
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(c.id, c.handle, c.followers)).all()
        top = max((r[0] for r in rows), default=0) + 1
        self.handles = np.empty(top, object)
        self.handles[:] = ""
        self.followers = np.zeros(top, np.int64)
        for i, h, f in rows:
            self.handles[i], self.followers[i] = h or "", f or 0
        self.n_users = top

    def _lang_code(self, lang: str | None) -> int:
        lang = lang or "und"
        if lang not in self.langs:
            self.langs.append(lang)
        return self.langs.index(lang)

    def _read_posts(self, since: datetime | None = None, after_id: int = 0) -> list:
        p, a, e = PostRow.__table__.c, AnalysisRow.__table__.c, EmbeddingRow.__table__.c
        q = (select(p.id, p.author_id, p.created_at, p.lang, p.reply_to, a.toxicity, e.vector)
             .select_from(PostRow.__table__.outerjoin(AnalysisRow.__table__, a.post_id == p.id)
                          .outerjoin(EmbeddingRow.__table__, (e.post_id == p.id) & (e.model == self.model)))
             .where(p.created_at <= self.clock, p.id > after_id).order_by(p.id))
        if since is not None:
            q = q.where(p.created_at >= since)
        with self.store.engine.connect() as conn:
            rows = conn.execute(q).all()
        return self._prepare_missing(rows)

    def _prepare_missing(self, rows: list) -> list:
        """Posts in the window without an embedding are analysed once (embedding, toxicity) and stored."""
        missing = [r.id for r in rows if r.vector is None][-self.max_prepare:]
        if not (self.prepare and missing):
            return rows
        from townsquare.understand.batch import analyze_rows, get_analyzer

        p, e = PostRow.__table__.c, EmbeddingRow.__table__.c
        analyzer = get_analyzer()
        log.info("recommend: analysing %d posts of the feed window that have no embedding yet", len(missing))
        for start in range(0, len(missing), 2_048):
            chunk = missing[start:start + 2_048]
            q = (select(p.id, p.text, p.lang, e.vector)
                 .select_from(PostRow.__table__.outerjoin(EmbeddingRow.__table__,
                                                          (e.post_id == p.id) & (e.model == analyzer.embedder.name)))
                 .where(p.id.in_(chunk)))
            with self.store.engine.connect() as conn:
                batch = conn.execute(q).all()
            analyze_rows(self.store, batch, analyzer)
        ids = [r.id for r in rows]
        return self._reread(ids, rows)

    def _reread(self, ids: list[int], rows: list) -> list:
        p, a, e = PostRow.__table__.c, AnalysisRow.__table__.c, EmbeddingRow.__table__.c
        out = []
        for start in range(0, len(ids), 5_000):
            q = (select(p.id, p.author_id, p.created_at, p.lang, p.reply_to, a.toxicity, e.vector)
                 .select_from(PostRow.__table__.outerjoin(AnalysisRow.__table__, a.post_id == p.id)
                              .outerjoin(EmbeddingRow.__table__, (e.post_id == p.id) & (e.model == self.model)))
                 .where(p.id.in_(ids[start:start + 5_000])).order_by(p.id))
            with self.store.engine.connect() as conn:
                out += conn.execute(q).all()
        return out

    def _append_posts(self, rows: list) -> None:
        if not rows:
            return
        m = len(rows)
        first = next((r.vector for r in rows if r.vector is not None), None)
        if first is not None and self._n == 0:
            self.dim = len(first) // 4
            self._emb = np.zeros((0, self.dim), np.float16)
        emb = np.zeros((m, self.dim), np.float16)
        has = np.zeros(m, bool)
        for k, r in enumerate(rows):
            if r.vector is not None and len(r.vector) == 4 * self.dim:
                emb[k] = np.frombuffer(r.vector, np.float32)
                has[k] = True
        if self._n + m > len(self._emb):
            grown = np.zeros((max(2 * len(self._emb), self._n + m), self.dim), np.float16)
            grown[: self._n] = self._emb[: self._n]
            self._emb = grown
        self._emb[self._n:self._n + m] = emb
        self._n += m
        self.post_id = np.concatenate([self.post_id, [r.id for r in rows]]).astype(np.int64)
        self.author = np.concatenate([self.author, [r.author_id or 0 for r in rows]]).astype(np.int64)
        self.created = np.concatenate([self.created, [secs(r.created_at) for r in rows]]).astype(np.int64)
        self.lang = np.concatenate([self.lang, [self._lang_code(r.lang) for r in rows]]).astype(np.int16)
        self.reply = np.concatenate([self.reply, [r.reply_to is not None for r in rows]]).astype(bool)
        self.tox = np.concatenate([self.tox, [np.nan if r.toxicity is None else r.toxicity for r in rows]]
                                  ).astype(np.float32)
        self.has_emb = np.concatenate([self.has_emb, has])
        self.last_post_id = max(self.last_post_id, int(self.post_id[-1]))

    def _read_interactions(self, after_id: int) -> list:
        i, p = InteractionRow.__table__.c, PostRow.__table__.c
        q = (select(i.id, i.user_id, i.post_id, i.kind, i.created_at)
             .select_from(InteractionRow.__table__.join(PostRow.__table__, p.id == i.post_id))
             .where(p.created_at >= self.clock - self.window, p.created_at <= self.clock, i.id > after_id))
        if not self.live:  # a past snapshot sees only what had happened by its clock
            q = q.where(i.created_at < self.clock)
        with self.store.engine.connect() as conn:
            return conn.execute(q).all()

    def _append_interactions(self, rows: list) -> None:
        if not hasattr(self, "i_user"):
            self.i_user = self.i_post = self.i_kind = self.i_t = np.zeros(0, np.int64)
        rows = [r for r in rows if r.kind in KIND_CODE]
        if not rows:
            return
        idx = self.index_of(np.array([r.post_id for r in rows], np.int64))
        keep = idx >= 0
        self.i_user = np.concatenate([self.i_user, np.array([r.user_id for r in rows], np.int64)[keep]])
        self.i_post = np.concatenate([self.i_post, idx[keep]])
        self.i_kind = np.concatenate([self.i_kind, np.array([KIND_CODE[r.kind] for r in rows], np.int64)[keep]])
        self.i_t = np.concatenate([self.i_t, np.array([secs(r.created_at) for r in rows], np.int64)[keep]])
        self.last_interaction_id = max(self.last_interaction_id, max(r.id for r in rows))

    def _derive(self) -> None:
        """Indexes and counts that follow from the arrays: rebuilt whole (vectorised) after each append."""
        n_users = max(self.n_users, int(self.author.max(initial=0)) + 1, int(self.i_user.max(initial=0)) + 1)
        self.n_users = n_users
        if len(self.handles) < n_users:
            self.handles = np.concatenate([self.handles, np.full(n_users - len(self.handles), "", object)])
            self.followers = np.concatenate([self.followers, np.zeros(n_users - len(self.followers), np.int64)])
        self.author_off, self.author_pos = _csr(self.author, self.created, n_users)
        engaged = np.isin(self.i_kind, ENGAGE)
        self.pop = np.bincount(self.i_post[engaged], minlength=self.n).astype(np.float32)
        self.views = np.bincount(self.i_post, minlength=self.n).astype(np.float32)
        e_user, e_post, e_t = self.i_user[engaged], self.i_post[engaged], self.i_t[engaged]
        off, order = _csr(e_user, e_t, n_users)
        self.eng_off, self.eng_post, self.eng_t = off, e_post[order], e_t[order]
        self.topic = post_topics(self.emb, self.has_emb)
        # Trending: engagements of the last day, discounted by age, per language.
        recent = engaged & (self.i_t >= self.t - 86_400)
        heat = np.bincount(self.i_post[recent], minlength=self.n).astype(np.float32)
        heat /= (np.maximum(self.t - self.created, 0) / 3600 + 2) ** 0.8
        heat[(self.tox >= TOXIC)] = 0
        self.heat = heat
        self.trending = {}
        for code in range(len(self.langs)):
            cand = np.flatnonzero((self.lang == code) & (heat > 0))
            self.trending[code] = cand[np.argsort(-heat[cand], kind="stable")][:300]

    # ---- reading -------------------------------------------------------------------------------
    def index_of(self, post_ids: np.ndarray) -> np.ndarray:
        """Positions of these post ids in the window, −1 for posts outside it."""
        post_ids = np.asarray(post_ids, np.int64)
        pos = np.searchsorted(self.post_id, post_ids)
        pos = np.minimum(pos, max(self.n - 1, 0))
        ok = (self.n > 0) & (self.post_id[pos] == post_ids) if self.n else np.zeros(len(post_ids), bool)
        return np.where(ok, pos, -1)

    def recent_by(self, authors: np.ndarray, per_author: int, since: int) -> np.ndarray:
        """Up to `per_author` newest posts (created ≥ since) of each author, as positions."""
        out = []
        for a in np.asarray(authors, np.int64).tolist():
            if a >= len(self.author_off) - 1:
                continue
            lo, hi = self.author_off[a], self.author_off[a + 1]
            pos = self.author_pos[max(lo, hi - per_author):hi]
            out.append(pos[self.created[pos] >= since])
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def engaged_by(self, users: np.ndarray, since: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, users) of the posts these users engaged with since `since`."""
        posts, who = [], []
        for u in np.asarray(users, np.int64).tolist():
            if u >= len(self.eng_off) - 1:
                continue
            lo, hi = self.eng_off[u], self.eng_off[u + 1]
            start = lo + np.searchsorted(self.eng_t[lo:hi], since)
            posts.append(self.eng_post[start:hi])
            who.append(np.full(hi - start, u, np.int64))
        if not posts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(posts), np.concatenate(who)

    def vectors(self, pos: np.ndarray) -> np.ndarray:
        return self.emb[pos].astype(np.float32)

    # ---- keeping up ----------------------------------------------------------------------------
    def refresh(self, on_done: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Append posts and interactions stored since the last look; returns (new posts, new interactions)."""
        if not self.live:
            return 0, 0
        with self.lock:
            self.clock = max(self.clock, store_clock(self.store))
            posts = self._read_posts(after_id=self.last_post_id)
            start = self.n
            self._append_posts(posts)
            inter = self._read_interactions(self.last_interaction_id)
            self._append_interactions(inter)
            if posts or inter:
                self._derive()
            fresh = start + np.flatnonzero(self.has_emb[start:])
            if len(fresh):
                self.ann.add(self.vectors(fresh), fresh)
            if self.ann.stale:
                has = np.flatnonzero(self.has_emb)
                self.ann.build(self.vectors(has), has)
        if on_done:
            on_done(len(posts), len(inter))
        return len(posts), len(inter)
