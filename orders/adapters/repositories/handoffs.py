"""Handoff tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    handoffs,
)
from orders.adapters.repositories.rows import as_dict


class HandoffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, **ticket: Any) -> int:
        return self.session.execute(
            insert(handoffs).values(status="open", **ticket).returning(handoffs.c.id)
        ).scalar_one()

    def get(self, ticket_id: int) -> dict[str, Any] | None:
        row = self.session.execute(select(handoffs).where(handoffs.c.id == ticket_id)).first()
        return as_dict(row) if row else None

    def open_for(self, conversation_id: str, customer_id: str | None) -> int | None:
        """The open ticket of a conversation for this customer (or for no customer), if any."""
        same_customer = (
            handoffs.c.customer_id.is_(None) if customer_id is None else handoffs.c.customer_id == customer_id
        )
        return self.session.execute(
            select(handoffs.c.id)
            .where(handoffs.c.conversation_id == conversation_id, handoffs.c.status == "open", same_customer)
            .order_by(handoffs.c.id)
            .limit(1)
        ).scalar()

    def close(self, ticket_id: int, by: str, now: datetime) -> bool:
        result = self.session.execute(
            update(handoffs)
            .where(handoffs.c.id == ticket_id, handoffs.c.status == "open")
            .values(status="closed", closed_at=now, closed_by=by)
        )
        return result.rowcount == 1

    def list(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        statement = select(handoffs).order_by(handoffs.c.id.desc()).limit(limit)
        if status:
            statement = statement.where(handoffs.c.status == status)
        return [as_dict(r) for r in self.session.execute(statement)]
