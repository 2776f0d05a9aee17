"""Settlement runs and the orders each settled."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    settlement_runs,
    settlements,
)
from orders.adapters.repositories.rows import as_dict
from orders.domain.model import Order


class SettlementRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def start_run(self, day: date, actor: str, source: str, now: datetime) -> int:
        return self.session.execute(
            insert(settlement_runs)
            .values(settlement_day=day, started_at=now, actor=actor, source=source, orders=0, totals={})
            .returning(settlement_runs.c.id)
        ).scalar_one()

    def finish_run(self, run_id: int, orders_settled: int, totals: dict, now: datetime) -> None:
        self.session.execute(
            update(settlement_runs)
            .where(settlement_runs.c.id == run_id)
            .values(finished_at=now, orders=orders_settled, totals=totals)
        )

    def add(self, run_id: int, order: Order, day: date, now: datetime) -> None:
        self.session.execute(
            insert(settlements).values(
                order_id=order.order_id,
                run_id=run_id,
                settlement_day=day,
                amount_due=order.amount,
                freight=order.freight or Decimal("0"),
                currency=order.currency,
                created_at=now,
            )
        )

    def last_finished_day(self) -> date | None:
        return self.session.execute(
            select(func.max(settlement_runs.c.settlement_day)).where(
                settlement_runs.c.finished_at.is_not(None)
            )
        ).scalar_one()

    def for_day(self, day: date) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(settlements).where(settlements.c.settlement_day == day).order_by(settlements.c.order_id)
        )
        return [as_dict(r) for r in rows]
