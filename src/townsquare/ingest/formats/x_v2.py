"""X/Twitter API v2: response pages `{"data": [...], "includes": {"users", "tweets", ...}}` (twarc2 JSONL, one page
per line; a single API response document; filtered-stream messages whose `data` is one tweet).

Tweets in `data` and in `includes.tweets` (the originals of retweets/quotes/replies, whose full text lives only
there) are records. `referenced_tweets` gives reply_to / quote_of / repost_of; `note_tweet.text` is the full text
of long posts. A tweet's `author_id` must resolve in `includes.users` (or among already stored authors), else the
tweet is quarantined: `author_id: 123 not found in includes.users`. Pages holding only `errors` are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from townsquare.errors import BadInput
from townsquare.ingest.formats.common import first_dict, guarded, not_this_shape, raw_json, sub
from townsquare.ingest.items import Context, Item, Parsed
from townsquare.ingest.validate import as_id, clip, count, iso_time, make_post, metrics, unescape_entities
from townsquare.schema import Author

NAME = "x-v2"
PLATFORM = "x"


def _is_tweet(d) -> bool:
    return isinstance(d, dict) and "id" in d and "text" in d and (
        "author_id" in d or "edit_history_tweet_ids" in d or "public_metrics" in d or "conversation_id" in d)


def looks_like(value) -> bool:
    d = first_dict(value)
    if d is None:
        return False
    if "includes" in d or "matching_rules" in d:
        return True
    data = d.get("data")
    return _is_tweet(first_dict(data)) or _is_tweet(d)


def is_empty_page(value) -> bool:
    """An error-only page (`{"errors": [...]}`) or an empty search page: no record, nothing to quarantine."""
    return isinstance(value, dict) and not value.get("data") and not (value.get("includes") or {}).get("tweets") \
        and ("errors" in value or "meta" in value or "title" in value)


def parse(value, ctx: Context, loc: str) -> Iterator[Item]:
    if isinstance(value, list):
        pages = [v for v in value if isinstance(v, dict)]
        if pages and all(_is_tweet(v) for v in pages):  # a bare list of tweets
            value = {"data": pages}
        else:
            for k, v in enumerate(value, 1):
                yield from parse(v, ctx, sub(loc, k))
            return
    if not isinstance(value, dict):
        yield not_this_shape(loc, value, NAME, '"data" and "includes"')
        return
    if _is_tweet(value):
        value = {"data": [value]}
    data = value.get("data")
    tweets = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    includes = value.get("includes") or {}
    users = {u.get("id"): u for u in includes.get("users") or [] if isinstance(u, dict)}
    platform = ctx.platform or PLATFORM
    records = [*tweets, *(includes.get("tweets") or [])]
    for k, tweet in enumerate(records, 1):
        here = sub(loc, k) if len(records) > 1 else loc
        yield from guarded(here, _mini_page(tweet, users), lambda t=tweet, h=here: _tweet(t, users, platform, ctx, h))
    if not records and not is_empty_page(value):
        yield not_this_shape(loc, value, NAME, '"data" holding tweets')


def _mini_page(tweet, users: dict) -> dict:
    """What the quarantine keeps for one tweet: the tweet and its author, so a retry can stand alone."""
    author = users.get(tweet.get("author_id")) if isinstance(tweet, dict) else None
    return {"data": [tweet], "includes": {"users": [author] if author else []}}


def _tweet(t, users: dict, platform: str, ctx: Context, loc: str) -> Iterator[Item]:
    if not isinstance(t, dict):
        raise BadInput("data", f"a {type(t).__name__} is not a tweet object", "each tweet must be a JSON object")
    pid = as_id(t.get("id"))
    refs = {r.get("type"): r.get("id") for r in t.get("referenced_tweets") or [] if isinstance(r, dict)}
    note = t.get("note_tweet")
    text = note.get("text") if isinstance(note, dict) and note.get("text") else t.get("text")
    pm = t.get("public_metrics") or {}
    post = make_post(
        platform, pid, unescape_entities(text) if isinstance(text, str) else text, iso_time(t.get("created_at")),
        max_chars=ctx.max_chars, author_id=t.get("author_id"), lang=t.get("lang"),
        reply_to=refs.get("replied_to"), quote_of=refs.get("quoted"), repost_of=refs.get("retweeted"),
        metrics=metrics(likes=pm.get("like_count"), reposts=pm.get("retweet_count"), replies=pm.get("reply_count"),
                        quotes=pm.get("quote_count"), views=pm.get("impression_count")),
    )
    if post.author_id is None:
        yield Parsed(post, None, loc)
        return
    user = users.get(post.author_id)
    if user is None:
        # Resolved later against stored authors; quarantined with this page fragment if still unknown.
        yield Parsed(post, None, loc, unresolved=True, raw=raw_json(_mini_page(t, users)))
        return
    yield Parsed(post, _author(user, platform), loc)


def _author(u: dict, platform: str) -> Author:
    pm = u.get("public_metrics") or {}
    try:
        created = iso_time(u["created_at"]) if u.get("created_at") else None
    except BadInput:
        created = None  # a profile detail; the post does not depend on it
    return Author(
        platform=platform, platform_id=str(u["id"]), handle=clip(u.get("username"), 256),
        display_name=clip(u.get("name"), 512), followers=count(pm.get("followers_count")), created_at=created,
        bio=clip(u.get("description"), 10_000),
        extra={k: u[k] for k in ("verified", "verified_type", "location", "protected") if k in u},
    )
