"""Handoffs both ways: what the customer writes while a person handles the ticket, who joined it, and
how far staff have read.

``handoff_messages`` holds the customer's messages to staff (the chat page sends them to the order
service while a ticket is open: the bot is paused and would not answer them). ``read_through`` is the
id of the last of them that staff have seen, so every console shows the same unread count.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as table:
        table.add_column(sa.Column("joined_at", sa.DateTime))
        table.add_column(sa.Column("joined_by", sa.String(128)))
        table.add_column(sa.Column("read_through", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("handoffs.id"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Index("ix_handoff_messages_ticket", "ticket_id", "id"),
    )


def downgrade() -> None:
    op.drop_table("handoff_messages")
    with op.batch_alter_table("handoffs") as table:
        table.drop_column("read_through")
        table.drop_column("joined_by")
        table.drop_column("joined_at")
