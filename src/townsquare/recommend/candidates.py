"""Candidate sources: each proposes posts for one user with a short reason, cheaply (a few milliseconds).

Every source keeps one contract — `name` and `fetch(ctx) -> Candidates` — and a shared conformance test runs
over all of them (tests/test_feed.py). A post proposed by several sources keeps every source as a feature for
the ranker; its reason comes from the most personal one (order of SOURCES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from townsquare.recommend.profiles import Profile
from townsquare.recommend.state import FeedState
from townsquare.recommend.topics import TOPICS

LANG_NAMES = {"en": "English", "zh": "中文", "es": "Español", "fr": "Français", "de": "Deutsch", "ja": "日本語"}
DAY = 86_400


@dataclass
class Context:
    state: FeedState
    profile: Profile
    now: int  # seconds since the epoch (UTC)
    max_age: int  # seconds: older posts are not candidates
    cf: object | None = None  # the trained collaborative-filtering factors (ranker.CF), if any


@dataclass
class Candidates:
    pos: np.ndarray  # positions in the state
    reasons: list[str]

    @staticmethod
    def empty() -> Candidates:
        return Candidates(np.zeros(0, np.int64), [])


class Source(Protocol):
    name: str

    def fetch(self, ctx: Context) -> Candidates: ...


def _fresh(ctx: Context, pos: np.ndarray) -> np.ndarray:
    st = ctx.state
    pos = np.asarray(pos, np.int64)
    pos = pos[pos >= 0]
    return pos[(st.created[pos] <= ctx.now) & (st.created[pos] >= ctx.now - ctx.max_age)]


class InNetwork:
    """Recent posts of the accounts the user follows."""

    name = "in_network"
    per_author, limit = 8, 300

    def fetch(self, ctx: Context) -> Candidates:
        st = ctx.state
        pos = _fresh(ctx, st.recent_by(ctx.profile.follows, self.per_author, ctx.now - ctx.max_age))
        pos = pos[np.argsort(-st.created[pos], kind="stable")][: self.limit]
        return Candidates(pos, [f"because you follow @{st.handles[a]}" for a in st.author[pos].tolist()])


class Similar:
    """Out-of-network posts near the user's interest vector and declared interests (the ANN index)."""

    name = "similar"
    k_profile, k_interest = 200, 80

    def fetch(self, ctx: Context) -> Candidates:
        st, prof = ctx.state, ctx.profile
        queries, reasons = [], []
        if prof.vector is not None:
            queries.append(prof.vector)
            reasons.append("similar to your posts" if prof.vector_from == "written" else "similar to posts you liked")
        for label, _topic, vec in prof.interests[:5]:
            queries.append(vec)
            reasons.append(f"matches your interest in {label}")
        if not queries:
            return Candidates.empty()
        ks = [self.k_profile] + [self.k_interest] * (len(queries) - 1) if prof.vector is not None else \
            [self.k_interest] * len(queries)
        _, ids = st.ann.search(np.stack(queries), max(ks))
        pos, why = [], []
        for row, k, reason in zip(ids, ks, reasons, strict=True):
            row = _fresh(ctx, row[:k])
            pos.append(row)
            why += [reason] * len(row)
        return Candidates(np.concatenate(pos), why)


class Collaborative:
    """Recent posts of authors whom users with similar engagement engage with (implicit ALS, user × author)."""

    name = "collaborative"
    authors, per_author = 30, 3

    def fetch(self, ctx: Context) -> Candidates:
        cf, st = ctx.cf, ctx.state
        if cf is None:
            return Candidates.empty()
        authors = cf.similar_authors(ctx.profile.user_id, self.authors, exclude=set(ctx.profile.follows.tolist()))
        if not len(authors):
            return Candidates.empty()
        pos = _fresh(ctx, st.recent_by(authors, self.per_author, ctx.now - ctx.max_age))
        return Candidates(pos, [f"people with similar taste engage with @{st.handles[a]}"
                                for a in st.author[pos].tolist()])


class FriendsOfFriends:
    """Posts the accounts the user follows engaged with in the last two days."""

    name = "friends"
    limit = 150

    def fetch(self, ctx: Context) -> Candidates:
        st = ctx.state
        pos, who = st.engaged_by(ctx.profile.follows, ctx.now - 2 * DAY)
        if not len(pos):
            return Candidates.empty()
        uniq, first, counts = np.unique(pos, return_index=True, return_counts=True)
        order = np.argsort(-counts, kind="stable")[: self.limit]
        uniq, first, counts = uniq[order], first[order], counts[order]
        keep = np.isin(uniq, _fresh(ctx, uniq))
        reasons = [f"liked by @{st.handles[w]}, whom you follow" + (f", and {c - 1} more" if c > 1 else "")
                   for w, c in zip(who[first[keep]].tolist(), counts[keep].tolist(), strict=True)]
        return Candidates(uniq[keep], reasons)


class Trending:
    """What is drawing engagement in the last day, in the user's languages (every language if none known)."""

    name = "trending"
    limit = 120

    def fetch(self, ctx: Context) -> Candidates:
        st, prof = ctx.state, ctx.profile
        codes = [st.langs.index(lg) for lg in prof.langs if lg in st.langs] or list(st.trending)
        topics = prof.interest_topics
        pos, why = [], []
        for code in codes:
            row = _fresh(ctx, st.trending.get(code, np.zeros(0, np.int64))[: self.limit])
            lang = LANG_NAMES.get(st.langs[code], st.langs[code])
            pos.append(row)
            why += [f"popular in {topics[t]}" if t in topics else f"trending in {lang}" for t in st.topic[row].tolist()]
        return Candidates(np.concatenate(pos) if pos else np.zeros(0, np.int64), why)


SOURCES: tuple[Source, ...] = (InNetwork(), FriendsOfFriends(), Similar(), Collaborative(), Trending())
SOURCE_NAMES = tuple(s.name for s in SOURCES)


def gather(ctx: Context, sources: tuple[Source, ...] = SOURCES) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(positions, source flags (n, len(SOURCES)), reason) — each post once, reason of its first source."""
    got = [source.fetch(ctx) for source in sources]
    pos = np.concatenate([g.pos for g in got]).astype(np.int64) if got else np.zeros(0, np.int64)
    if not len(pos):
        return pos, np.zeros((0, len(sources)), bool), []
    src = np.concatenate([np.full(len(g.pos), j) for j, g in enumerate(got)])
    reasons = [r for g in got for r in g.reasons]
    # vectorised de-duplication: first occurrence wins (sources are in order of how personal they are)
    uniq, first, inverse = np.unique(pos, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    flags = np.zeros((len(uniq), len(sources)), bool)
    flags[rank[inverse.ravel()], src] = True
    return uniq[order], flags, [reasons[i] for i in first[order].tolist()]


__all__ = ["SOURCES", "SOURCE_NAMES", "TOPICS", "Candidates", "Context", "Source", "gather"]
