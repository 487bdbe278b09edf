"""Mastodon statuses: a status, a list (timelines), notifications (`status`), conversations (`last_status`),
contexts (`ancestors` + `descendants`), and streaming events (handled by the source as their `data`).

`content` is HTML and becomes plain text (links, mentions and hashtags kept as text); a content warning
(`spoiler_text`) is kept in front of the text. A reblog is a wrapper with empty content around the original:
the original is a record, and the wrapper is stored as a repost (`repost_of`) carrying the original's text.
A quote's original (`quote.quoted_status`) is a record too. Status ids are local to the server they were read
from: ingest two servers' exports under two platforms (`--platform mastodon.social`).
"""

from __future__ import annotations

from collections.abc import Iterator

from townsquare.errors import BadInput
from townsquare.ingest.formats.common import first_dict, guarded, not_this_shape, sub
from townsquare.ingest.html_text import html_to_text
from townsquare.ingest.items import Context, Item, Parsed
from townsquare.ingest.validate import as_id, clip, count, iso_time, make_post, metrics
from townsquare.schema import Author

NAME = "mastodon"
PLATFORM = "mastodon"


def is_status(d) -> bool:
    return isinstance(d, dict) and "id" in d and "account" in d and ("content" in d or "text" in d) \
        and "created_at" in d


def _containers(d: dict) -> list | None:
    """Statuses held by a notification, a conversation or a context; None when `d` is none of these."""
    if "ancestors" in d and "descendants" in d:
        return [*(d.get("ancestors") or []), *(d.get("descendants") or [])]
    if "last_status" in d and "accounts" in d:
        return [d["last_status"]] if d.get("last_status") else []
    if "type" in d and "account" in d and ("status" in d or "group_key" in d):  # a notification
        return [d["status"]] if d.get("status") else []
    return None


def looks_like(value) -> bool:
    d = first_dict(value)
    return d is not None and (is_status(d) or _containers(d) is not None)


def parse(value, ctx: Context, loc: str) -> Iterator[Item]:
    if isinstance(value, list):
        for k, v in enumerate(value, 1):
            yield from parse(v, ctx, sub(loc, k))
        return
    if isinstance(value, dict) and not is_status(value):
        inner = _containers(value)
        if inner is not None:
            for k, v in enumerate(inner, 1):
                yield from parse(v, ctx, sub(loc, k) if len(inner) > 1 else loc)
            return
    if not is_status(value):
        yield not_this_shape(loc, value, NAME, "id, created_at, content, account")
        return
    yield from guarded(loc, value, lambda: _status(value, ctx, loc))


def _text(s: dict) -> str:
    text = html_to_text(s["content"]) if s.get("content") else (s.get("text") or "")  # DELETE returns `text`
    cw = (s.get("spoiler_text") or "").strip()
    return f"{cw}\n\n{text}" if cw and text else (cw or text)


def _status(s: dict, ctx: Context, loc: str) -> Iterator[Item]:
    platform = ctx.platform or PLATFORM
    pid = as_id(s.get("id"))
    original = s.get("reblog") if isinstance(s.get("reblog"), dict) else None
    quoted = (s.get("quote") or {}).get("quoted_status") if isinstance(s.get("quote"), dict) else None
    for key, nested in (("reblog", original), ("quote", quoted)):
        if isinstance(nested, dict):
            yield from guarded(f"{loc} {key}", nested, lambda o=nested, h=f"{loc} {key}": _status(o, ctx, h))
    text = _text(original) if original else _text(s)
    account = s.get("account") if isinstance(s.get("account"), dict) else None
    post = make_post(
        platform, pid, text, iso_time(s.get("created_at")), max_chars=ctx.max_chars,
        author_id=(account or {}).get("id"), lang=(original or s).get("language"),
        reply_to=s.get("in_reply_to_id"), quote_of=(quoted or {}).get("id"),
        repost_of=(original or {}).get("id"),
        metrics=metrics(likes=s.get("favourites_count"), reposts=s.get("reblogs_count"),
                        replies=s.get("replies_count"), quotes=s.get("quotes_count")),
    )
    yield Parsed(post, author(account, platform) if account and post.author_id else None, loc)


def author(a: dict, platform: str) -> Author:
    try:
        created = iso_time(a["created_at"]) if a.get("created_at") else None
    except BadInput:
        created = None
    return Author(
        platform=platform, platform_id=str(a["id"]), handle=clip(a.get("acct") or a.get("username"), 256),
        display_name=clip(a.get("display_name"), 512), followers=count(a.get("followers_count")),
        created_at=created, bio=clip(html_to_text(a.get("note")), 10_000),
        extra={k: a[k] for k in ("url", "bot", "locked", "group") if k in a},
    )
