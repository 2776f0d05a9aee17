"""Import runs, their reports and quarantined rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    import_quarantine,
    imports,
)
from orders.adapters.repositories.rows import as_dict


class ImportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def start(self, source: str, actor: str, now: datetime) -> int:
        return self.session.execute(
            insert(imports)
            .values(source=source, started_at=now, actor=actor, report={})
            .returning(imports.c.id)
        ).scalar_one()

    def finish(self, import_id: int, report: dict, now: datetime) -> None:
        self.session.execute(
            update(imports).where(imports.c.id == import_id).values(finished_at=now, report=report)
        )

    def progress(self, import_id: int, report: dict) -> None:
        """The report so far, written in the transaction of the batch it counts."""
        self.session.execute(update(imports).where(imports.c.id == import_id).values(report=report))

    def quarantine(self, import_id: int, source: str, rows: Sequence[tuple[int, str, Any]]) -> None:
        if rows:
            self.session.execute(
                insert(import_quarantine),
                [
                    {"import_id": import_id, "source": source, "row_number": n, "reason": reason, "raw": raw}
                    for n, reason, raw in rows
                ],
            )

    def quarantined(self, import_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        statement = select(import_quarantine).order_by(import_quarantine.c.id.desc()).limit(limit)
        if import_id is not None:
            statement = statement.where(import_quarantine.c.import_id == import_id)
        return [as_dict(r) for r in self.session.execute(statement)]
