"""experiment: experiments, exposures, outcomes; audiences

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("arms", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "experiment_exposures",
        sa.Column("experiment_id", BigId, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("exposures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("experiment_id", "user_id"),
    )
    op.create_index("ix_experiment_exposures_arm", "experiment_exposures", ["experiment_id", "arm"])
    op.create_table(
        "experiment_outcomes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("experiment_id", BigId, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_experiment_outcomes_user", "experiment_outcomes", ["experiment_id", "metric", "user_id"])
    op.create_table(
        "promoted_posts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("post_id", BigId, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("cap_hours", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_promoted_posts_post_id", "promoted_posts", ["post_id"])
    op.create_table(
        "promoted_audiences",
        sa.Column("promoted_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["promoted_id"], ["promoted_posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["authors.id"]),
        sa.PrimaryKeyConstraint("promoted_id", "user_id"),
    )
    op.create_index("ix_promoted_audiences_user", "promoted_audiences", ["user_id"])
    op.create_table(
        "promoted_impressions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("promoted_id", BigId, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("shown_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["promoted_id"], ["promoted_posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_promoted_impressions_user", "promoted_impressions", ["user_id", "promoted_id", "shown_at"])


def downgrade() -> None:
    op.drop_index("ix_promoted_impressions_user", table_name="promoted_impressions")
    op.drop_table("promoted_impressions")
    op.drop_index("ix_promoted_audiences_user", table_name="promoted_audiences")
    op.drop_table("promoted_audiences")
    op.drop_index("ix_promoted_posts_post_id", table_name="promoted_posts")
    op.drop_table("promoted_posts")
    op.drop_index("ix_experiment_outcomes_user", table_name="experiment_outcomes")
    op.drop_table("experiment_outcomes")
    op.drop_index("ix_experiment_exposures_arm", table_name="experiment_exposures")
    op.drop_table("experiment_exposures")
    op.drop_table("experiments")
