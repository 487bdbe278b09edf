"""Weibo (m.weibo.cn): `container/getIndex` pages `{"ok": 1, "data": {"cards": [{"mblog": {...}}]}}`, single cards,
bare `mblog` objects, or lists of them.

`text` is HTML (emoticons become their `[alt]`, mentions/hashtags stay as text, labelled short links become their
target URL). A repost's original (`retweeted_status`) is a record too and the repost points at it (`repost_of`).
A long post (`isLongText`) keeps the list's truncated text unless the object carries `longText.longTextContent`.

Times: `Sat Nov 28 14:10:08 +0800 2026`, also ISO. The mobile site's relative forms — `刚刚`, `30秒前`, `5分钟前`,
`3小时前`, `今天 12:00`, `昨天 12:00`, `前天 12:00`, `11-28` (this year), `2021-11-28` — are resolved in China
Standard Time against the reference time: the file's modification time (when the page was saved), so that
ingesting the same file again gives the same times; records from the API or a quarantine retry use the time they
arrived. Anything else is quarantined with the accepted forms in the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

from townsquare.errors import BadInput
from townsquare.ingest.formats.common import first_dict, guarded, not_this_shape, sub
from townsquare.ingest.html_text import html_to_text
from townsquare.ingest.items import Context, Item, Parsed
from townsquare.ingest.validate import as_id, clip, count, ctime_with_offset, make_post, metrics, show
from townsquare.schema import Author

NAME = "weibo"
PLATFORM = "weibo"
CST = timezone(timedelta(hours=8))


def _is_mblog(d) -> bool:
    return isinstance(d, dict) and "text" in d and ("mid" in d or "idstr" in d or "bid" in d) and "created_at" in d


def looks_like(value) -> bool:
    d = first_dict(value)
    if d is None:
        return False
    data = d.get("data")
    # Any m.weibo.cn response ({"ok", "data"}); profiles and long-text bodies hold no post and are skipped.
    return "mblog" in d or _is_mblog(d) or ("ok" in d and (isinstance(data, dict) or "cards" in d))


def is_empty_page(value) -> bool:
    """`{"ok": 0, "msg": "这里还没有内容", ...}` and pages without cards: no record, nothing to quarantine."""
    return isinstance(value, dict) and "ok" in value and not _cards(value)


def _cards(value: dict) -> list:
    data = value.get("data") if isinstance(value.get("data"), dict) else value
    return data.get("cards") or []


def parse(value, ctx: Context, loc: str) -> Iterator[Item]:
    if isinstance(value, list):
        for k, v in enumerate(value, 1):
            yield from parse(v, ctx, sub(loc, k))
        return
    if isinstance(value, dict) and not _is_mblog(value) and "mblog" not in value:
        cards = _cards(value)
        mblogs = list(_walk_cards(cards))
        for k, m in enumerate(mblogs, 1):
            here = sub(loc, k) if len(mblogs) > 1 else loc
            yield from guarded(here, m, lambda m=m, h=here: _mblog(m, ctx, h))
        if not mblogs and not is_empty_page(value):
            yield not_this_shape(loc, value, NAME, "data.cards[].mblog")
        return
    mblog = value.get("mblog") if isinstance(value, dict) and "mblog" in value else value
    if not isinstance(mblog, dict):
        yield not_this_shape(loc, value, NAME, "mblog")
        return
    yield from guarded(loc, mblog, lambda: _mblog(mblog, ctx, loc))


def _walk_cards(cards) -> Iterator[dict]:
    for card in cards if isinstance(cards, list) else []:
        if not isinstance(card, dict):
            continue
        if isinstance(card.get("mblog"), dict):
            yield card["mblog"]
        if isinstance(card.get("card_group"), list):  # search pages nest cards in groups
            yield from _walk_cards(card["card_group"])


_REL_AGO = re.compile(r"^(\d+)\s*(秒|分钟|小时|天)前$")
_REL_DAY = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_UNITS = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}


def weibo_time(value, reference: datetime, field: str = "created_at") -> datetime:
    """A Weibo time as aware UTC; relative forms count back from `reference` in China Standard Time."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(field, "missing", "every post needs a created_at time")
    s = value.strip()
    try:
        return ctime_with_offset(s)
    except ValueError:
        pass
    ref = reference.astimezone(CST)
    if s == "刚刚":
        return reference.astimezone(UTC)
    if m := _REL_AGO.match(s):
        return (ref - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})).astimezone(UTC)
    if m := _REL_DAY.match(s):
        back = {"今天": 0, "昨天": 1, "前天": 2}[m.group(1)]
        day = (ref - timedelta(days=back)).date()
        return datetime(day.year, day.month, day.day, int(m.group(2)), int(m.group(3)), tzinfo=CST).astimezone(UTC)
    if m := _MONTH_DAY.match(s):
        year, month, dom, hh, mm, ss = m.groups()
        try:
            t = datetime(int(year or ref.year), int(month), int(dom), int(hh or 0), int(mm or 0), int(ss or 0),
                         tzinfo=CST)
        except ValueError:
            t = None
        if t is not None:
            if year is None and t > ref + timedelta(days=1):  # "12-31" read in January is last year's
                t = t.replace(year=t.year - 1)
            return t.astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(s)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)).astimezone(UTC)
    except ValueError:
        pass
    raise BadInput(field, f"{show(value)} is not a Weibo time",
                   'expected e.g. "Sat Nov 28 14:10:08 +0800 2026", "5分钟前", "昨天 12:00" or "11-28"')


def _mblog(m: dict, ctx: Context, loc: str) -> Iterator[Item]:
    platform = ctx.platform or PLATFORM
    pid = as_id(m.get("id") or m.get("idstr") or m.get("mid"))
    original = m.get("retweeted_status") if isinstance(m.get("retweeted_status"), dict) else None
    if original:
        yield from guarded(f"{loc} retweeted_status", original,
                           lambda: _mblog(original, ctx, f"{loc} retweeted_status"))
    long = m.get("longText")
    html = long.get("longTextContent") if isinstance(long, dict) and long.get("longTextContent") else m.get("text")
    user = m.get("user") if isinstance(m.get("user"), dict) else None
    post = make_post(
        platform, pid, html_to_text(html) if isinstance(html, str) else html,
        weibo_time(m.get("created_at"), ctx.reference_time), max_chars=ctx.max_chars,
        author_id=(user or {}).get("id") or (user or {}).get("idstr"),
        repost_of=(original or {}).get("id") or (original or {}).get("mid"),
        metrics=metrics(likes=m.get("attitudes_count"), reposts=m.get("reposts_count"),
                        replies=m.get("comments_count")),
    )
    yield Parsed(post, _author(user, platform) if user and post.author_id else None, loc)


def _author(u: dict, platform: str) -> Author:
    return Author(
        platform=platform, platform_id=str(u.get("id") or u.get("idstr")), handle=clip(u.get("screen_name"), 256),
        display_name=clip(u.get("screen_name"), 512), followers=count(u.get("followers_count")),
        bio=clip(u.get("description"), 10_000),
        extra={k: u[k] for k in ("verified", "verified_reason", "gender") if k in u},
    )
