"""Reddit comments (`t1`) and submissions (`t3`): API things `{"kind", "data"}`, Listings (nested `replies`
included), thread pages `[submission Listing, comment Listing]`, `/api/morechildren` responses, and
Pushshift-style dumps with one bare comment/submission object per line.

Ids are fullnames (`t1_abc`, `t3_xyz`) so that `parent_id` is directly the `reply_to`. Text: a comment's `body`;
a submission's `title`, then `selftext`, then the link `url` for link posts. `created_utc` is Unix seconds.
`[deleted]` authors are stored without an author; `more` stubs are not records. `&amp;`, `&lt;`, `&gt;` are
decoded (responses fetched without `raw_json=1` and Pushshift dumps escape them).
"""

from __future__ import annotations

from collections.abc import Iterator

from townsquare.ingest.formats.common import first_dict, guarded, not_this_shape, sub
from townsquare.ingest.items import Context, Item, Parsed
from townsquare.ingest.validate import as_id, epoch_time, make_post, metrics, unescape_entities

NAME = "reddit"
PLATFORM = "reddit"
_THINGS = ("t1", "t3")
_NO_AUTHOR = ("[deleted]", "[removed]", "", None)


def _is_dump(d: dict) -> bool:
    return "created_utc" in d and ("body" in d or "title" in d) and ("subreddit" in d or "link_id" in d)


def looks_like(value) -> bool:
    d = first_dict(value)
    if d is None:
        return False
    if d.get("kind") in ("Listing", "more", *_THINGS) and isinstance(d.get("data"), dict):
        return True
    return isinstance((d.get("json") or {}).get("data"), dict) if isinstance(d.get("json"), dict) else _is_dump(d)


def parse(value, ctx: Context, loc: str) -> Iterator[Item]:
    things = list(_things(value))
    if not things and not _is_container(value):
        yield not_this_shape(loc, value, NAME, "kind + data (t1/t3/Listing) or a Pushshift comment/submission")
        return
    for k, (kind, data) in enumerate(things, 1):
        here = sub(loc, k) if len(things) > 1 else loc
        raw = {"kind": kind, "data": {**data, "replies": ""}} if kind else data  # replies are records of their own
        yield from guarded(here, raw, lambda d=data, kd=kind, h=here: _thing(kd, d, ctx, h))


def _is_container(value) -> bool:
    """A Listing, a list or a morechildren response with no post in it (or only `more` stubs)."""
    if isinstance(value, list):
        return True
    return isinstance(value, dict) and (value.get("kind") in ("Listing", "more") or "json" in value)


def _things(value) -> Iterator[tuple[str | None, dict]]:
    """Every comment/submission inside `value`, depth first, as (kind or None for dump objects, data)."""
    if isinstance(value, list):
        for v in value:
            yield from _things(v)
        return
    if not isinstance(value, dict):
        return
    kind, data = value.get("kind"), value.get("data")
    if kind in _THINGS and isinstance(data, dict):
        yield kind, data
        if isinstance(data.get("replies"), dict):  # "" when there are none
            yield from _things(data["replies"])
    elif kind == "Listing" and isinstance(data, dict):
        yield from _things(data.get("children") or [])
    elif isinstance(value.get("json"), dict):
        yield from _things(((value["json"].get("data") or {}).get("things")) or [])
    elif kind is None and _is_dump(value):
        yield None, value


def _thing(kind: str | None, d: dict, ctx: Context, loc: str) -> Iterator[Item]:
    platform = ctx.platform or PLATFORM
    is_comment = kind == "t1" or (kind is None and "body" in d)
    prefix = "t1_" if is_comment else "t3_"
    name = d.get("name") or (prefix + d["id"] if isinstance(d.get("id"), str) and d["id"] else None)
    pid = as_id(name)
    if is_comment:
        text = d.get("body")
    else:
        parts = [d.get("title"), d.get("selftext")]
        if not d.get("is_self", True) and d.get("url"):
            parts.append(d["url"])
        text = "\n\n".join(p for p in parts if isinstance(p, str) and p.strip()) or None
    author = d.get("author") if d.get("author") not in _NO_AUTHOR else None
    crosspost = d.get("crosspost_parent")
    post = make_post(
        platform, pid, unescape_entities(text) if isinstance(text, str) else text, epoch_time(d.get("created_utc")),
        max_chars=ctx.max_chars, author_id=author, reply_to=d.get("parent_id") if is_comment else None,
        repost_of=crosspost if isinstance(crosspost, str) else None,
        metrics=metrics(score=d.get("score"), replies=d.get("num_comments")),
    )
    # Authors are known by name only: stored by key (handle = name) so richer profiles are never overwritten.
    yield Parsed(post, None, loc)
