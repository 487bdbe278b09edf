"""Per-watch aggregates in 1, 5 and 60 minute buckets: volume, sentiment mix, reach, and counts per term,
hashtag and author for the top-N lists.

Counts are added with `INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`, in the same transaction that
records the matches; so concurrent consumers never lose an increment, and a post counted once is never counted
again (its match row already exists).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from townsquare.listen.watches import GRANULARITIES
from townsquare.store import Store
from townsquare.store.tables import WatchBucketKeyRow, WatchBucketRow
from townsquare.text.segment import segment

_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})")
_EN_WORD = re.compile(r"[a-z][a-z'\-]{2,30}")
_URL = re.compile(r"https?://\S+|www\.\S+|@\w+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
STOP_EN = frozenset("""the and for are but not you your with this that have has had was were will from they them their
there what when where which who why how all any can could would should about into out just than then too very our ours
its it's i'm im me my mine we us he she his her him hers been being do does did done get got one two also more most
some such only own same other off over under again once here because while until after before again further each few
both nor now rt amp via lol yes yeah really still even much many make made like know want need going today day time
new good great
can't don't won't isn't aren't wasn't weren't doesn't didn't haven't hasn't hadn't couldn't wouldn't shouldn't
i've i'll i'd you're you've you'll you'd we're we've we'll they're they've they'll that's there's what's let's
here's who's he's she's ain't""".split())  # contractions: "can't" labelled a whole audience segment
STOP_ZH = frozenset("的 了 是 在 我 有 和 就 不 人 都 一 一个 上 也 很 到 说 要 去 你 会 着 没有 看 好 自己 这 那 他 她 它 们 吗 吧 啊 呢 "
                    "还 又 被 把 让 给 对 从 与 及 而 但 或 如果 因为 所以 这个 那个 什么 怎么 就是 还是 我们 你们 他们 "
                    "今天 真的 已经 可以 没 很多 "
                    # function words that labelled whole audience segments ("这部, 大家, 一下, 说实话")
                    "大家 一下 一些 一点 有点 有些 这些 那些 这样 那样 这么 那么 这部 这件 这款 这家 这次 这种 这里 那里 我家 觉得 感觉 "
                    "其实 说实话 真是 非常 特别 比较 然后 终于 一直 一起 一定 应该 需要 现在 以后 之前 时候 "
                    "东西 事情 为什么 哈哈 哈哈哈 呀 哦 嗯 嘛 啦 呗 吗 哇 太 最 更 再 才 只 能 想 做 来 用 多 有人 有没有".split())


_SENTIMENT_SLOT = {"negative": 1, "neutral": 2, "positive": 3}  # bucket list: volume, neg, neu, pos, reach


@dataclass(slots=True)
class Counted:
    """One newly matched post, as the aggregates need it."""

    watch_id: int
    created_at: datetime
    sentiment: str | None
    text: str
    lang: str | None
    author: str  # handle (or id)
    followers: int


def bucket_start(ts: datetime, minutes: int) -> datetime:
    epoch_min = int(ts.timestamp() // 60) if ts.tzinfo else int((ts - datetime(1970, 1, 1)).total_seconds() // 60)
    return datetime(1970, 1, 1) + timedelta(minutes=epoch_min - epoch_min % minutes)


def terms(text: str, lang: str | None) -> list[str]:
    """Content words of a post, for the top-terms list (jieba segments Chinese)."""
    text = _URL.sub(" ", _HASHTAG.sub(" ", text))
    if lang == "zh" or _HAN.search(text):
        out = [w.strip().lower() for w in segment(text)]
        return [w for w in out if len(w) >= 2 and w not in STOP_ZH and (_HAN.search(w) or w.isalpha())
                and w not in STOP_EN][:50]
    words = (w.removesuffix("'s").strip("'-") for w in _EN_WORD.findall(text.lower()) if w not in STOP_EN)
    return [w for w in words if len(w) >= 3 and w not in STOP_EN][:50]  # "band's" counts as "band"


def hashtags(text: str) -> list[str]:
    return [h.lower() for h in _HASHTAG.findall(text)][:20]


def add_counts(conn, store: Store, counted: list[Counted]) -> None:
    """Add the posts to their buckets at every granularity (inside the caller's transaction)."""
    if not counted:
        return
    buckets: dict[tuple, list[int]] = {}
    keys: dict[tuple, list[int]] = {}
    for c in counted:
        words = set(terms(c.text, c.lang))
        tags = set(hashtags(c.text))
        for minutes in GRANULARITIES:
            start = bucket_start(c.created_at, minutes)
            b = buckets.setdefault((c.watch_id, minutes, start), [0, 0, 0, 0, 0])
            b[0] += 1
            b[_SENTIMENT_SLOT.get(c.sentiment, 2)] += 1  # no sentiment (an error record) counts as neutral
            b[4] += c.followers
            for kind, values, value in (("term", words, 0), ("hashtag", tags, 0),
                                        ("author", [c.author] if c.author else [], c.followers)):
                for v in values:
                    k = keys.setdefault((c.watch_id, minutes, start, kind, v[:128]), [0, 0])
                    k[0] += 1
                    k[1] = max(k[1], value)
    table = WatchBucketRow.__table__
    stmt = store.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["watch_id", "minutes", "start"],
        set_={n: table.c[n] + stmt.excluded[n] for n in ("volume", "negative", "neutral", "positive", "reach")})
    # Sorted keys: two consumers updating the same rows lock them in the same order (no deadlock on PostgreSQL).
    conn.execute(stmt, [dict(watch_id=w, minutes=m, start=s, volume=v[0], negative=v[1], neutral=v[2],
                             positive=v[3], reach=v[4]) for (w, m, s), v in sorted(buckets.items())])
    ktable = WatchBucketKeyRow.__table__
    kstmt = store.insert(ktable)
    kstmt = kstmt.on_conflict_do_update(
        index_elements=["watch_id", "minutes", "start", "kind", "key"],
        set_={"count": ktable.c["count"] + kstmt.excluded["count"],
              "value": func.max(ktable.c.value, kstmt.excluded.value) if store.engine.dialect.name == "sqlite"
              else func.greatest(ktable.c.value, kstmt.excluded.value)})
    conn.execute(kstmt, [dict(watch_id=w, minutes=m, start=s, kind=k, key=key, count=v[0], value=v[1])
                         for (w, m, s, k, key), v in sorted(keys.items())])


def series(store: Store, watch_id: int, minutes: int, since: datetime | None = None,
           until: datetime | None = None, fill: bool = True) -> list[dict]:
    """The watch's buckets in time order; with `fill`, empty buckets in between are zeros."""
    t = WatchBucketRow.__table__.c
    cond = [t.watch_id == watch_id, t.minutes == minutes]
    if since is not None:
        cond.append(t.start >= since)
    if until is not None:
        cond.append(t.start < until)
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.start, t.volume, t.negative, t.neutral, t.positive, t.reach)
                            .where(and_(*cond)).order_by(t.start)).all()
    out: list[dict] = []
    step = timedelta(minutes=minutes)
    for r in rows:
        if fill and out:
            at = out[-1]["start"] + step
            while at < r.start and len(out) < 200_000:
                out.append({"start": at, "volume": 0, "negative": 0, "neutral": 0, "positive": 0, "reach": 0})
                at += step
        out.append({"start": r.start, "volume": r.volume, "negative": r.negative, "neutral": r.neutral,
                    "positive": r.positive, "reach": r.reach})
    return out


def top_keys(store: Store, watch_id: int, minutes: int, since: datetime, until: datetime,
             n: int = 10) -> dict[str, list[dict]]:
    """Top terms, hashtags and authors (by reach) over [since, until)."""
    k = WatchBucketKeyRow.__table__.c
    out: dict[str, list[dict]] = {}
    with store.engine.connect() as conn:
        for kind in ("term", "hashtag", "author"):
            total, reach = func.sum(k["count"]).label("n"), func.max(k.value).label("reach")
            order = [reach.desc(), total.desc()] if kind == "author" else [total.desc(), k.key]
            rows = conn.execute(select(k.key, total, reach)
                                .where(k.watch_id == watch_id, k.minutes == minutes, k.kind == kind,
                                       k.start >= since, k.start < until)
                                .group_by(k.key).order_by(*order).limit(n)).all()
            out[kind + "s"] = [{"key": r.key, "count": int(r.n), **({"reach": int(r.reach)} if kind == "author"
                                                                    else {})} for r in rows]
    return out


def mix(counts: Counter) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {k: round(v / total, 3) for k, v in counts.most_common()}
