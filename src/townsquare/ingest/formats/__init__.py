"""One module per source shape. Each exposes the same small contract:

    NAME: str                      the --format name
    PLATFORM: str                  the platform posts are stored under (overridable with --platform)
    looks_like(value) -> bool      does a decoded JSON value have this shape? (used by --format auto)
    parse(value, ctx, loc) -> Iterator[Parsed | Rejected]

`parse` never raises for bad data: every record it cannot use comes out as `Rejected` with a readable reason.
"""

from __future__ import annotations

from townsquare.ingest.formats import bluesky, generic, mastodon, reddit, weibo, x_v1, x_v2

# Sniffing order: the most specific shapes first; generic last (it accepts any object).
PLATFORM_READERS = [x_v2, x_v1, mastodon, weibo, reddit, bluesky]
READERS = {m.NAME: m for m in [*PLATFORM_READERS, generic]}

__all__ = ["READERS", "PLATFORM_READERS"]
