"""listen: watches, matches, bucket aggregates, detector states, alerts, stream watermark

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _watch_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["watch_id"], ["watches.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("langs", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("sensitivity", sa.Float(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "watch_matches",
        sa.Column("watch_id", BigId, nullable=False),
        sa.Column("post_id", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        _watch_fk(),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("watch_id", "post_id"),
    )
    op.create_index("ix_watch_matches_time", "watch_matches", ["watch_id", "created_at"])
    op.create_table(
        "watch_buckets",
        sa.Column("watch_id", BigId, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=False),
        _watch_fk(),
        sa.PrimaryKeyConstraint("watch_id", "minutes", "start"),
    )
    op.create_table(
        "watch_bucket_keys",
        sa.Column("watch_id", BigId, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        _watch_fk(),
        sa.PrimaryKeyConstraint("watch_id", "minutes", "start", "kind", "key"),
    )
    op.create_table(
        "detector_states",
        sa.Column("watch_id", BigId, nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("last_start", sa.DateTime(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        _watch_fk(),
        sa.PrimaryKeyConstraint("watch_id", "metric"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("watch_id", BigId, nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("webhook_status", sa.String(16), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column("webhook_next_at", sa.DateTime(), nullable=True),
        sa.Column("webhook_error", sa.Text(), nullable=False),
        _watch_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("watch_id", "metric", "minutes", "bucket_start", name="uq_alerts_bucket"),
    )
    op.create_index("ix_alerts_webhook", "alerts", ["webhook_status", "webhook_next_at"])
    op.create_table(
        "stream_state",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    for table in ("stream_state", "alerts", "detector_states", "watch_bucket_keys", "watch_buckets",
                  "watch_matches", "watches"):
        op.drop_table(table)
