"""The audit trail: who changed what, when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    audit_log,
)
from orders.adapters.repositories.rows import as_dict


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, **entry: Any) -> None:
        self.session.execute(insert(audit_log).values(**entry))

    def add_many(self, entries: Sequence[dict[str, Any]]) -> None:
        """Several entries in one statement (an import's batch): each with every column of ``add``'s."""
        if entries:
            self.session.execute(insert(audit_log), list(entries))

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(audit_log).where(audit_log.c.order_id == order_id).order_by(audit_log.c.id)
        )
        return [as_dict(r) for r in rows]

    def recent(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(audit_log).where(audit_log.c.id > after_id).order_by(audit_log.c.id).limit(limit)
        )
        return [as_dict(r) for r in rows]
