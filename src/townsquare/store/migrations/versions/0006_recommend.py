"""recommend: seen items, blocks/mutes, and an index to read one user's interactions fast

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feed_seen",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("post_id", BigId, nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["authors.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("user_id", "post_id"),
    )
    op.create_table(
        "user_blocks",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("target_id", BigId, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["authors.id"]),
        sa.ForeignKeyConstraint(["target_id"], ["authors.id"]),
        sa.PrimaryKeyConstraint("user_id", "target_id", "kind"),
    )
    # A profile reads one user's newest interactions: without this, every profile scans the whole table.
    op.create_index("ix_interactions_user_time", "interactions", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_interactions_user_time", table_name="interactions")
    op.drop_table("user_blocks")
    op.drop_table("feed_seen")
