"""Workflow: freight and shipment time, audit log, outbox, invoices, settlements, users, imports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("freight", sa.BigInteger, comment="in cents"))
        batch.add_column(sa.Column("shipped_at", sa.DateTime))
        batch.add_column(sa.Column("match_key", sa.String(40), nullable=False, server_default=""))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("order_id", sa.String(64), index=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_value", sa.String(200)),
        sa.Column("to_value", sa.String(200)),
        sa.Column("reason", sa.String(500)),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("recipient_role", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("order_id", sa.String(64)),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("message_en", sa.Text, nullable=False),
        sa.Column("message_zh", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("dispatched_at", sa.DateTime),
    )
    op.create_index("ix_outbox_recipient", "outbox", ["recipient_role", "id"])
    op.create_index("ix_outbox_customer", "outbox", ["customer_id", "id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id"), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issued_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "settlement_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("settlement_day", sa.Date, nullable=False, index=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("totals", sa.JSON, nullable=False),
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id"), nullable=False, unique=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("settlement_runs.id"), nullable=False),
        sa.Column("settlement_day", sa.Date, nullable=False, index=True),
        sa.Column("amount_due", sa.BigInteger, nullable=False),
        sa.Column("freight", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "staff_links",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("platform_user_id", sa.String(128), primary_key=True),
        sa.Column(
            "username", sa.String(64), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False
        ),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
    )
    op.create_table(
        "import_quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False, index=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("row_number", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("raw", sa.JSON, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "import_quarantine",
        "imports",
        "staff_links",
        "users",
        "settlements",
        "settlement_runs",
        "invoices",
        "outbox",
        "audit_log",
    ):
        op.drop_table(table)
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("match_key")
        batch.drop_column("shipped_at")
        batch.drop_column("freight")
