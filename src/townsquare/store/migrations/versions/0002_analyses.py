"""analyses: the understand models' output per post

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("emotion", sa.String(length=16), nullable=True),
        sa.Column("toxicity", sa.Float(), nullable=True),
        sa.Column("crisis_informative", sa.Float(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("analyzed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("post_id"),
    )
    op.create_index("ix_analyses_sentiment", "analyses", ["sentiment"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_analyses_sentiment", table_name="analyses")
    op.drop_table("analyses")
