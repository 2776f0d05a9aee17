"""Create the orders table.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ORDER_STATES = ("pending_confirmation", "confirmed", "awaiting_shipment", "shipped", "settled", "cancelled")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(32)),
        sa.Column("amount", sa.BigInteger, nullable=False, comment="in cents"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*ORDER_STATES, name="order_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "payment_status",
            sa.Enum("unpaid", "paid", name="payment_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("paid_at", sa.DateTime),
        sa.Column("due_date", sa.Date),
        sa.Column("carrier", sa.String(64)),
        sa.Column("tracking_number", sa.String(64)),
        sa.Column("source_updated_at", sa.DateTime, nullable=False, comment="last update in the ERP"),
        sa.Column("version", sa.Integer, nullable=False),
    )
    for column in ("customer_id", "status", "created_at", "updated_at", "paid_at"):
        op.create_index(f"ix_orders_{column}", "orders", [column])


def downgrade() -> None:
    op.drop_table("orders")
