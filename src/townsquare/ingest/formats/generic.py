"""Generic records (JSONL lines, CSV rows, Parquet rows, API batches): one flat object per post.

Fields (our name = default column name): `id`, `text`, `author`, `created_at` (ISO 8601; naive times are UTC;
numbers are Unix seconds), optional `lang`, `platform`, `reply_to`, `quote_of`, `repost_of`, and the metrics
`likes`, `reposts`, `replies`, `quotes`, `views`. Other column names come in through a mapping
(`--map text=content --map id=tweet_id`). The platform is `--platform`, else a `platform` column, else "generic".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from townsquare.errors import BadInput
from townsquare.ingest.formats.common import raw_json, sub
from townsquare.ingest.items import Context, Item, Parsed, Rejected
from townsquare.ingest.validate import (
    ID_MAX,
    LANG_MAX,
    PLATFORM_MAX,
    as_id,
    iso_time,
    make_post,
    metrics,
    opt_str,
)
from townsquare.schema import Post

NAME = "generic"
PLATFORM = "generic"
FIELDS = ("id", "text", "author", "created_at", "lang", "platform", "reply_to", "quote_of", "repost_of")
METRICS = ("likes", "reposts", "replies", "quotes", "views")
ALL_FIELDS = FIELDS + METRICS


def check_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    """Validate a FIELD -> COLUMN mapping; unknown fields get a message listing the known ones."""
    mapping = dict(mapping or {})
    for field, column in mapping.items():
        if field not in ALL_FIELDS:
            raise BadInput("--map", f'"{field}" is not a field', f"use one of {', '.join(ALL_FIELDS)} (FIELD=COLUMN)")
        if not column:
            raise BadInput("--map", f'"{field}=" names no column', "write FIELD=COLUMN, e.g. --map text=content")
    return mapping


REQUIRED = ("id", "text", "created_at")


def check_columns(columns: list[str], mapping: dict[str, str] | None, name: str) -> None:
    """A CSV header or Parquet schema must hold every required field: one clear error instead of a quarantined
    row per line when a column is named differently."""
    for field in REQUIRED:
        column = (mapping or {}).get(field, field)
        if column not in columns:
            have = ", ".join(columns[:12]) + (" …" if len(columns) > 12 else "")
            raise BadInput(name, f'has no column "{column}" for {field} (columns: {have})',
                           f"name it with --map {field}=COLUMN")


def looks_like(value) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and bool(value) and isinstance(value[0], dict))


def parse(value, ctx: Context, loc: str, raw: bytes | None = None) -> Iterator[Item]:
    if isinstance(value, dict):
        yield record(value, ctx, loc, raw)
    elif isinstance(value, list):  # a JSON document holding an array of records
        for k, rec in enumerate(value, 1):
            if isinstance(rec, dict):
                yield record(rec, ctx, sub(loc, k))
            else:
                yield _not_object(rec, sub(loc, k))
    else:
        yield _not_object(value, loc)


def _not_object(value, loc: str) -> Rejected:
    return Rejected(loc, raw_json(value), f"record: expected a JSON object with id, text, author, created_at; "
                                          f"got {type(value).__name__} — send one object per post")


def _blank(v) -> bool:
    return v is None or v == "" or (isinstance(v, float) and v != v)  # NaN: a missing Parquet/pandas value


def record(rec: dict, ctx: Context, loc: str, raw: bytes | None = None) -> Item:
    """One generic record -> Parsed, or Rejected with the field (and the file's column when mapped) at fault."""
    if ctx.mapping is None:
        post = _fast_post(rec, ctx)
        if post is not None:
            return Parsed(post, None, loc)
    return _checked(rec, ctx, loc, raw)


_METRIC_KEYS = frozenset(METRICS)
_OPTIONAL = ("author", "lang", "reply_to", "quote_of", "repost_of")
_OPTIONAL_MAX = {"author": ID_MAX, "lang": LANG_MAX, "reply_to": ID_MAX, "quote_of": ID_MAX, "repost_of": ID_MAX}


def _fast_post(rec: dict, ctx: Context) -> Post | None:
    """The common, clean record in a few C-level checks (the benchmark's hot path). Anything unusual returns None
    and goes through `_checked`, which builds the same Post or names the problem."""
    pid, text, ts = rec.get("id"), rec.get("text"), rec.get("created_at")
    if type(pid) is not str or type(text) is not str or type(ts) is not str:
        return None
    if not 0 < len(pid) <= ID_MAX or pid != pid.strip() or "\x00" in pid:
        return None
    if len(text) > ctx.max_chars or not text or text.isspace() or "\x00" in text:
        return None
    found = {}
    if not _METRIC_KEYS.isdisjoint(rec):
        for key in METRICS:
            v = rec.get(key)
            if v is not None:
                if type(v) is not int:
                    return None
                found[key] = v
    try:
        created = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    elif created.utcoffset():
        created = created.astimezone(UTC)
    if created > ctx.latest:  # `_checked` names the problem
        return None
    platform = ctx.platform
    if platform is None:
        platform = rec.get("platform")
        if platform is None or platform == "":
            platform = "generic"
        elif type(platform) is not str or not len(platform) <= PLATFORM_MAX or platform != platform.strip():
            return None
    values = []
    for key in _OPTIONAL:
        v = rec.get(key)
        if v == "":
            v = None
        elif v is not None and (type(v) is not str or len(v) > _OPTIONAL_MAX[key] or v != v.strip() or not v
                                or "\x00" in v):
            return None
        values.append(v)
    author, lang, reply_to, quote_of, repost_of = values
    return Post(platform, pid, text, created, author, lang, reply_to, quote_of, repost_of, found)


def _checked(rec: dict, ctx: Context, loc: str, raw: bytes | None) -> Item:
    m = ctx.mapping
    get = rec.get
    if m:
        def get(field, _get=rec.get, _m=m):  # noqa: E731 - our field name -> the file's column
            return _get(_m.get(field, field))
    try:
        platform = ctx.platform
        if platform is None:
            platform = get("platform")
            platform = "generic" if _blank(platform) else opt_str(platform, "platform", PLATFORM_MAX)
        pid = as_id(get("id"))  # the id first: the most useful reason when several fields are wrong
        created = get("created_at")
        created = iso_time(None if _blank(created) else created)
        lang, reply_to, quote_of, repost_of = (None if _blank(v) else v for v in (
            get("lang"), get("reply_to"), get("quote_of"), get("repost_of")))
        found = {k: get(k) for k in METRICS}
        post = make_post(
            platform, pid, get("text"), created, max_chars=ctx.max_chars,
            author_id=None if _blank(get("author")) else get("author"), lang=lang, reply_to=reply_to,
            quote_of=quote_of, repost_of=repost_of,
            metrics=metrics(**{k: v for k, v in found.items() if not _blank(v)}),
        )
    except BadInput as exc:
        reason = str(exc)
        if m and exc.field in m and m[exc.field] != exc.field:
            reason = f'{exc.field} (column "{m[exc.field]}"): ' + reason.split(": ", 1)[1]
        if raw is None or m:
            # Stored with our field names so a retry needs no mapping; every original value is kept.
            renamed = {v: k for k, v in m.items()} if m else {}
            raw = raw_json({renamed.get(k, k): v for k, v in rec.items()})
        return Rejected(loc, raw, reason)
    return Parsed(post, None, loc)
