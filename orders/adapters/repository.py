"""Repositories: the order service's only way to read and write stored orders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from orders.adapters.orm import orders
from orders.domain.erp_record import OrderRecord
from orders.domain.model import Order, initial_status, payment_status_for

# Fields an import may overwrite; the workflow state and shipment are never among them.
IMPORTED_FIELDS = (
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "amount",
    "currency",
    "paid_at",
    "due_date",
)


class SqlAlchemyOrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, order_id: str) -> Order | None:
        return self.session.get(Order, order_id)

    def add(self, order: Order) -> None:
        self.session.add(order)

    def source_versions(self, order_ids: Iterable[str]) -> dict[str, datetime]:
        """The ERP update time of each already stored order among ``order_ids``."""
        ids = list(order_ids)
        if not ids:
            return {}
        rows = self.session.execute(
            select(orders.c.order_id, orders.c.source_updated_at).where(orders.c.order_id.in_(ids))
        )
        return {order_id: updated for order_id, updated in rows}

    def insert_imported(self, records: Sequence[OrderRecord], now: datetime) -> None:
        if not records:
            return
        self.session.execute(
            orders.insert(),
            [
                {
                    "order_id": r.order_id,
                    "customer_id": r.customer_id,
                    "customer_name": r.customer_name,
                    "email": r.email,
                    "phone": r.phone,
                    "amount": r.amount,
                    "currency": r.currency,
                    "status": initial_status(r.status),
                    "payment_status": payment_status_for(r.paid_at),
                    "created_at": r.created_at,
                    "updated_at": now,
                    "paid_at": r.paid_at,
                    "due_date": r.due_date,
                    "source_updated_at": r.updated_at,
                    "version": 1,
                }
                for r in records
            ],
        )

    def update_imported(self, records: Sequence[OrderRecord], now: datetime) -> None:
        if not records:
            return
        statement = (
            update(orders)
            .where(orders.c.order_id == bindparam("b_order_id"))
            .values(
                {name: bindparam(f"b_{name}") for name in IMPORTED_FIELDS}
                | {
                    "payment_status": bindparam("b_payment_status"),
                    "source_updated_at": bindparam("b_source_updated_at"),
                    "updated_at": now,
                    "version": orders.c.version + 1,
                }
            )
        )
        self.session.connection().execute(
            statement,
            [
                {f"b_{name}": getattr(r, name) for name in IMPORTED_FIELDS}
                | {
                    "b_order_id": r.order_id,
                    "b_payment_status": payment_status_for(r.paid_at),
                    "b_source_updated_at": r.updated_at,
                }
                for r in records
            ],
        )
