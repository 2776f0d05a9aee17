"""Importing orders from an ERP source: clean, align, and write in batches, quarantining what is invalid."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone, tzinfo
from itertools import islice
from typing import Any

from orders.domain.erp_record import InvalidRecord, OrderRecord, RecordCleaner, merged_mapping, resolve_header
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

# Rows per transaction: each commit costs a WAL write (and on SQLite now and then a checkpoint), so
# larger batches import faster; 10,000 cleaned rows stay well under the memory bound.
BATCH_SIZE = 10_000
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
    import_id: int | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    problems: list[RowProblem] = field(default_factory=list)  # the first MAX_REPORTED_PROBLEMS

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.source}: {self.rows} rows, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.quarantined} quarantined"
        )


def _raw(header: list[Any], row: Any, by_name: bool) -> dict[str, Any]:
    """The row as it came, for the quarantine table (JSON-safe)."""
    if by_name:
        return {
            str(k): (v if isinstance(v, str | int | float | bool | type(None)) else str(v))
            for k, v in row.items()
        }
    return {str(header[i]) if i < len(header) else f"column {i + 1}": v for i, v in enumerate(row)}


def _clean_batch(
    batch: list[tuple[int, Any]], header: list[Any], by_name: bool, clean: RecordCleaner
) -> tuple[int, dict[str, OrderRecord], dict[str, int], list[tuple[int, str, Any]]]:
    """Clean one batch: the latest record of each order number, its line, and the quarantined rows."""
    latest: dict[str, OrderRecord] = {}
    quarantine: list[tuple[int, str, Any]] = []
    lines: dict[str, int] = {}
    width = len(header)
    for line, cells in batch:
        if not by_name and len(cells) != width:  # a cut or shifted line: no cell can be trusted
            reason = f"row has {len(cells)} cells where the header has {width} (truncated or misaligned)"
            quarantine.append((line, reason, _raw(header, cells, by_name)))
            continue
        try:
            record = clean(cells)
        except InvalidRecord as problem:
            quarantine.append((line, str(problem), _raw(header, cells, by_name)))
            continue
        seen = latest.get(record.order_id)
        if seen is None or record.updated_at >= seen.updated_at:
            latest[record.order_id] = record
            lines[record.order_id] = line
    return len(batch), latest, lines, quarantine


def import_orders(
    uow: SqlAlchemyUnitOfWork,
    source: str,
    header: list[Any],
    rows: Iterable[tuple[int, Any]],
    default_tz: tzinfo,
    *,
    by_name: bool = False,
    mapping: Mapping[str, Any] | None = None,
    actor: str = "import",
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[ImportReport], object] | None = None,
) -> ImportReport:
    """Import ``rows`` into the store; each batch is one transaction, so a crash leaves whole batches and
    a re-run completes the job (what is stored already is unchanged).

    A stored order is updated only when the source says it changed later than the version we hold
    (across sources too: the most recently updated wins). A row whose order number is stored for
    another customer or order date (the seed's match hash differs) is quarantined, never merged.
    """
    columns = resolve_header(header, merged_mapping(mapping), by_name=by_name)
    clean = RecordCleaner(columns, default_tz)
    report = ImportReport(source=source)
    with uow:
        report.import_id = uow.imports.start(source, actor, datetime.now(timezone.utc))
        uow.commit()
    for batch in batched(rows, batch_size):
        batch_rows, latest, lines, quarantine = _clean_batch(batch, header, by_name, clean)
        now = datetime.now(timezone.utc)
        with uow:
            stored = uow.orders.source_versions(latest)
            new, changed = [], []
            for record in latest.values():
                held = stored.get(record.order_id)
                if held is None:
                    new.append(record)
                elif held[1] and held[1] != record.match_key:
                    quarantine.append(
                        (
                            lines[record.order_id],
                            f"order number {record.order_id} is stored for another customer or order date",
                            {
                                "order_id": record.order_id,
                                "customer_id": record.customer_id,
                                "created_at": record.created_at.isoformat(),
                            },
                        )
                    )
                elif record.updated_at > held[0]:
                    changed.append(record)
            uow.orders.insert_imported(new, now)
            uow.orders.update_imported(changed, now)
            uow.imports.quarantine(report.import_id, source, quarantine)
            uow.commit()
        report.rows += batch_rows
        report.inserted += len(new)
        report.updated += len(changed)
        report.quarantined += len(quarantine)
        report.unchanged = report.rows - report.inserted - report.updated - report.quarantined
        for line, reason, _ in sorted(quarantine, key=lambda q: q[0]):
            if len(report.problems) < MAX_REPORTED_PROBLEMS:
                report.problems.append(RowProblem(row=line, reason=reason))
        if on_batch:
            on_batch(report)
    with uow:
        report_dict = report.as_dict()
        uow.imports.finish(report.import_id, report_dict, datetime.now(timezone.utc))
        uow.commit()
    return report
