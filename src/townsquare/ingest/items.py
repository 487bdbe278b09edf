"""The common contract of every reader: it yields `Parsed` or `Rejected` items, and the run ends in an `IngestReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from townsquare.ingest.validate import latest_time
from townsquare.schema import Author, Post

MAX_REASONS = 20  # how many quarantine reasons a report keeps for the CLI/API to show


@dataclass(slots=True)
class Parsed:
    """A post ready to store, with its author's profile when the source carries one."""

    post: Post
    author: Author | None = None
    location: str = ""
    # Formats that reference authors by id (X v2 `author_id` -> `includes.users`): when the id did not resolve
    # in the payload, the writer looks for the author among stored authors and quarantines the post if absent.
    unresolved: bool = False
    raw: bytes | None = None  # kept only for unresolved posts, which may still be quarantined


@dataclass(slots=True)
class Rejected:
    """A record that cannot be stored: where it was, its raw bytes, and a one-line reason naming the fix."""

    location: str
    raw: bytes
    reason: str


Item = Parsed | Rejected


@dataclass(slots=True)
class Context:
    """What a reader needs besides the record itself."""

    max_chars: int  # text limit (settings.max_text_chars)
    reference_time: datetime  # aware UTC; resolves relative times such as Weibo's "5分钟前"
    platform: str | None = None  # overrides the format's platform name (e.g. one Mastodon server)
    mapping: dict[str, str] | None = None  # generic files: our field -> the file's column
    latest: datetime = field(default_factory=latest_time)  # later created_at are refused (see validate.FUTURE_SLACK)


@dataclass
class IngestReport:
    """Counts of one ingestion. `read == stored + quarantined` always holds."""

    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    skipped: int = 0  # API responses that hold no record (token calls, error bodies); not part of `read`
    source: str = ""
    format: str = ""
    reasons: list[str] = field(default_factory=list)  # the first MAX_REASONS quarantine reasons

    @property
    def stored(self) -> int:
        return self.new + self.updated + self.unchanged

    def summary(self) -> str:
        return (f"read {self.read}, stored {self.stored} (new {self.new}, updated {self.updated}, "
                f"unchanged {self.unchanged}), quarantined {self.quarantined}")

    def note_reason(self, location: str, reason: str) -> None:
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"{location}: {reason}" if location else reason)
