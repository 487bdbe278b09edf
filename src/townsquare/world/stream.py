"""The world's timeline, one hour at a time: posts in time order and the interactions they draw.

Memory stays flat however many posts are asked for: an hour is generated from its own random stream
(seed, hour), then handed out; only a short ring of recent posts (for replies) and the interactions still
due in the next day are kept. How many posts fall in each hour is fixed up front (`plan`): the authors'
online hours give the daily rhythm, a calendar gives weekday/weekend texture, and the two scripted episodes
(the brand crisis, the cup final) add their bursts on top.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from townsquare.schema import Interaction, Post
from townsquare.world.config import WorldConfig
from townsquare.world.people import PART_CALENDAR, PART_HOURS, people, stream
from townsquare.world.text import ONE, ROW, Composer, gate
from townsquare.world.vocab import BRAND_SENTIMENT, LANGS, SENTIMENTS, SPORTS, TECH, TOPICS

NORMAL, CRISIS, FINAL = 0, 1, 2  # what an hour's slots are planned for
C_PLAIN, C_SPAM, C_CRISIS, C_FINAL, C_BRAND = range(5)  # what a post turned out to be

KINDS = ("view", "like", "repost", "click", "hide", "report", "reply")
REPLY = KINDS.index("reply")
# Who does what: rows are close (a follower or a fan of the topic), stranger, any on spam, any on the crisis.
KIND_CDF = np.cumsum(
    [
        [0.45, 0.30, 0.07, 0.14, 0.035, 0.005],
        [0.60, 0.08, 0.01, 0.12, 0.17, 0.02],
        [0.55, 0.01, 0.00, 0.06, 0.26, 0.12],
        [0.40, 0.12, 0.22, 0.18, 0.06, 0.02],
    ],
    axis=1,
)
KIND_CDF[:, -1] = 1.0
_SECONDS = [timedelta(seconds=s) for s in range(3600)]


class PostTruth(NamedTuple):
    """What the generator meant a post to be: ground truth for tests and benchmarks, never stored."""

    topic: str | None  # None for spam
    sentiment: str  # pos | neu | neg
    event: str | None  # "crisis", "final" or None
    spam: bool
    pii: bool
    brand: bool


class HourBatch(NamedTuple):
    hour: int  # hours since the world's start
    posts: list[Post]
    truths: list[PostTruth]
    interactions: list[Interaction]  # those that happen during this hour, in time order


def _profile(cfg: WorldConfig, start: datetime, ramp: float, decay: float) -> np.ndarray:
    """Posts per hour of a burst: a linear rise over `ramp` hours, then exponential decay, cut after 4 decays."""
    steps = 12  # 5-minute resolution inside each hour
    t = (np.arange(cfg.hours * steps) + 0.5) / steps - (start - cfg.start).total_seconds() / 3600
    f = np.where(t < 0, 0.0, np.where(t < ramp, t / ramp, np.exp(-(t - ramp) / decay)))
    f[t >= ramp + 4 * decay] = 0.0
    return f.reshape(cfg.hours, steps).sum(1)


def _spread(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` over hours in proportion to `weights`, exactly (cumulative rounding)."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    cum = np.rint(total * np.cumsum(weights) / weights.sum()).astype(np.int64)
    return np.diff(cum, prepend=0)


@lru_cache(maxsize=8)
def plan(cfg: WorldConfig) -> np.ndarray:
    """(hours, 3) counts of everyday, crisis and cup-final posts per hour; sums to `cfg.posts` exactly."""
    pp = people(cfg)
    rng = stream(cfg, PART_CALENDAR)
    weekend = np.array([(cfg.start + timedelta(days=d)).weekday() >= 5 for d in range(cfg.days)])
    day = rng.lognormal(0.0, 0.08, cfg.days) * np.where(weekend, 1.08, 1.0)
    online = (pp.activity[:, None] * pp.active).sum(0)
    hours = np.arange(cfg.hours)
    base = online[(int(cfg.start.timestamp()) // 3600 + hours) % 24] * day[hours // 24]
    if base.sum() <= 0:
        base = np.ones(cfg.hours)
    zero = np.zeros(cfg.hours)
    crisis = _profile(cfg, cfg.crisis_start, cfg.crisis_ramp_hours, cfg.crisis_decay_hours) if cfg.crisis else zero
    final = (_profile(cfg, cfg.distractor_start - timedelta(hours=2), 2.0, 1.5) if cfg.distractor else zero)
    n_crisis = round(cfg.posts * cfg.crisis_share) if crisis.sum() > 0 else 0
    n_final = round(cfg.posts * cfg.distractor_share) if final.sum() > 0 else 0
    n_base = cfg.posts - n_crisis - n_final
    return np.stack([_spread(n_base, base), _spread(n_crisis, crisis), _spread(n_final, final)], axis=1)


class _Recent:
    """The last few posts of one kind and language; replies pick their parent here."""

    __slots__ = ("items", "size", "next")

    def __init__(self, size: int):
        self.items: list[tuple[int, int, int]] = []  # (post index, author, topic)
        self.size, self.next = size, 0

    def add(self, item: tuple[int, int, int]) -> None:
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            self.items[self.next] = item
            self.next = (self.next + 1) % self.size

    def pick(self, x: float) -> tuple[int, int, int]:
        return self.items[int(x * len(self.items))]


def _authors_for(cdf: np.ndarray, fallback: np.ndarray, u: np.ndarray) -> np.ndarray:
    cdf = cdf if cdf[-1] > 0 else fallback
    return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1)


class _Timeline:
    """Generates the hours in order; holds the little state that crosses hours (recent posts, due interactions)."""

    def __init__(self, cfg: WorldConfig):
        self.cfg, self.pp, self.text = cfg, people(cfg), Composer(cfg)
        self.counts = plan(cfg)
        self.epoch = int(cfg.start.timestamp())
        self.hour_starts = [cfg.start + timedelta(hours=h) for h in range(cfg.hours + 1)]
        size = int(np.clip(cfg.posts / cfg.hours * 6, 64, 4096))  # about six hours of posts
        self.recent = (_Recent(size), _Recent(size))
        self.crisis_recent = (_Recent(256), _Recent(256))
        self.questions = (_Recent(64), _Recent(64))  # brand posts the support account may answer
        self.interests = [frozenset(i) for i in self.pp.interests]
        self.fe_off, self.fe_nbr = (x.tolist() for x in self.pp.followees)
        self.last_post: dict[int, tuple[int, int, int]] = {}  # author -> (post index, topic, hour)
        self.lang_of = self.pp.lang.tolist()
        self.due: dict[int, list[tuple[np.ndarray, ...]]] = {}
        self.next_index = 0

    def hours(self, with_interactions: bool) -> Iterator[HourBatch]:
        for h in range(self.cfg.hours):
            posts, truths = self._posts(h, with_interactions)
            interactions = self._release(h) if with_interactions else []
            yield HourBatch(h, posts, truths, interactions)

    # ---- posts ---------------------------------------------------------------------------------
    def _posts(self, h: int, with_interactions: bool):
        cfg, pp, tx = self.cfg, self.pp, self.text
        nb, nc, nf = (int(x) for x in self.counts[h])
        n = nb + nc + nf
        if not n:
            return [], []
        rng = stream(cfg, PART_HOURS, h)
        secs = np.sort(rng.integers(0, 3600, n))
        slot = np.repeat([NORMAL, CRISIS, FINAL], [nb, nc, nf])
        rng.shuffle(slot)
        rows = rng.integers(0, ONE, (n, ROW)).tolist()
        v = rng.random((n, 7))
        cdf = pp.hour_cdf[:, ((self.epoch // 3600) + h) % 24, :]
        anyone = _authors_for(cdf[0], cdf[0], v[:, 0])
        zh = v[:, 1] < cfg.zh_share
        by_lang = np.where(zh, _authors_for(cdf[2], cdf[0], v[:, 2]), _authors_for(cdf[1], cdf[0], v[:, 2]))
        fans = pp.audience.sample(SPORTS * 2 + zh.astype(np.int64), v[:, 3])
        fans = np.where(fans < 0, by_lang, fans)
        topic = (v[:, 4][:, None] > pp.topic_cdf[anyone]).sum(1)
        sent_u = v[:, 5]
        sent = (sent_u > pp.sent_cdf[anyone, 0]).astype(np.int64) + (sent_u > pp.sent_cdf[anyone, 1])
        spam = v[:, 6] < cfg.spam_share
        bots = pp.bots[np.minimum((v[:, 6] / max(cfg.spam_share, 1e-12) * len(pp.bots)).astype(np.int64),
                                  len(pp.bots) - 1)]

        # Reach (and so likes and interactions) follows the slot's planned author; the rare posts handed to
        # the brand's accounts below keep it, which keeps these draws independent of the loop.
        planned = np.where(slot == NORMAL, np.where(spam, bots, anyone), np.where(slot == CRISIS, by_lang, fans))
        appeal = rng.lognormal(-0.32, 0.8, n) * pp.reach[planned] * np.where(spam & (slot == NORMAL), 0.05, 1.0)
        likes = rng.poisson(appeal * 4.0).tolist()
        reposts = rng.poisson(appeal * np.where(slot == CRISIS, 1.5, 0.4)).tolist()
        replies = rng.poisson(appeal * 0.5).tolist()

        lang_of, handles, pids, first = self.lang_of, pp.handles, pp.pids, self.next_index
        fe_off, fe_nbr, platform, base = self.fe_off, self.fe_nbr, cfg.platform, self.hour_starts[h]
        reply_gate, brand_gate, mention_gate = gate(cfg.reply_share), gate(cfg.brand_share), gate(0.08)
        everyday, last_post = self.recent, self.last_post
        posts, truths, authors, classes, parents, topics = [], [], [], [], [], []
        for i, (k, u, a, t, s, sec, sp) in enumerate(zip(slot.tolist(), rows, planned.tolist(), topic.tolist(),
                                                         sent.tolist(), secs.tolist(), spam.tolist(), strict=True)):
            idx, parent, pii, event, brand, cls = first + i, -1, False, None, False, C_PLAIN
            lg = lang_of[a]
            if k == NORMAL and not sp:
                recent = everyday[lg]
                if u[14] < reply_gate and recent.items:
                    parent, pa, t = self._parent(recent, u[15], a, h)
                    text = tx.reply(lg, t, s, handles[pa], u)
                    recent.add((idx, a, t))
                    last_post[a] = (idx, t, h)
                elif t == TECH and u[15] < brand_gate:
                    cls, brand = C_BRAND, True
                    a, lg, s, text, parent = self._brand(a, lg, u[15] / brand_gate, u, idx)
                else:
                    mention = None
                    if u[11] < mention_gate and fe_off[a + 1] > fe_off[a]:
                        lo = fe_off[a]
                        mention = handles[fe_nbr[lo + u[11] % (fe_off[a + 1] - lo)]]
                    text, pii = tx.post(lg, t, s, u, mention)
                    recent.add((idx, a, t))
                    last_post[a] = (idx, t, h)
            elif k == NORMAL:
                cls, t, s, text = C_SPAM, -1, 1, tx.spam(lg, u)
            elif k == CRISIS:
                cls, t, event, brand, y = C_CRISIS, TECH, "crisis", True, u[15] / ONE
                recent = self.crisis_recent[lg]
                if y < 0.07 and recent.items:  # the support account answers a complaint
                    parent, pa, _ = recent.pick(y / 0.07)
                    a, s, text = 1, 1, tx.support(lg, handles[pa], True, u)
                elif y < 0.32 and recent.items:  # "same here": complaints pile up in threads
                    parent, pa, _ = recent.pick((y - 0.07) / 0.25)
                    s, text = 2, tx.crisis_reply(lg, handles[pa], u)
                    recent.add((idx, a, t))
                else:
                    s, text = 2, tx.crisis(lg, u)
                    recent.add((idx, a, t))
            else:
                cls, t, event, y = C_FINAL, SPORTS, "final", u[15] / ONE
                s = 0 if y < 0.8 else 1 if y < 0.93 else 2
                text = tx.final(lg, s, u)
            posts.append(Post(platform, f"p{idx:07d}", text, base + _SECONDS[sec], pids[a], LANGS[lg],
                              f"p{parent:07d}" if parent >= 0 else None,
                              metrics={"likes": likes[i], "reposts": reposts[i], "replies": replies[i]}))
            truths.append(PostTruth(TOPICS[t] if t >= 0 else None, SENTIMENTS[s], event, cls == C_SPAM, pii, brand))
            authors.append(a)
            classes.append(cls)
            parents.append(parent)
            topics.append(t)
        self.next_index += n
        if with_interactions:
            seen = appeal * np.where(spam & (slot == NORMAL), 10.0, 1.0)  # spam is seen (and hidden), not liked
            self._interactions(h, rng, secs, np.asarray(authors), np.asarray(classes), np.asarray(topics),
                               np.asarray(parents), seen)
        return posts, truths

    def _parent(self, recent: _Recent, r: int, a: int, h: int) -> tuple[int, int, int]:
        """A post to reply to: the latest post (under a day old) of someone the replier follows, two tries;
        else a recent post on a topic they care about, three tries; else any recent post."""
        lo, hi = self.fe_off[a], self.fe_off[a + 1]
        if hi > lo:
            for j in range(2):
                f = self.fe_nbr[lo + (r >> (12 * j)) % (hi - lo)]
                last = self.last_post.get(f)
                if last is not None and h - last[2] <= 24:
                    return last[0], f, last[1]
        items, likes = recent.items, self.interests[a]
        for j in range(3):
            item = items[(r * (2 * j + 1) + 7919 * j) % len(items)]
            if item[2] in likes:
                return item
        return item

    def _brand(self, a: int, lg: int, y: float, u: list[float], idx: int):
        """Everyday brand talk: the official account (5%), support answering a question (15%), people (80%)."""
        tx, questions = self.text, self.questions[lg]
        if y < 0.05:
            return 0, 0, 0, tx.official(0, u), -1
        if y < 0.2 and questions.items:
            parent, pa, _ = questions.pick((y - 0.05) / 0.15)
            return 1, lg, 1, tx.support(lg, self.pp.handles[pa], False, u), parent
        z = (y - 0.2) / 0.8 if y >= 0.2 else (y - 0.05) / 0.15  # (no question waiting for an answer)
        s = 0 if z < BRAND_SENTIMENT[0] else 1 if z < BRAND_SENTIMENT[0] + BRAND_SENTIMENT[1] else 2
        if s:
            questions.add((idx, a, TECH))
        return a, lg, s, tx.brand(lg, s, u), -1

    # ---- interactions --------------------------------------------------------------------------
    def _interactions(self, h, rng, secs, authors, classes, topics, parents, appeal) -> None:
        """Who sees, likes, hides... each post: followers and fans of the topic mostly, at their online hours."""
        cfg, pp = self.cfg, self.pp
        n = len(authors)
        index = self.next_index - n + np.arange(n)
        at = h * 3600 + secs
        lang = pp.lang[authors].astype(np.int64)
        m = rng.poisson(max(cfg.interactions_per_post - cfg.reply_share, 0.0) * appeal)
        rep = np.repeat(np.arange(n), m)
        w = rng.random((len(rep), 4))
        author, cls = authors[rep], classes[rep]
        off, nbr = pp.followers
        lo, cnt = off[author], off[author + 1] - off[author]
        follower = np.full(len(rep), -1)
        if len(nbr):
            follower = np.where(cnt > 0, nbr[np.minimum(lo + (w[:, 1] * cnt).astype(np.int64), len(nbr) - 1)], -1)
        fan = pp.audience.sample(np.maximum(topics[rep], 0) * 2 + lang[rep], w[:, 1])
        stranger = pp.regulars[np.minimum((w[:, 1] * len(pp.regulars)).astype(np.int64), len(pp.regulars) - 1)]
        user = np.where(w[:, 0] < 0.45, follower, np.where(w[:, 0] < 0.85, fan, -1))
        user = np.where(cls == C_SPAM, -1, user)  # nobody sought out spam
        close = user >= 0
        user = np.where(close, user, stranger)
        row = np.where(cls == C_SPAM, 2, np.where(cls == C_CRISIS, 3, np.where(close, 0, 1)))
        kind = (w[:, 2][:, None] > KIND_CDF[row]).sum(1)
        t = at[rep] + 1 + np.minimum(rng.exponential(2700.0, len(rep)), 86_400).astype(np.int64)
        clock = (self.epoch + t) // 3600
        wait = pp.wait[user, clock % 24]
        t = np.where(wait > 0, (clock + wait) * 3600 - self.epoch + (w[:, 3] * 3000).astype(np.int64), t)
        keep = (user != author) & (t < cfg.hours * 3600)
        user, post, kind, t = user[keep], index[rep][keep], kind[keep], t[keep]
        _, first = np.unique((post * pp.n + user) * 8 + kind, return_index=True)
        user, post, kind, t = user[first], post[first], kind[first], t[first]
        replied = parents >= 0  # every reply post is also a "reply" interaction on its parent
        user = np.concatenate([user, authors[replied]])
        post = np.concatenate([post, parents[replied]])
        kind = np.concatenate([kind, np.full(int(replied.sum()), REPLY)])
        t = np.concatenate([t, at[replied]])
        hour = t // 3600
        order = np.argsort(hour, kind="stable")
        hour, user, post, kind, t = hour[order], user[order], post[order], kind[order], t[order]
        cuts = np.flatnonzero(np.diff(hour)) + 1
        for lo_, hi_ in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(hour)]]), strict=True):
            if hi_ > lo_:
                self.due.setdefault(int(hour[lo_]), []).append((user[lo_:hi_], post[lo_:hi_], kind[lo_:hi_],
                                                                  t[lo_:hi_]))

    def _release(self, h: int) -> list[Interaction]:
        parts = self.due.pop(h, None)
        if not parts:
            return []
        user, post, kind, t = (np.concatenate(col) for col in zip(*parts, strict=True))
        order = np.argsort(t, kind="stable")
        base, platform, pids = self.hour_starts[h], self.cfg.platform, self.pp.pids
        offset = h * 3600
        return [
            Interaction(platform, pids[a], f"p{p:07d}", KINDS[k], base + _SECONDS[s - offset])
            for a, p, k, s in zip(user[order].tolist(), post[order].tolist(), kind[order].tolist(),
                                  t[order].tolist(), strict=True)
        ]


def iter_hours(cfg: WorldConfig, interactions: bool = True) -> Iterator[HourBatch]:
    """The world hour by hour. Posts are identical with or without interactions (those draw last)."""
    return _Timeline(cfg).hours(interactions)
