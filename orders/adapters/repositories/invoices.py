"""Invoices, issued when an order is confirmed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    invoices,
)
from orders.adapters.repositories.rows import as_dict
from orders.domain.model import Order


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def issue(self, order: Order, now: datetime) -> str:
        """Store the invoice of ``order`` and return its number, INV-<year>-<sequence>."""
        placeholder = uuid.uuid4().hex[:32]
        invoice_id = self.session.execute(
            insert(invoices)
            .values(
                number=placeholder,
                order_id=order.order_id,
                customer_id=order.customer_id,
                customer_name=order.customer_name,
                amount=order.amount,
                currency=order.currency,
                issued_at=now,
            )
            .returning(invoices.c.id)
        ).scalar_one()
        number = f"INV-{now.year}-{invoice_id:06d}"
        self.session.execute(update(invoices).where(invoices.c.id == invoice_id).values(number=number))
        return number

    def for_order(self, order_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(invoices).where(invoices.c.order_id == order_id)).first()
        return as_dict(row) if row else None
