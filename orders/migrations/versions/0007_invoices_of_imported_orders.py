"""Invoices for the orders imported already confirmed or later before imports issued them.

Rule 5 says an order that has been confirmed has an invoice: confirming issues it, and since this
revision an import issues it for an order that arrives confirmed or later. Orders imported earlier in
such a state have none, and the assistant told their customers "no invoice yet: it is issued when the
order is confirmed". This issues each of them its invoice, numbered as any other (INV-<year>-<id>),
audited as issued for the import that stored the order. Nobody is notified (as on import).

Written against the tables as they are at this revision, not the application's code, which moves on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

import uuid
from datetime import datetime, timezone
from decimal import Decimal
from itertools import islice

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CONFIRMED_OR_LATER = ("confirmed", "awaiting_shipment", "shipped", "settled")
PER_STATEMENT = 500  # orders per statement: well under the bound parameters either database allows

orders = sa.table(
    "orders",
    sa.column("order_id", sa.String),
    sa.column("customer_id", sa.String),
    sa.column("customer_name", sa.String),
    sa.column("amount", sa.BigInteger),  # cents, as invoices hold them too
    sa.column("currency", sa.String),
    sa.column("status", sa.String),
)
invoices = sa.table(
    "invoices",
    sa.column("id", sa.Integer),
    sa.column("number", sa.String),
    sa.column("order_id", sa.String),
    sa.column("customer_id", sa.String),
    sa.column("customer_name", sa.String),
    sa.column("amount", sa.BigInteger),
    sa.column("currency", sa.String),
    sa.column("issued_at", sa.DateTime),
)
audit_log = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime),
    sa.column("order_id", sa.String),
    sa.column("actor", sa.String),
    sa.column("actor_role", sa.String),
    sa.column("source", sa.String),
    sa.column("action", sa.String),
    sa.column("from_value", sa.String),
    sa.column("to_value", sa.String),
    sa.column("reason", sa.String),
    sa.column("details", sa.JSON),
)


def upgrade() -> None:
    connection = op.get_bind()
    owed = connection.execute(
        sa.select(
            orders.c.order_id,
            orders.c.customer_id,
            orders.c.customer_name,
            orders.c.amount,
            orders.c.currency,
            orders.c.status,
        )
        .where(orders.c.status.in_(CONFIRMED_OR_LATER))
        .where(~sa.exists().where(invoices.c.order_id == orders.c.order_id))
        .order_by(orders.c.order_id)
    ).all()
    now = datetime.now(timezone.utc)
    at = now.replace(tzinfo=None)  # stored as naive UTC, as the application stores every time
    pending = iter(owed)
    while chunk := list(islice(pending, PER_STATEMENT)):
        inserted = connection.execute(
            sa.insert(invoices).returning(invoices.c.id, invoices.c.order_id),
            [
                {
                    "number": uuid.uuid4().hex,  # unique until numbered from the id, just below
                    "order_id": order.order_id,
                    "customer_id": order.customer_id,
                    "customer_name": order.customer_name,
                    "amount": order.amount,
                    "currency": order.currency,
                    "issued_at": at,
                }
                for order in chunk
            ],
        ).all()
        by_id = {invoice_id: f"INV-{now.year}-{invoice_id:06d}" for invoice_id, _ in inserted}
        connection.execute(
            sa.update(invoices)
            .where(invoices.c.id.in_(list(by_id)))
            .values(number=sa.case(by_id, value=invoices.c.id))
        )
        numbers = {order_id: by_id[invoice_id] for invoice_id, order_id in inserted}
        connection.execute(
            sa.insert(audit_log),
            [
                {
                    "at": at,
                    "order_id": order.order_id,
                    "actor": "import",
                    "actor_role": "operations",
                    "source": "import",
                    "action": "issue_invoice",
                    "from_value": None,
                    "to_value": numbers[order.order_id],
                    "reason": f"imported as {order.status} before imports issued invoices",
                    "details": {
                        "order_id": order.order_id,
                        "customer_id": order.customer_id,
                        "invoice_number": numbers[order.order_id],
                        "amount": f"{Decimal(order.amount).scaleb(-2):.2f}",
                        "currency": order.currency,
                    },
                }
                for order in chunk
            ],
        )


def downgrade() -> None:
    """Nothing to undo: an invoice once issued stays issued (its number may be on a customer's books)."""
