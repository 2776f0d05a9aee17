"""An order's ``updated_at`` is when the order last changed, not when an import last wrote it.

Until this revision every import set ``updated_at`` of each order it stored or updated to the time of
the import, so the console's "Updated" column showed the import time for every order. Imports now
keep the ERP's own update time (``source_updated_at``), or the time of a change made here if that is
later. This puts the orders stored before on the same footing: the later of the ERP's update time and
the last change recorded in the audit trail by anything but an import.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite's two-argument max() is the others' greatest(); both kinds of column hold UTC timestamps
    # written the same way, so they compare as the times they stand for.
    later = "max" if op.get_bind().dialect.name == "sqlite" else "greatest"
    op.execute(
        sa.text(
            f"UPDATE orders SET updated_at = {later}(source_updated_at, coalesce(("
            "SELECT max(audit_log.at) FROM audit_log "
            "WHERE audit_log.order_id = orders.order_id AND audit_log.source <> 'import'"
            "), source_updated_at))"
        )
    )


def downgrade() -> None:
    pass  # the import times it replaced said nothing about the orders
