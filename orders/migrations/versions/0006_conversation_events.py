"""Conversation analytics: the events Rasa's broker published, one row each.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(40), nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("intent", sa.String(128)),
        sa.Column("confidence", sa.Float),
        sa.Column("action", sa.String(128)),
        sa.Column("channel", sa.String(32)),
    )
    op.create_index("ix_conversation_events_at", "conversation_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_conversation_events_at", "conversation_events")
    op.drop_table("conversation_events")
