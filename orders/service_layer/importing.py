"""Importing orders from an ERP export: clean, merge, and write in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone, tzinfo
from itertools import islice

from orders.domain.erp_record import InvalidRecord, OrderRecord, clean_record, resolve_header
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

BATCH_SIZE = 2000
MAX_REPORTED_PROBLEMS = 100


def batched(items: Iterable, size: int):
    """itertools.batched, which Python 3.11 lacks."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass
class RowProblem:
    row: int
    reason: str


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    problems: list[RowProblem] = field(default_factory=list)  # the first MAX_REPORTED_PROBLEMS

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.source}: {self.rows} rows, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.invalid} invalid"
        )


def import_orders(
    uow: SqlAlchemyUnitOfWork,
    source: str,
    header: list[str],
    rows: Iterable[tuple[int, list[str]]],
    default_tz: tzinfo,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[ImportReport], object] | None = None,
) -> ImportReport:
    """Import ``rows`` (line number, cells) into the store; each batch is one transaction.

    Importing the same rows twice changes nothing: a stored order is only updated when the source says
    it changed later than the version we hold.
    """
    columns = resolve_header(header)
    report = ImportReport(source=source)
    for batch in batched(rows, batch_size):
        latest: dict[str, OrderRecord] = {}
        for line, cells in batch:
            report.rows += 1
            try:
                record = clean_record(cells, columns, default_tz)
            except InvalidRecord as problem:
                report.invalid += 1
                if len(report.problems) < MAX_REPORTED_PROBLEMS:
                    report.problems.append(RowProblem(row=line, reason=str(problem)))
                continue
            seen = latest.get(record.order_id)
            if seen is None or record.updated_at >= seen.updated_at:
                latest[record.order_id] = record
            report.unchanged += 1  # corrected below for the rows that insert or update
        now = datetime.now(timezone.utc)
        with uow:
            stored = uow.orders.source_versions(latest)
            new = [r for r in latest.values() if r.order_id not in stored]
            changed = [
                r for r in latest.values() if r.order_id in stored and r.updated_at > stored[r.order_id]
            ]
            uow.orders.insert_imported(new, now)
            uow.orders.update_imported(changed, now)
            uow.commit()
        report.inserted += len(new)
        report.updated += len(changed)
        report.unchanged -= len(new) + len(changed)
        if on_batch:
            on_batch(report)
    return report
