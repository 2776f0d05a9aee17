"""Handoff tickets and what their customers write to staff while a ticket is open."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from orders.adapters.orm import handoff_messages, handoffs
from orders.adapters.repositories.rows import as_dict

# Each ticket with ``unread``: the customer's messages after the last one staff have read.
_UNREAD = (
    select(func.count(handoff_messages.c.id))
    .where(
        handoff_messages.c.ticket_id == handoffs.c.id,
        handoff_messages.c.id > handoffs.c.read_through,
    )
    .correlate(handoffs)
    .scalar_subquery()
    .label("unread")
)
_TICKETS = select(handoffs, _UNREAD)


class HandoffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, **ticket: Any) -> int:
        return self.session.execute(
            insert(handoffs).values(status="open", **ticket).returning(handoffs.c.id)
        ).scalar_one()

    def get(self, ticket_id: int) -> dict[str, Any] | None:
        row = self.session.execute(_TICKETS.where(handoffs.c.id == ticket_id)).first()
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

    def join(self, ticket_id: int, by: str, now: datetime) -> bool:
        """Record who took an open ticket; True only for the first to take it."""
        result = self.session.execute(
            update(handoffs)
            .where(handoffs.c.id == ticket_id, handoffs.c.status == "open", handoffs.c.joined_at.is_(None))
            .values(joined_at=now, joined_by=by)
        )
        return result.rowcount == 1

    def add_message(self, ticket_id: int, text: str, now: datetime) -> int:
        return self.session.execute(
            insert(handoff_messages)
            .values(ticket_id=ticket_id, text=text, at=now)
            .returning(handoff_messages.c.id)
        ).scalar_one()

    def mark_read(self, ticket_id: int) -> None:
        """Staff have seen every message of the ticket so far (the count never goes back)."""
        newest = (
            select(func.coalesce(func.max(handoff_messages.c.id), 0))
            .where(handoff_messages.c.ticket_id == ticket_id)
            .scalar_subquery()
        )
        self.session.execute(
            update(handoffs)
            .where(and_(handoffs.c.id == ticket_id, handoffs.c.read_through < newest))
            .values(read_through=newest)
        )

    def messages(self, ticket_ids: list[int], limit: int = 500) -> list[dict[str, Any]]:
        """What the customers of these tickets wrote to staff, oldest first (the last ``limit``)."""
        if not ticket_ids:
            return []
        rows = self.session.execute(
            select(handoff_messages)
            .where(handoff_messages.c.ticket_id.in_(ticket_ids))
            .order_by(handoff_messages.c.id.desc())
            .limit(limit)
        ).all()
        return [as_dict(r) for r in reversed(rows)]

    def of_conversation(self, conversation_id: str, customer_id: str) -> list[dict[str, Any]]:
        """A customer's tickets opened in one conversation, oldest first."""
        rows = self.session.execute(
            _TICKETS.where(
                handoffs.c.conversation_id == conversation_id, handoffs.c.customer_id == customer_id
            ).order_by(handoffs.c.id)
        ).all()
        return [as_dict(r) for r in rows]

    def list(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        statement = _TICKETS.order_by(handoffs.c.id.desc()).limit(limit)
        if status:
            statement = statement.where(handoffs.c.status == status)
        return [as_dict(r) for r in self.session.execute(statement)]
