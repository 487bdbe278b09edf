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
