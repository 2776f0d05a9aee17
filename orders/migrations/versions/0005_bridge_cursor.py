"""Chat bridge cursors: per group, the last outbox id delivered, recent posts, and who delivers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bridge_cursors",
        sa.Column("target", sa.String(64), primary_key=True),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.Column("recent_posts", sa.JSON, nullable=False),
        sa.Column("owner", sa.String(128)),
        sa.Column("lease_until", sa.Float, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bridge_cursors")
