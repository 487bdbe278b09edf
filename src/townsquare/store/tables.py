"""Tables of the store. Times are stored as naive UTC. Natural keys are (platform, platform_id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere for 1M+ rows.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class AuthorRow(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    platform_id: Mapped[str] = mapped_column(String(128))
    handle: Mapped[str] = mapped_column(String(256), default="")
    display_name: Mapped[str] = mapped_column(String(512), default="")
    followers: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    __table_args__ = (
        UniqueConstraint("platform", "platform_id", name="uq_authors_platform_id"),
        Index("ix_authors_handle", "handle"),
    )


class PostRow(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    platform_id: Mapped[str] = mapped_column(String(128))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    reply_to: Mapped[str | None] = mapped_column(String(128), nullable=True)
    quote_of: Mapped[str | None] = mapped_column(String(128), nullable=True)
    repost_of: Mapped[str | None] = mapped_column(String(128), nullable=True)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(16))  # lets re-ingestion skip unchanged rows
    ingested_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (
        UniqueConstraint("platform", "platform_id", name="uq_posts_platform_id"),
        Index("ix_posts_created_at", "created_at"),
        Index("ix_posts_author_id", "author_id"),
    )


class InteractionRow(Base):
    __tablename__ = "interactions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (
        UniqueConstraint("user_id", "post_id", "kind", "created_at", name="uq_interactions_event"),
        Index("ix_interactions_post_id", "post_id"),
    )


class FollowRow(Base):
    __tablename__ = "follows"
    follower_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), primary_key=True)
    followee_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), primary_key=True)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_follows_followee_id", "followee_id"),)


class EmbeddingRow(Base):
    """One stored embedding per post and model: embed once, use everywhere."""

    __tablename__ = "embeddings"
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian


class QuarantineRow(Base):
    """A record that could not be stored, kept with its raw bytes and a readable reason."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)  # file path or API endpoint
    location: Mapped[str] = mapped_column(String(64), default="")  # e.g. "line 17"
    format: Mapped[str] = mapped_column(String(32), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_quarantine_status", "status"),)


class ApiKeyRow(Base):
    """API keys are stored as SHA-256 hashes; only the prefix is kept in clear for lookup."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AnalysisRow(Base):
    """The understand models' output for one post (the newest run wins; `version` names the heads)."""

    __tablename__ = "analyses"
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sentiment: Mapped[str | None] = mapped_column(String(16), nullable=True)
    emotion: Mapped[str | None] = mapped_column(String(16), nullable=True)
    toxicity: Mapped[float | None] = mapped_column(Float, nullable=True)
    crisis_informative: Mapped[float | None] = mapped_column(Float, nullable=True)
    result: Mapped[dict] = mapped_column(JSON)  # the whole record: scores, probabilities, PII spans, error
    analyzed_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_analyses_sentiment", "sentiment"),)


# --- listen: watches, their matches, per-bucket aggregates, detector states and alerts ---------------------------


class WatchRow(Base):
    """Something a team follows: keywords/hashtags/handles plus a description matched by embedding similarity."""

    __tablename__ = "watches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    langs: Mapped[list] = mapped_column(JSON, default=list)  # empty = every language
    description: Mapped[str] = mapped_column(Text, default="")  # what semantic matching compares posts with
    similarity: Mapped[float] = mapped_column(Float)  # cosine threshold for a semantic match
    minutes: Mapped[int] = mapped_column(Integer)  # the bucket the detectors watch
    sensitivity: Mapped[float | None] = mapped_column(Float, nullable=True)  # detector threshold override
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class WatchMatchRow(Base):
    """A post counted for a watch. The primary key makes counting idempotent: a redelivered post is not recounted."""

    __tablename__ = "watch_matches"
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)  # the post's time
    how: Mapped[str] = mapped_column(String(16))  # keyword | semantic
    similarity: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_watch_matches_time", "watch_id", "created_at"),)


class WatchBucketRow(Base):
    """Counts of one watch in one time bucket (`minutes` long, starting at `start`)."""

    __tablename__ = "watch_buckets"
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    volume: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    neutral: Mapped[int] = mapped_column(Integer, default=0)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)  # sum of the authors' followers


class WatchBucketKeyRow(Base):
    """Top-N material of a bucket: counts per term, hashtag or author (`value` = the author's reach)."""

    __tablename__ = "watch_bucket_keys"
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # term | hashtag | author
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class DetectorStateRow(Base):
    """Where a watch's detector has got to: the last bucket it scored and its state, so any consumer can go on."""

    __tablename__ = "detector_states"
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)  # volume | negative
    minutes: Mapped[int] = mapped_column(Integer)
    last_start: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    state: Mapped[dict] = mapped_column(JSON, default=dict)


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[int] = mapped_column(Integer)
    bucket_start: Mapped[datetime] = mapped_column(DateTime)
    value: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    explanation: Mapped[dict] = mapped_column(JSON, default=dict)
    webhook_status: Mapped[str] = mapped_column(String(16), default="none")  # none | pending | sent | failed
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_next_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    webhook_error: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        UniqueConstraint("watch_id", "metric", "minutes", "bucket_start", name="uq_alerts_bucket"),
        Index("ix_alerts_webhook", "webhook_status", "webhook_next_at"),
    )


class StreamStateRow(Base):
    """The stream's event-time watermark: the newest post time seen, which closes buckets."""

    __tablename__ = "stream_state"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
