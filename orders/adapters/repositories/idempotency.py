"""Answers stored under an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    idempotency_keys,
)
from orders.adapters.repositories.rows import as_dict


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, principal: str, key: str) -> dict[str, Any] | None:
        row = self.session.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
            )
        ).first()
        return as_dict(row) if row else None

    def add(self, **entry: Any) -> None:
        self.session.execute(insert(idempotency_keys).values(**entry))

    def answer(self, principal: str, key: str, status_code: int, body: str) -> None:
        self.session.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
            .values(status_code=status_code, body=body)
        )

    def remove(self, principal: str, key: str, created_at: datetime | None = None) -> int:
        """Forget a key (only the entry made at ``created_at``, when given); how many rows went."""
        statement = delete(idempotency_keys).where(
            idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
        )
        if created_at is not None:
            statement = statement.where(idempotency_keys.c.created_at == created_at)
        return self.session.execute(statement).rowcount
