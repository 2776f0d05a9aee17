"""Invoices, issued when an order is confirmed, or on import for an order that arrives confirmed or later."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, text
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    invoices,
    orders,
)
from orders.adapters.repositories.rows import as_dict
from orders.domain.model import Order

# PostgreSQL: ``count`` ids from the sequence of the invoices' id column, in one round trip.
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('invoices', 'id')) FROM generate_series(1, :count)")


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def issue(self, order: Order, now: datetime) -> str:
        """Store the invoice of ``order`` and return its number, INV-<year>-<sequence>."""
        (issued,) = self._issue(
            [
                {
                    "order_id": order.order_id,
                    "customer_id": order.customer_id,
                    "customer_name": order.customer_name,
                    "amount": order.amount,
                    "currency": order.currency,
                }
            ],
            now,
        )
        return issued["number"]

    def issue_for_stored(self, order_ids: Iterable[str], now: datetime) -> list[dict[str, Any]]:
        """Issue the invoice of each stored order among ``order_ids`` that has none yet, from the order
        as stored; returns the invoices issued (number, order_id, customer_id, amount, currency)."""
        ids = list(order_ids)
        if not ids:
            return []
        rows = self.session.execute(
            select(
                orders.c.order_id,
                orders.c.customer_id,
                orders.c.customer_name,
                orders.c.amount,
                orders.c.currency,
            )
            .where(orders.c.order_id.in_(ids))
            .where(~exists().where(invoices.c.order_id == orders.c.order_id))
            .order_by(orders.c.order_id)  # numbered in a repeatable order
        )
        return self._issue([dict(row._mapping) for row in rows], now)

    def _issue(self, values: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Store invoices, each numbered INV-<year>-<id>; returns them as stored."""
        issued = [
            {**value, "id": invoice_id, "number": f"INV-{now.year}-{invoice_id:06d}", "issued_at": now}
            for value, invoice_id in zip(values, self._new_ids(len(values)), strict=True)
        ]
        if issued:
            self.session.execute(insert(invoices), issued)
        return issued

    def _new_ids(self, count: int) -> list[int]:
        """``count`` new invoice ids: the sequence the numbers are made of. Taken before the insert, so
        that one statement stores every invoice of a batch already numbered. A number is unique
        because its id is: on PostgreSQL the ids come from the id column's own sequence (safe under
        concurrent writers); SQLite lets one writer at a time, and the ids after the largest are the
        ones it would give itself (both callers have written in their transaction by now, so they
        hold the write lock; a writer that got in between would make the insert fail, never repeat
        an id)."""
        if count == 0:
            return []
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            rows = connection.execute(_NEXT_IDS, {"count": count})
            return [invoice_id for (invoice_id,) in rows]
        largest = connection.execute(select(func.coalesce(func.max(invoices.c.id), 0))).scalar_one()
        return list(range(largest + 1, largest + 1 + count))

    def for_order(self, order_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(invoices).where(invoices.c.order_id == order_id)).first()
        return as_dict(row) if row else None
