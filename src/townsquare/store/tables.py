"""Tables of the store. Times are stored as naive UTC. Natural keys are (platform, platform_id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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


# --- respond: knowledge base (documents, their chunks with embeddings; intents are documents of kind "intent") ---


class KbDocumentRow(Base):
    """One document of the knowledge base in one language; translations share `doc_key`.

    kind: doc (Markdown/HTML/text) | faq (one CSV row) | intent (examples + answer templates in `meta`).
    `flagged` documents hold a prompt injection: kept for review, never retrieved."""

    __tablename__ = "kb_documents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    doc_key: Mapped[str] = mapped_column(String(256))
    lang: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)  # shown in citations, e.g. "demo_kb/returns.en.md"
    path: Mapped[str] = mapped_column(Text)  # the resolved file it came from (re-adding a file replaces its docs)
    content_hash: Mapped[str] = mapped_column(String(32))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (
        UniqueConstraint("doc_key", "lang", name="uq_kb_documents_key_lang"),
        Index("ix_kb_documents_path", "path"),
    )


class KbChunkRow(Base):
    """A retrievable piece of a document (~300-800 chars) with its embedding, computed once at `kb add`."""

    __tablename__ = "kb_chunks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    doc_id: Mapped[int] = mapped_column(ForeignKey("kb_documents.id", ondelete="CASCADE"))
    ord: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian, L2-normalised
    __table_args__ = (Index("ix_kb_chunks_doc_id", "doc_id"),)


# --- respond: conversations, messages, hand-offs, ratings, corrections, injection log (revision 0005) ---
# Every text column here holds text with personal data redacted (townsquare.text.pii): nothing raw at rest.


class ConversationRow(Base):
    """A customer's conversation with the assistant. `owner_key_id` is the API key that opened it (a customer key
    sees only its own); `status`: open | handed_off | closed."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    channel: Mapped[str] = mapped_column(String(16), default="api")  # api | web | cli
    lang: Mapped[str] = mapped_column(String(16), default="")  # the customer's language, last seen
    status: Mapped[str] = mapped_column(String(16), default="open")
    title: Mapped[str] = mapped_column(Text, default="")  # the first question, redacted and cut
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_conversations_owner", "owner_key_id", "updated_at"),)


class MessageRow(Base):
    """One turn. role: customer | assistant | agent | system. `meta`: intent, sources, hand-off, timings."""

    __tablename__ = "conversation_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(16), default="")
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_conversation_messages_conv", "conversation_id", "id"),)


class HandoffRow(Base):
    """A conversation passed to a person: why (`reason` code + `detail`) and a summary for the agent."""

    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the customer turn that triggered it
    reason: Mapped[str] = mapped_column(String(32))  # asked_for_person | out_of_scope | low_confidence | angry | sensitive
    detail: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    agent_key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_handoffs_status", "status", "created_at"),)


class RatingRow(Base):
    """A customer's thumbs up (+1) or down (-1) on one assistant answer; rating again replaces it."""

    __tablename__ = "answer_ratings"
    message_id: Mapped[int] = mapped_column(ForeignKey("conversation_messages.id", ondelete="CASCADE"),
                                            primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CorrectionRow(Base):
    """An agent's better answer to a question (target `faq`) or a question's right intent (target `intent`).
    Reviewed (pending -> approved | rejected); approved ones become KB entries / intent examples."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the answer being corrected
    target: Mapped[str] = mapped_column(String(16))  # faq | intent
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str] = mapped_column(String(128), default="")
    lang: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_corrections_status", "status", "id"),)


class InjectionLogRow(Base):
    """A refused prompt-injection attempt: in a customer message (`location` = message) or a retrieved passage."""

    __tablename__ = "injection_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    location: Mapped[str] = mapped_column(String(16))  # message | passage
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


# --- recommend: what a user has already been shown, and whom they blocked or muted ----------------------------


class FeedSeenRow(Base):
    """A post a client reports as shown to a user (`POST /users/{id}/seen`): feeds leave it out from then on."""

    __tablename__ = "feed_seen"
    user_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime)


class UserBlockRow(Base):
    """`kind` block or mute: either way the target's posts never reach the user's feed."""

    __tablename__ = "user_blocks"
    user_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # block | mute
    created_at: Mapped[datetime] = mapped_column(DateTime)


# A profile reads one user's newest interactions (revision 0006): without it every profile scans the table.
Index("ix_interactions_user_time", InteractionRow.user_id, InteractionRow.created_at)


# --- experiment: A/B tests (assignments are computed, exposures and outcomes logged); promoted posts (rev. 0007) ---


class ExperimentRow(Base):
    """An A/B test: arms with weights, the metrics it reports (`kind` rate or mean) and what it is about."""

    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    arms: Mapped[list] = mapped_column(JSON)  # [{"name": "control", "weight": 0.5}, ...]; the first is the control
    metrics: Mapped[list] = mapped_column(JSON)  # [{"name": "engaged", "kind": "rate"}, ...]
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | stopped
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. how a simulation was run
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ExposureRow(Base):
    """A user who was shown their arm's treatment: one row per user (the unit of analysis), counting exposures."""

    __tablename__ = "experiment_exposures"
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the platform's user (authors.id in the demo)
    arm: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(DateTime)
    last_at: Mapped[datetime] = mapped_column(DateTime)
    exposures: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (Index("ix_experiment_exposures_arm", "experiment_id", "arm"),)


class OutcomeRow(Base):
    """One logged outcome (e.g. an engagement) of an exposed user; a user's metric is the sum of its values."""

    __tablename__ = "experiment_outcomes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_experiment_outcomes_user", "experiment_id", "metric", "user_id"),)


class PromotedPostRow(Base):
    """A post promoted into feeds, with its per-user frequency cap (impressions per `cap_hours`)."""

    __tablename__ = "promoted_posts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    name: Mapped[str] = mapped_column(String(128), default="")
    cap: Mapped[int] = mapped_column(Integer)
    cap_hours: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_promoted_posts_post_id", "post_id"),)


class PromotedAudienceRow(Base):
    """Who a promoted post is shown to: the users `audiences.match` found most likely to engage, with the score."""

    __tablename__ = "promoted_audiences"
    promoted_id: Mapped[int] = mapped_column(ForeignKey("promoted_posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_promoted_audiences_user", "user_id"),)


class PromotedImpressionRow(Base):
    """A promoted post shown in a user's feed: what the frequency cap counts."""

    __tablename__ = "promoted_impressions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    promoted_id: Mapped[int] = mapped_column(ForeignKey("promoted_posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    shown_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_promoted_impressions_user", "user_id", "promoted_id", "shown_at"),)
