"""Answers stored under an Idempotency-Key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
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
