"""Personalised feeds: candidate sources → learned ranking → filters and mixing, each item with its reason.

    from townsquare.recommend.feed import build_feed, user_profile
    for item in build_feed(store, user_id=42, k=50):
        print(item.post_id, item.score, item.reasons)

`FeedService` holds the warm state (the window's posts in memory, the ANN index, the ranker, a profile cache)
so one request costs milliseconds; `build_feed` is a thin wrapper over the shared service of a store. A feed
is computed at the store's clock (its newest post, at most now); `now=` in the past serves the feed as it
would have been then (a snapshot of that hour), which is how the ranker is trained and evaluated.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from townsquare.errors import BadInput
from townsquare.recommend import filters, promoted
from townsquare.recommend.candidates import SOURCE_NAMES, SOURCES, Context, InNetwork, gather
from townsquare.recommend.profiles import Profile, build_profile
from townsquare.recommend.ranker import Ranker, features
from townsquare.recommend.state import EPOCH, FeedState, secs, store_clock
from townsquare.store import Store

log = logging.getLogger(__name__)

MAX_K = 500  # the most one feed request returns; larger k is capped to this (the API answers 422 instead)
STRATEGIES = ("ranked", "chronological")
MAX_AGE_DAYS = 3.0  # freshness: older posts are not shown
PROFILE_TTL_S = 30.0  # a live profile is re-read from the store after this long
REFRESH_S = 10.0  # a live service looks for new posts and interactions at most this often


@dataclass
class FeedItem:
    post_id: int
    score: float
    reasons: list[str]
    source: str
    promoted: bool = False
    author_id: int | None = None
    created_at: datetime | None = None
    sources: list[str] = field(default_factory=list)


def check_k(k: int) -> int:
    if not isinstance(k, int) or k < 1:
        raise BadInput("k", f"{k!r} is not a positive number of items", "ask for 1 to 500 items, e.g. k=50")
    return min(k, MAX_K)


class FeedService:
    """Warm feeds for one store (live) or for one past moment (`as_of`)."""

    def __init__(self, store: Store, *, as_of: datetime | None = None, ranker: Ranker | None = None,
                 window_days: float = 7.0, max_age_days: float = MAX_AGE_DAYS, prepare: bool = True,
                 auto_train: bool | None = None):
        started = time.perf_counter()
        self.store = store
        self.state = FeedState(store, window_days=window_days, as_of=as_of, prepare=prepare)
        self.ranker = ranker or Ranker.load()
        self.max_age = int(max_age_days * 86_400)
        self._profiles: OrderedDict[int, tuple[float, Profile]] = OrderedDict()
        self._plock = threading.Lock()
        self._refreshing = threading.Lock()
        self._last_refresh = time.monotonic()
        self.warmup_s = time.perf_counter() - started
        if auto_train is None:
            auto_train = self.state.live and os.environ.get("TOWNSQUARE_FEED_AUTO_TRAIN", "1") != "0"
        self.training = False
        if auto_train and self.ranker.kind == "heuristic":
            self._train_in_background()

    # ---- profiles ------------------------------------------------------------------------------
    def profile(self, user_id: int) -> Profile:
        now = time.monotonic()
        with self._plock:
            hit = self._profiles.get(user_id)
            if hit and (not self.state.live or now - hit[0] < PROFILE_TTL_S):
                return hit[1]
        prof = build_profile(self.state, user_id)
        with self._plock:
            self._profiles[user_id] = (now, prof)
            if len(self._profiles) > 100_000:
                self._profiles.popitem(last=False)
        return prof

    def forget(self, user_id: int) -> None:
        """Drop a cached profile (after the user saw, blocked or muted something)."""
        with self._plock:
            self._profiles.pop(user_id, None)

    def profile_dict(self, user_id: int) -> dict:
        prof = self.profile(user_id)
        st = self.state
        out = prof.to_dict()
        top = sorted(prof.author_affinity.items(), key=lambda kv: -kv[1])[:5]
        out["top_authors"] = [{"author_id": a, "handle": st.handles[a] if a < len(st.handles) else "",
                               "weight": round(w, 2)} for a, w in top if w > 0]
        out["clock"] = st.clock.isoformat() + "Z"
        return out

    # ---- feeds ---------------------------------------------------------------------------------
    def context(self, prof: Profile, now: int | None = None) -> Context:
        return Context(self.state, prof, self.state.t if now is None else now, self.max_age, self.ranker.cf)

    def candidates(self, prof: Profile, now: int | None = None):
        """(positions, source flags, reasons) of the allowed candidates."""
        ctx = self.context(prof, now)
        pos, flags, reasons = gather(ctx, SOURCES)
        ok = filters.allowed(self.state, prof, pos, ctx.now, self.max_age)
        return pos[ok], flags[ok], [r for r, keep in zip(reasons, ok.tolist(), strict=True) if keep], ctx

    def feed(self, user_id: int, k: int = 50, *, strategy: str = "ranked", now: datetime | None = None,
             mix: bool = True) -> list[FeedItem]:
        k = check_k(k)
        if strategy not in STRATEGIES:
            raise BadInput("strategy", f"{strategy!r} is not a feed strategy", f"use one of {', '.join(STRATEGIES)}")
        self._maybe_refresh()
        prof = self.profile(int(user_id))
        t = self.state.t if now is None else secs(now)
        items = self._chronological(prof, k, t) if strategy == "chronological" else self._ranked(prof, k, t)
        if mix:
            items = promoted.mix(self.store, prof.user_id, items, EPOCH + timedelta(seconds=t))
        return items

    def _item(self, p: int, score: float, reasons: list[str], source: str, srcs: list[str]) -> FeedItem:
        st = self.state
        return FeedItem(post_id=int(st.post_id[p]), score=round(float(score), 5), reasons=reasons, source=source,
                        author_id=int(st.author[p]), created_at=EPOCH + timedelta(seconds=int(st.created[p])),
                        sources=srcs)

    def _ranked(self, prof: Profile, k: int, now: int) -> list[FeedItem]:
        st = self.state
        pos, flags, reasons, ctx = self.candidates(prof, now)
        if not len(pos):
            return []
        x = features(st, prof, pos, flags, now, self.ranker.cf)
        scores = self.ranker.score(x)
        order = np.argsort(-scores, kind="stable")
        picked = filters.diversify(order, st.author[pos], k)
        topics = prof.interest_topics
        out = []
        for i in picked.tolist():
            srcs = [SOURCE_NAMES[j] for j in np.flatnonzero(flags[i])]
            why = [reasons[i]]
            t = int(st.topic[pos[i]])
            if t in topics and topics[t] not in why[0]:
                why.append(f"about {topics[t]}, one of your interests")
            out.append(self._item(pos[i], scores[i], why, srcs[0], srcs))
        return out

    def _chronological(self, prof: Profile, k: int, now: int) -> list[FeedItem]:
        """The baseline: followed authors' posts, newest first (same filters, no ranking, no other sources)."""
        st = self.state
        ctx = self.context(prof, now)
        src = InNetwork()
        src.limit, src.per_author = max(k, 300), 20
        got = src.fetch(ctx)
        ok = filters.allowed(st, prof, got.pos, now, self.max_age)
        pos = got.pos[ok]
        reasons = [r for r, keep in zip(got.reasons, ok.tolist(), strict=True) if keep]
        order = np.argsort(-st.created[pos], kind="stable")[:k]
        return [self._item(pos[i], 1.0 / (1.0 + (now - st.created[pos[i]]) / 3600), [reasons[i]], "in_network",
                           ["in_network"]) for i in order.tolist()]

    # ---- keeping up ----------------------------------------------------------------------------
    def _maybe_refresh(self) -> None:
        if not self.state.live or time.monotonic() - self._last_refresh < REFRESH_S:
            return
        if self._refreshing.acquire(blocking=False):
            self._last_refresh = time.monotonic()

            def run() -> None:
                try:
                    self.state.refresh()
                except Exception:  # noqa: BLE001 - a failed refresh must not take feeds down; next one retries
                    log.exception("recommend: refreshing the feed state failed")
                finally:
                    self._refreshing.release()

            threading.Thread(target=run, name="townsquare-feed-refresh", daemon=True).start()

    def _train_in_background(self) -> None:
        def run() -> None:
            from townsquare.recommend.learn import train

            try:
                report = train(self.store)
                if report.saved:
                    self.ranker = Ranker.load()
            except Exception:  # noqa: BLE001 - the heuristic keeps serving
                log.exception("recommend: training the ranker failed")
            finally:
                self.training = False

        self.training = True
        threading.Thread(target=run, name="townsquare-feed-train", daemon=True).start()

    def info(self) -> dict:
        st = self.state
        return {"clock": st.clock.isoformat() + "Z", "posts_in_window": st.n, "indexed": len(st.ann),
                "index": st.ann.kind, "ranker": self.ranker.kind, "training": self.training,
                "validation_auc": self.ranker.meta.get("validation_auc"), "warmup_s": round(self.warmup_s, 2)}


# ---- shared services ---------------------------------------------------------------------------------------
_lock = threading.Lock()
_live: dict[str, FeedService] = {}
_past: OrderedDict[tuple[str, int], FeedService] = OrderedDict()


def _key(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)


def get_service(store: Store, now: datetime | None = None, *, auto_train: bool | None = None) -> FeedService:
    """The store's live service, or a snapshot for a past `now` (its hour; a few are kept). `auto_train=False`
    keeps a new live service from training a ranker in the background: a one-shot CLI run would exit mid-training."""
    key = _key(store)
    if now is not None:
        now = now if now.tzinfo is None else now.astimezone(UTC).replace(tzinfo=None)
        if now < store_clock(store) - timedelta(hours=1):
            hour = now.replace(minute=0, second=0, microsecond=0)
            with _lock:
                svc = _past.get((key, secs(hour)))
                if svc is None:
                    svc = FeedService(store, as_of=hour)
                    _past[(key, secs(hour))] = svc
                    while len(_past) > 8:
                        _past.popitem(last=False)
                return svc
    with _lock:
        svc = _live.get(key)
        if svc is None:
            svc = _live[key] = FeedService(store, auto_train=auto_train)
        return svc


def reset_services() -> None:
    """Forget every warm service (after training a ranker, or between tests)."""
    with _lock:
        _live.clear()
        _past.clear()


def empty_note(svc: FeedService) -> str:
    """Why a feed is empty. The clock is the store's newest post: one recent post in an old archive (the sample
    world is October 2026) moves it past everything else, and the feed shows only the days before it."""
    days = svc.max_age / 86_400
    return (f"nothing to show yet: no posts from followed accounts, similar posts or trending posts in this user's "
            f"languages in the {days:g} days before the store's clock, {svc.state.clock:%Y-%m-%d %H:%M} UTC (its "
            f"newest post)")


def build_feed(store: Store, user_id: int, k: int = 50, *, strategy: str = "ranked",
               now: datetime | None = None) -> list[FeedItem]:
    """The user's feed: `ranked` (the full pipeline) or `chronological` (followed authors, newest first)."""
    check_k(k)
    return get_service(store, now).feed(user_id, k, strategy=strategy, now=now)


def user_profile(store: Store, user_id: int) -> dict:
    """Interest vector summary, declared interests, follows, active hours, top topics and languages."""
    return get_service(store).profile_dict(user_id)
