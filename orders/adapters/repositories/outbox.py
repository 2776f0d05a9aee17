"""The outbox: notifications written with each change, read by the hub and the bridge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    outbox,
)
from orders.adapters.repositories.rows import as_dict
from orders.domain.access import Role
from orders.domain.notifications import Notification


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, notification: Notification, now: datetime) -> None:
        self.session.execute(
            insert(outbox).values(
                created_at=now,
                recipient_role=notification.recipient.value,
                customer_id=notification.customer_id,
                order_id=notification.order_id,
                event_type=notification.event_type,
                message_en=notification.message["en"],
                message_zh=notification.message["zh"],
                data=notification.data,
            )
        )

    def after(
        self, after_id: int, limit: int, roles: Sequence[str] | None = None, customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Notifications with id > ``after_id``, oldest first; ``roles`` None means every role."""
        statement = select(outbox).where(outbox.c.id > after_id)
        if roles is not None:
            statement = statement.where(outbox.c.recipient_role.in_(list(roles)))
        if customer_id is not None:
            statement = statement.where(outbox.c.customer_id == customer_id)
        rows = self.session.execute(statement.order_by(outbox.c.id).limit(limit))
        return [as_dict(r) for r in rows]

    def customer_since(self, customer_id: str, since: datetime, limit: int) -> list[dict[str, Any]]:
        """A customer's notifications written at or after ``since``, oldest first (the last ``limit``)."""
        rows = self.session.execute(
            select(outbox)
            .where(
                outbox.c.recipient_role == Role.CUSTOMER.value,
                outbox.c.customer_id == customer_id,
                outbox.c.created_at >= since,
            )
            .order_by(outbox.c.id.desc())
            .limit(limit)
        ).all()
        return [as_dict(r) for r in reversed(rows)]
