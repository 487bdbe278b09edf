"""The people of a sample world: who they are, when they are online, what they like and whom they follow.

Everything is drawn once per config as numpy arrays (`people(cfg)`, cached) so that the post and interaction
streams can sample authors, audiences and followers by vectorised look-ups instead of Python loops.
Index 0 is the brand's official account, index 1 its support account, the last few are spam bots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from townsquare.schema import Author, Follow
from townsquare.world.config import WorldConfig
from townsquare.world.vocab import LANGS, SENTIMENT_PRIOR, TECH, TOPIC_PRIOR, TOPICS, VOCAB

PERSON, OFFICIAL, SUPPORT, BOT = 0, 1, 2, 3

# One independent random stream per part of the world, so changing one part never shifts another.
PART_PEOPLE, PART_FOLLOWS, PART_CALENDAR, PART_HOURS = 1, 2, 3, 4


def stream(cfg: WorldConfig, part: int, *index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([cfg.seed, part, *index])))


class Pools:
    """Ids grouped by key (e.g. topic x language), sampled in proportion to a weight, all vectorised.

    Rows with zero weight are left out; one id may appear in several rows (a person with several interests).
    """

    def __init__(self, keys: np.ndarray, weights: np.ndarray, n_keys: int, ids: np.ndarray | None = None):
        rows = np.flatnonzero(weights > 0)
        rows = rows[np.argsort(keys[rows], kind="stable")]
        self.ids = (np.arange(len(keys)) if ids is None else np.asarray(ids))[rows]
        self.cum = np.cumsum(weights[rows])
        self.bounds = np.searchsorted(keys[rows], np.arange(n_keys + 1))
        padded = np.concatenate([[0.0], self.cum])
        self.lo, self.hi = padded[self.bounds[:-1]], padded[self.bounds[1:]]

    def sample(self, keys: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One id per key, -1 where the key's pool is empty."""
        if not len(self.ids):
            return np.full(len(keys), -1, dtype=np.int64)
        start, end = self.bounds[keys], self.bounds[keys + 1]
        pos = np.searchsorted(self.cum, self.lo[keys] + u * (self.hi[keys] - self.lo[keys]), side="right")
        pos = np.clip(pos, start, np.maximum(end - 1, start))  # guards float round-off at segment edges
        return np.where(end > start, self.ids[np.minimum(pos, len(self.ids) - 1)], -1)


def csr(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Adjacency as (offsets, neighbours): neighbours of i are nbr[off[i]:off[i+1]]."""
    order = np.argsort(src, kind="stable")
    return np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]), dst[order]


@dataclass(eq=False)
class People:
    n: int
    pids: list[str]
    handles: list[str]
    names: list[str]
    bios: list[str]
    kind: np.ndarray  # PERSON / OFFICIAL / SUPPORT / BOT
    lang: np.ndarray  # 0 en, 1 zh
    active: np.ndarray  # (n, 24) bool, UTC hours
    wait: np.ndarray  # (n, 24) hours from that hour until the person is next online
    activity: np.ndarray  # how much they post
    popularity: np.ndarray  # how followable they are (heavy-tailed: preferential attachment)
    reach: np.ndarray  # popularity mapped to a mean-1 multiplier of likes and interactions
    interests: list[tuple[int, ...]]
    topic_cdf: np.ndarray  # (n, topics) what they post about
    sent_cdf: np.ndarray  # (n, 2) mood: P(pos), P(pos or neu)
    created: np.ndarray  # account creation, seconds relative to the world's start (negative)
    follow_src: np.ndarray
    follow_dst: np.ndarray
    follow_created: np.ndarray  # seconds relative to the world's start
    followees: tuple[np.ndarray, np.ndarray]  # csr
    followers: tuple[np.ndarray, np.ndarray]  # csr
    hour_cdf: np.ndarray  # (3, 24, n): who posts at each UTC hour: any language, en only, zh only
    audience: Pools  # people by topic*2+lang, weighted by activity: who sees a topic's posts
    bots: np.ndarray
    regulars: np.ndarray  # people (not brand accounts, not bots)


def _active_hours(rng: np.random.Generator, lang: np.ndarray) -> np.ndarray:
    """Each person is online in a morning or lunch window and an evening window of their local day."""
    n = len(lang)
    tz = np.where(lang == 1, 8, rng.choice([-8, -7, -6, -5, -5, -4, 0, 0, 1, 1, 2, 10], size=n))
    day_start = rng.choice([7, 8, 12], size=n)
    day_len = rng.integers(1, 3, size=n)
    eve_start = rng.choice([18, 19, 20, 21], size=n)
    eve_len = rng.integers(2, 5, size=n)
    local = np.arange(24)[None, :]
    on = ((local >= day_start[:, None]) & (local < (day_start + day_len)[:, None])) | (
        (local >= eve_start[:, None]) & (local < (eve_start + eve_len)[:, None])
    )
    utc = (np.arange(24)[None, :] + tz[:, None]) % 24  # UTC hour h is local hour h + tz
    return np.take_along_axis(on, utc, axis=1)


def _wait_hours(active: np.ndarray) -> np.ndarray:
    wait = np.full(active.shape, 24, dtype=np.int16)
    for d in range(23, -1, -1):  # smallest d wins
        wait = np.where(np.roll(active, -d, axis=1), d, wait)
    return np.where(wait == 24, 0, wait)


def _names(rng: np.random.Generator, cfg: WorldConfig, lang, kind, interests) -> tuple[list, list, list]:
    en, zh = VOCAB
    handles, names, bios, seen = [], [], [], set()
    u = rng.random((len(lang), 6)).tolist()

    def pk(seq, x):
        return seq[int(x * len(seq))]

    for i, (lg, kd, ints, r) in enumerate(zip(lang.tolist(), kind.tolist(), interests, u, strict=True)):
        v = VOCAB[lg]
        t1 = v.TOPIC_NAMES[TOPICS[ints[0]]]
        t2 = v.TOPIC_NAMES[TOPICS[ints[1] if len(ints) > 1 else (ints[0] + 3) % len(TOPICS)]]
        if kd == OFFICIAL:
            h, name, bio = cfg.brand, cfg.brand, f"Official account of {cfg.brand}, makers of the {cfg.product_en}."
        elif kd == SUPPORT:
            h, name = f"{cfg.brand}Support", f"{cfg.brand} Support"
            bio = f"We're here to help with your {cfg.product_en}, 24/7. 中文服务：私信我们。"
        elif kd == BOT:
            h = pk(("deals_4u", "free_gifts", "promo_king", "fuli_jun", "hongbao_daily"), r[0]) + f"_{i}"
            name = "Best Deals 💰" if lg == 0 else "每日福利君"
            bio = "DM for the best deals" if lg == 0 else "每天都有福利，私信领取"
        elif lg == 0:
            first, last, word = pk(en.FIRST, r[0]), pk(en.LAST, r[1]), pk(en.HANDLE_WORDS, r[2])
            h = (f"{first}_{word}", f"{first}{last}", f"{first}.{last}{int(r[4] * 90) + 10}")[int(r[3] * 3)]
            name = f"{first.title()} {last.title()}"
            bio = pk(en.BIO, r[5]).format(t1=t1, t2=t2)
        else:
            a, b = pk(zh.PINYIN, r[0]), pk(zh.PINYIN, r[1])
            h = (f"{a}{b}_{int(r[4] * 90) + 10}", f"{a}_{b}", f"{a}{b}{int(r[4] * 900) + 100}")[int(r[3] * 3)]
            name = (pk(zh.NICK_ADJ, r[2]) + pk(zh.NICK_NOUN, r[4]) if r[3] < 0.6
                    else pk(zh.FIRST, r[2]) + pk(zh.SURNAME, r[4]))
            bio = pk(zh.BIO, r[5]).format(t1=t1, t2=t2)
        if h in seen:
            h = f"{h}{i}"
        seen.add(h)
        handles.append(h)
        names.append(name)
        bios.append(bio)
    return handles, names, bios


@lru_cache(maxsize=4)
def people(cfg: WorldConfig) -> People:
    rng = stream(cfg, PART_PEOPLE)
    n = cfg.authors
    n_bots = max(3, round(0.005 * n))
    kind = np.full(n, PERSON, dtype=np.int8)
    kind[0], kind[1], kind[n - n_bots :] = OFFICIAL, SUPPORT, BOT
    lang = (rng.random(n) < cfg.zh_share).astype(np.int8)
    lang[:2] = 0
    active = _active_hours(rng, lang)
    active[kind == BOT] = True
    active[0] = (np.arange(24) >= 13) & (np.arange(24) < 23)
    active[1] = True
    activity = rng.lognormal(0.0, 1.0, n)
    activity[kind != PERSON] = 0.0
    popularity = rng.pareto(1.5, n) + 1.0
    popularity[:2] = popularity.max() * 0.5  # well known, not universal
    popularity[kind == BOT] = 0.05

    # Interests: 1-3 topics, drawn without replacement from the language's topic prior (Gumbel top-k).
    prior = np.asarray(TOPIC_PRIOR)[lang]
    order = np.argsort(-(np.log(prior) + rng.gumbel(size=prior.shape)), axis=1)
    count = 1 + rng.binomial(2, 0.45, n)
    order[:2, 0], count[:2] = TECH, 1
    interests = [tuple(row[:c].tolist()) for row, c in zip(order, count, strict=True)]
    w = np.zeros_like(prior)
    for j, share in enumerate((0.6, 0.3, 0.1)):
        has = count > j
        w[np.flatnonzero(has), order[has, j]] = share
    w /= w.sum(1, keepdims=True)
    interest_cdf = np.cumsum(w, axis=1)
    topic_cdf = np.cumsum(0.88 * w + 0.12 * prior, axis=1)
    interest_cdf[:, -1] = topic_cdf[:, -1] = 1.0

    mood = rng.normal(0.0, 0.5, n)
    logits = np.log(SENTIMENT_PRIOR)[None, :] + np.stack([mood, np.zeros(n), -mood], axis=1)
    sent = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    sent_cdf = np.cumsum(sent, axis=1)[:, :2]
    created = -rng.integers(30 * 86_400, 8 * 365 * 86_400, n)

    handles, names, bios = _names(rng, cfg, lang, kind, interests)
    # One row per (person, interest): the topic x language pools that follows and audiences draw from.
    row_person = np.asarray([i for i, ints in enumerate(interests) for _ in ints], dtype=np.int64)
    row_key = np.asarray([t * 2 + lang[i] for i, ints in enumerate(interests) for t in ints], dtype=np.int64)
    n_keys = len(TOPICS) * 2
    followable = np.where(kind[row_person] != BOT, popularity[row_person], 0.0)
    src, dst, when = _follow_edges(cfg, n, lang, kind, popularity, interest_cdf, created,
                                   Pools(row_key, followable, n_keys, row_person))
    audience = Pools(row_key, np.where(kind[row_person] == PERSON, activity[row_person], 0.0), n_keys, row_person)

    weights = np.where(active, activity[:, None], 0.0).T  # (24, n)
    hour_cdf = np.stack([weights, weights * (lang == 0), weights * (lang == 1)])
    empty = hour_cdf.sum(2) == 0  # nobody of that language online then: fall back to activity alone
    fallback = np.stack([activity, activity * (lang == 0), activity * (lang == 1)])
    hour_cdf = np.where(empty[:, :, None], fallback[:, None, :], hour_cdf).cumsum(axis=2)

    reach = np.sqrt(popularity)
    reach /= max(float((reach * activity).sum() / max(activity.sum(), 1e-9)), 1e-9)
    return People(
        n=n, pids=[f"u{i:05d}" for i in range(n)], handles=handles, names=names, bios=bios, kind=kind,
        lang=lang, active=active, wait=_wait_hours(active), activity=activity, popularity=popularity,
        reach=reach, interests=interests, topic_cdf=topic_cdf, sent_cdf=sent_cdf, created=created,
        follow_src=src, follow_dst=dst, follow_created=when, followees=csr(src, dst, n),
        followers=csr(dst, src, n), hour_cdf=hour_cdf, audience=audience,
        bots=np.flatnonzero(kind == BOT), regulars=np.flatnonzero(kind == PERSON),
    )


def _follow_edges(cfg, n, lang, kind, popularity, interest_cdf, created, topical: Pools):
    """Homophily (shared interest, same language) times preferential attachment (popularity)."""
    rng = stream(cfg, PART_FOLLOWS)
    followable = np.flatnonzero(kind != BOT)
    empty = np.zeros(0, dtype=np.int64)
    if cfg.follows_per_author <= 0:
        return empty, empty, empty
    sigma, dup = 0.6, 1.2  # popular accounts get picked twice; ask for ~20% more so ~follows_per_author remain
    k = np.rint(rng.lognormal(np.log(cfg.follows_per_author * dup) - sigma**2 / 2, sigma, n)).astype(np.int64)
    k = np.clip(k, 1, len(followable) - 1)
    k[kind == OFFICIAL] = 0
    k[kind == SUPPORT] = 0
    src = np.repeat(np.arange(n), k)
    e = len(src)
    topic = (rng.random(e)[:, None] > interest_cdf[src]).sum(1)
    same_lang = rng.random(e) < 0.9
    key = topic * 2 + np.where(same_lang, lang[src], 1 - lang[src])
    dst = topical.sample(key, rng.random(e))
    anyone = Pools(np.zeros(n, dtype=np.int64), np.where(kind != BOT, popularity, 0.0), 1)
    famous = anyone.sample(np.zeros(e, dtype=np.int64), rng.random(e))
    dst = np.where((rng.random(e) < 0.25) | (dst < 0), famous, dst)
    keep = dst != src
    pair = np.unique(src[keep] * n + dst[keep])  # sorted by follower, then followee
    src, dst = pair // n, pair % n
    earliest = np.maximum(created[src], created[dst])
    when = (earliest - rng.random(len(src)) * earliest).astype(np.int64)
    return src, dst, when


def authors(cfg: WorldConfig) -> list[Author]:
    pp = people(cfg)
    followers = np.bincount(pp.follow_dst, minlength=pp.n).tolist()
    hours = [np.flatnonzero(row).tolist() for row in pp.active]
    return [
        Author(
            platform=cfg.platform, platform_id=pp.pids[i], handle=pp.handles[i], display_name=pp.names[i],
            followers=followers[i], created_at=cfg.start + timedelta(seconds=int(pp.created[i])),
            bio=pp.bios[i],
            extra={"interests": [TOPICS[t] for t in pp.interests[i]], "active_hours": hours[i],
                   "lang": LANGS[pp.lang[i]]},
        )
        for i in range(pp.n)
    ]


def follows(cfg: WorldConfig) -> list[Follow]:
    pp = people(cfg)
    start: datetime = cfg.start
    return [
        Follow(platform=cfg.platform, follower_id=pp.pids[s], followee_id=pp.pids[d],
               created_at=start + timedelta(seconds=w))
        for s, d, w in zip(pp.follow_src.tolist(), pp.follow_dst.tolist(), pp.follow_created.tolist(), strict=True)
    ]
