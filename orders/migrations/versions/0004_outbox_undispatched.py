"""Outbox: a partial index of the rows the notification hub has not dispatched yet.

The dispatcher polls ``WHERE dispatched_at IS NULL ORDER BY id``; without this index that is a scan
of the whole outbox every poll. Partial, so it stays as small as the backlog (usually empty).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UNDISPATCHED = sa.text("dispatched_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_undispatched",
        "outbox",
        ["id"],
        postgresql_where=UNDISPATCHED,
        sqlite_where=UNDISPATCHED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_undispatched", table_name="outbox")
