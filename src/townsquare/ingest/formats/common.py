"""Helpers the readers share: turning a BadInput into a quarantined record, locations, raw bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson

from townsquare.errors import BadInput
from townsquare.ingest.items import Item, Rejected


def raw_json(value) -> bytes:
    """The record as JSON bytes for the quarantine (what `quarantine show` prints and `retry` parses)."""
    return orjson.dumps(value, default=str)


def sub(loc: str, k: int) -> str:
    """The k-th record inside the value at `loc` (1-based), e.g. "line 3 #5"."""
    return f"{loc} #{k}" if loc else f"#{k}"


def guarded(loc: str, record, build: Callable[[], Iterator[Item]]) -> Iterator[Item]:
    """Run a record's builder; a BadInput becomes one Rejected item carrying the record's JSON."""
    try:
        yield from build()
    except BadInput as exc:
        yield Rejected(loc, raw_json(record), str(exc))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A shape no reader expected (a field of another type, a missing key): this record, not the file, fails.
        yield Rejected(loc, raw_json(record), f"record: unexpected shape ({type(exc).__name__}: {exc}) — check "
                                              f"--format, or report the record if the format is right")


_ERROR_KEYS = {"error", "errors", "error_description", "msg", "message", "ok", "code", "status", "detail",
               "title", "type", "meta", "__twarc", "data"}


def is_error_body(value) -> bool:
    """An API error response (`{"error": "Record not found"}`, `{"errors": [...]}`): no record in it."""
    return isinstance(value, dict) and ("error" in value or "errors" in value or value.get("ok") == 0) \
        and value.keys() <= _ERROR_KEYS and not value.get("data")


def first_dict(value) -> dict | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        for v in value[:5]:
            if isinstance(v, dict):
                return v
    return None


def not_this_shape(loc: str, value, fmt: str, expected: str) -> Rejected:
    keys = ", ".join(list(value)[:6]) if isinstance(value, dict) else type(value).__name__
    return Rejected(loc, raw_json(value), f"record: not a {fmt} record (found {keys}; expected {expected})"
                                         f" — check --format, or use --format auto")
