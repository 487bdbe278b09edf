"""Validation shared by every reader: ids as strings, times as aware UTC, text within the configured limit.

Each check raises `BadInput(field, problem, fix)`; readers turn that into a quarantined record whose reason is
the one-line message, e.g. `created_at: "yesterday" is not an ISO 8601 time — use e.g. 2026-11-28T14:10:08Z`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from townsquare.errors import BadInput
from townsquare.schema import Post

ID_MAX = 128  # posts.platform_id / reply_to columns
LANG_MAX = 16
PLATFORM_MAX = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Clocks drift and offsets get mislabelled by hours, but a post more than a day ahead is a wrong time, and storing
# it would move every feed's clock (the store's newest post) into the future.
FUTURE_SLACK = timedelta(days=1)


def latest_time() -> datetime:
    """The latest created_at accepted now."""
    return datetime.now(UTC) + FUTURE_SLACK


def not_in_future(ts: datetime, field: str = "created_at") -> datetime:
    if ts > latest_time():
        raise BadInput(field, f"{ts.strftime('%Y-%m-%dT%H:%M:%SZ')} is more than a day in the future",
                       "fix the post's time (UTC or with its offset, e.g. 2026-11-28T14:10:08Z)")
    return ts


def show(value, limit: int = 40) -> str:
    """A value as the user wrote it, cut short for a one-line message."""
    s = value if isinstance(value, str) else repr(value)
    s = s.replace("\n", " ")
    return '"' + (s if len(s) <= limit else s[: limit - 1] + "…") + '"'


def as_id(value, field: str = "id", *, required: bool = True) -> str | None:
    """Ids are strings: numbers become their decimal text (X/Weibo ids exceed 2^53, so floats are refused)."""
    if value is None or value == "":
        if required:
            raise BadInput(field, "missing", f"every post needs a non-empty {field}")
        return None
    if isinstance(value, str):
        s = value.strip()
        if not s:
            if required:
                raise BadInput(field, "missing", f"every post needs a non-empty {field}")
            return None
    elif isinstance(value, int) and not isinstance(value, bool):
        s = str(value)
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        s = str(int(value))
    else:
        raise BadInput(field, f"{show(value)} is not an id", "use a string or an integer")
    if len(s) > ID_MAX or "\x00" in s:
        raise BadInput(field, f"{show(s)} is not a usable id ({len(s)} characters)", f"ids hold at most {ID_MAX} characters")
    return s


def as_text(value, max_chars: int, field: str = "text") -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadInput(field, "missing", "every post needs a non-empty text")
    if not isinstance(value, str):
        raise BadInput(field, f"{show(value)} is not a string", "give the post's text as a string")
    if "\x00" in value:  # PostgreSQL cannot store NUL characters; they carry no meaning in a post
        value = value.replace("\x00", "")
    if len(value) > max_chars:
        raise BadInput(field, f"{len(value):,} characters is over the limit of {max_chars:,}",
                       "raise TOWNSQUARE_MAX_TEXT_CHARS and retry (townsquare quarantine retry), or shorten the text")
    return value


def opt_str(value, field: str, max_len: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(field, f"{show(value)} is not a string", f"give {field} as text")
    value = value.strip()
    if len(value) > max_len or "\x00" in value:
        raise BadInput(field, f"{show(value)} is longer than {max_len} characters", f"use a short {field} code")
    return value or None


def aware_utc(ts: datetime) -> datetime:
    """Naive times are taken as UTC (documented); aware ones are converted."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    if ts.utcoffset():
        return ts.astimezone(UTC)
    return ts


def iso_time(value, field: str = "created_at") -> datetime:
    """ISO 8601 text (`2026-11-28T14:10:08Z`, offsets, fractions), a datetime, or epoch seconds as a number."""
    if isinstance(value, str):
        try:
            return aware_utc(datetime.fromisoformat(value))
        except ValueError:
            pass
        s = value.strip()
        if s.endswith(("z", "Z")) or " " in s:  # tolerate lower-case z and a space before the offset
            try:
                return aware_utc(datetime.fromisoformat(s[:-1] + "+00:00" if s[-1] in "zZ" else s))
            except ValueError:
                pass
        if not s:
            raise BadInput(field, "missing", "every post needs a created_at time, e.g. 2026-11-28T14:10:08Z")
        raise BadInput(field, f"{show(value)} is not an ISO 8601 time", "use e.g. 2026-11-28T14:10:08Z")
    if isinstance(value, datetime):
        return aware_utc(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_time(value, field)
    if value is None:
        raise BadInput(field, "missing", "every post needs a created_at time, e.g. 2026-11-28T14:10:08Z")
    raise BadInput(field, f"{show(value)} is not a time", "use ISO 8601, e.g. 2026-11-28T14:10:08Z")


def epoch_time(value, field: str = "created_utc") -> datetime:
    """Unix epoch seconds (Reddit's `created_utc`), as a number or numeric text."""
    try:
        seconds = float(value)
        if seconds != seconds or abs(seconds) > 1e11:  # NaN, or beyond year ~5000: not seconds
            raise ValueError
        return _EPOCH + timedelta(seconds=seconds)
    except (TypeError, ValueError):
        if value is None or value == "":
            raise BadInput(field, "missing", "every post needs a creation time (Unix epoch seconds)") from None
        raise BadInput(field, f"{show(value)} is not a Unix time", "use epoch seconds, e.g. 1764339008") from None


_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_CTIME = re.compile(r"^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2}):?(\d{2}) (\d{4})$")


def ctime_with_offset(value, field: str = "created_at") -> datetime:
    """`Sat Nov 28 14:10:08 +0800 2026`: X v1.1 (always +0000) and Weibo (+0800). Locale-free, unlike strptime."""
    m = _CTIME.match(value.strip()) if isinstance(value, str) else None
    if m is None or m.group(1) not in _MONTHS:
        raise ValueError(value)
    mon, day, hh, mm, ss, sign, oh, om, year = m.groups()
    offset = timedelta(hours=int(oh), minutes=int(om)) * (1 if sign == "+" else -1)
    local = datetime(int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    return local - offset


def count(value) -> int:
    """A metric as an int; Weibo writes large counts as "43.4万" / "1.2亿", some exports as "1,234"."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        s = value.strip().replace(",", "").rstrip("+")
        scale = 1
        if s.endswith("万"):
            s, scale = s[:-1], 10_000
        elif s.endswith("亿"):
            s, scale = s[:-1], 100_000_000
        try:
            return int(float(s) * scale)
        except ValueError:
            return 0
    return 0


def metrics(**values) -> dict:
    """Only the metrics a source really has (None means absent)."""
    return {k: count(v) for k, v in values.items() if v is not None}


def unescape_entities(text: str) -> str:
    """X and Reddit leave `&amp;`, `&lt;`, `&gt;` escaped in plain-text fields."""
    return unescape(text) if "&" in text else text


def make_post(platform: str, pid, text, created_at: datetime, *, max_chars: int, author_id=None, lang=None,
              reply_to=None, quote_of=None, repost_of=None, metrics: dict | None = None) -> Post:
    """The one place a Post is built from reader output; raises BadInput naming the field at fault."""
    return Post(
        platform=platform,
        platform_id=as_id(pid),
        text=as_text(text, max_chars),
        created_at=not_in_future(created_at),
        author_id=as_id(author_id, "author", required=False),
        lang=opt_str(lang, "lang", LANG_MAX),
        reply_to=as_id(reply_to, "reply_to", required=False),
        quote_of=as_id(quote_of, "quote_of", required=False),
        repost_of=as_id(repost_of, "repost_of", required=False),
        metrics=metrics or {},
    )


def clip(value, n: int) -> str:
    """Profile strings are cut to their column size (handles, display names): metadata, not content."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    return s[:n].replace("\x00", "")
