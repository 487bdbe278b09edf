"""X/Twitter API v1.1 (classic) statuses: a status, an array of statuses, or search `{"statuses": [...]}`.

The full text is `full_text` (extended mode) or `extended_tweet.full_text` (streaming), else `text`. A retweet's
original (`retweeted_status`) and a quote's original (`quoted_status`) are records too. Ids come from `id_str`
(numeric `id` exceeds 2^53). Times look like `Sun Mar 26 19:17:08 +0000 2006`. Stored under platform "x",
the same id space as v2.
"""

from __future__ import annotations

from collections.abc import Iterator

from townsquare.errors import BadInput
from townsquare.ingest.formats.common import first_dict, guarded, not_this_shape, sub
from townsquare.ingest.items import Context, Item, Parsed
from townsquare.ingest.validate import (
    as_id,
    clip,
    count,
    ctime_with_offset,
    make_post,
    metrics,
    show,
    unescape_entities,
)
from townsquare.schema import Author

NAME = "x-v1"
PLATFORM = "x"


def _is_status(d) -> bool:
    return isinstance(d, dict) and "id_str" in d and ("text" in d or "full_text" in d) and "user" in d


def looks_like(value) -> bool:
    d = first_dict(value)
    return d is not None and (_is_status(d) or _is_status(first_dict(d.get("statuses"))))


def parse(value, ctx: Context, loc: str) -> Iterator[Item]:
    if isinstance(value, dict) and isinstance(value.get("statuses"), list):
        value = value["statuses"]
    if isinstance(value, list):
        for k, v in enumerate(value, 1):
            yield from parse(v, ctx, sub(loc, k))
        return
    if not isinstance(value, dict) or not ("text" in value or "full_text" in value or "id_str" in value):
        yield not_this_shape(loc, value, NAME, "id_str, text/full_text, user")
        return
    yield from guarded(loc, value, lambda: _status(value, ctx, loc))


def time_v1(value, field: str = "created_at"):
    try:
        return ctime_with_offset(value)
    except ValueError:
        if not value:
            raise BadInput(field, "missing", "every post needs a created_at time") from None
        raise BadInput(field, f"{show(value)} is not an X v1.1 time", 'expected e.g. "Sun Mar 26 19:17:08 +0000 2006"'
                       ) from None


def _status(s: dict, ctx: Context, loc: str) -> Iterator[Item]:
    platform = ctx.platform or PLATFORM
    pid = as_id(s.get("id_str") or s.get("id"))
    for key in ("retweeted_status", "quoted_status"):  # the originals come first so a reader of the store finds them
        if isinstance(s.get(key), dict):
            yield from guarded(f"{loc} {key}", s[key], lambda o=s[key], h=f"{loc} {key}": _status(o, ctx, h))
    ext = s.get("extended_tweet")
    text = s.get("full_text") or (ext.get("full_text") if isinstance(ext, dict) else None) or s.get("text")
    rt = s.get("retweeted_status")
    user = s.get("user") if isinstance(s.get("user"), dict) else None
    post = make_post(
        platform, pid, unescape_entities(text) if isinstance(text, str) else text, time_v1(s.get("created_at")),
        max_chars=ctx.max_chars, author_id=(user or {}).get("id_str") or (user or {}).get("id"),
        lang=s.get("lang"), reply_to=s.get("in_reply_to_status_id_str"),
        quote_of=s.get("quoted_status_id_str"),
        repost_of=(rt.get("id_str") if isinstance(rt, dict) else None),
        metrics=metrics(likes=s.get("favorite_count"), reposts=s.get("retweet_count"),
                        replies=s.get("reply_count"), quotes=s.get("quote_count")),
    )
    yield Parsed(post, _author(user, platform) if user and post.author_id else None, loc)


def _author(u: dict, platform: str) -> Author:
    try:
        created = ctime_with_offset(u["created_at"]) if u.get("created_at") else None
    except ValueError:
        created = None
    return Author(
        platform=platform, platform_id=str(u.get("id_str") or u.get("id")), handle=clip(u.get("screen_name"), 256),
        display_name=clip(u.get("name"), 512), followers=count(u.get("followers_count")), created_at=created,
        bio=clip(u.get("description"), 10_000),
        extra={k: u[k] for k in ("verified", "location", "protected") if k in u},
    )
