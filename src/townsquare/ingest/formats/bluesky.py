"""Bluesky AppView responses (`app.bsky.feed.*`): `{"feed": [{"post", "reply", "reason"}]}` (timelines, author and
list feeds), `{"posts": [...]}` (getPosts, searchPosts), `{"thread": ...}` (getPostThread, nested parents/replies),
or bare postViews.

Post id = the AT-URI, author id = the DID. Text is `record.text` (plain). `record.createdAt` (client time) falls
back to `indexedAt`. Replies point at `record.reply.parent.uri`; quote embeds give `quote_of`. Posts shown as
reply context (`reply.parent` / `reply.root`) are records too; `notFoundPost` / `blockedPost` stubs are not.
A repost feed item (`reason: reasonRepost`) stores the original post.
"""

from __future__ import annotations

from collections.abc import Iterator

from townsquare.errors import BadInput
from townsquare.ingest.formats.common import first_dict, guarded, not_this_shape, sub
from townsquare.ingest.items import Context, Item, Parsed
from townsquare.ingest.validate import as_id, clip, iso_time, make_post, metrics
from townsquare.schema import Author

NAME = "bluesky"
PLATFORM = "bluesky"


def _is_post_view(d) -> bool:
    return isinstance(d, dict) and str(d.get("uri", "")).startswith("at://") and isinstance(d.get("record"), dict)


def looks_like(value) -> bool:
    d = first_dict(value)
    if d is None:
        return False
    if _is_post_view(d):
        return True
    for key in ("feed", "posts"):
        item = first_dict(d.get(key))
        if item is not None and (_is_post_view(item) or _is_post_view(item.get("post"))):
            return True
    return isinstance(d.get("thread"), dict) and _is_post_view(d["thread"].get("post"))


def parse(value, ctx: Context, loc: str) -> Iterator[Item]:
    views = list(_post_views(value))
    if not views and not (isinstance(value, dict) and ({"feed", "posts", "thread"} & value.keys())):
        yield not_this_shape(loc, value, NAME, "feed / posts / thread of postViews")
        return
    for k, view in enumerate(views, 1):
        here = sub(loc, k) if len(views) > 1 else loc
        yield from guarded(here, view, lambda v=view, h=here: _post(v, ctx, h))


def _post_views(value) -> Iterator[dict]:
    if isinstance(value, list):
        for v in value:
            yield from _post_views(v)
    elif isinstance(value, dict):
        if _is_post_view(value):
            yield value
        elif "post" in value and isinstance(value["post"], dict):  # a feed item or a threadViewPost
            reply = value.get("reply") if isinstance(value.get("reply"), dict) else {}
            for key in ("root", "parent"):
                if _is_post_view(reply.get(key)):
                    yield reply[key]
            if isinstance(value.get("parent"), dict):
                yield from _post_views(value["parent"])
            yield from _post_views(value["post"])
            yield from _post_views(value.get("replies") or [])
        else:
            for key in ("feed", "posts", "thread"):
                if key in value:
                    yield from _post_views(value[key])


def _quote_uri(embed) -> str | None:
    if not isinstance(embed, dict):
        return None
    record = embed.get("record")
    if isinstance(record, dict) and isinstance(record.get("record"), dict):  # recordWithMedia
        record = record["record"]
    uri = record.get("uri") if isinstance(record, dict) else None
    return uri if isinstance(uri, str) and uri.startswith("at://") else None


def _post(v: dict, ctx: Context, loc: str) -> Iterator[Item]:
    platform = ctx.platform or PLATFORM
    pid = as_id(v.get("uri"))
    rec = v["record"]
    try:
        created = iso_time(rec.get("createdAt"))
    except BadInput:
        if not v.get("indexedAt"):
            raise
        created = iso_time(v["indexedAt"])  # server time when the client's own time is unusable
    langs = rec.get("langs") or v.get("langs") or []
    parent = ((rec.get("reply") or {}).get("parent") or {}).get("uri") if isinstance(rec.get("reply"), dict) else None
    a = v.get("author") if isinstance(v.get("author"), dict) else {}
    post = make_post(
        platform, pid, rec.get("text"), created, max_chars=ctx.max_chars, author_id=a.get("did"),
        lang=langs[0] if isinstance(langs, list) and langs else None, reply_to=parent,
        quote_of=_quote_uri(rec.get("embed")),
        metrics=metrics(likes=v.get("likeCount"), reposts=v.get("repostCount"), replies=v.get("replyCount"),
                        quotes=v.get("quoteCount")),
    )
    author = Author(platform, post.author_id, handle=clip(a.get("handle"), 256),
                    display_name=clip(a.get("displayName"), 512)) if post.author_id else None
    yield Parsed(post, author, loc)
