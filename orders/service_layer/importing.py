"""Importing orders from an ERP source: clean, align, and write in batches, quarantining what is invalid."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import tzinfo
from itertools import islice
from typing import Any

from orderbot_common.text import printable

from orders.adapters.repositories import IMPORTED_COLUMNS, ImportedRows
from orders.clock import utcnow
from orders.domain.access import Role, Source
from orders.domain.erp_record import (
    InvalidRecord,
    OrderRecord,
    RecordCleaner,
    UnreadableRow,
    merged_mapping,
    resolve_header,
)
from orders.domain.model import CONFIRMED_OR_LATER
from orders.service_layer.child_process import can_fork, items_from_child
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

# Rows per transaction: a commit writes every page the batch touched (six indexes), so larger
# batches import faster; 10,000 cleaned rows stay well under the memory bound.
BATCH_SIZE = 10_000
# Rows per hand-over from the reading process to the writing one (the writer writes each at once, in
# the open transaction): small pieces keep both busy (the first piece's cleaning and the last one's
# writing do not overlap) and let the writer take over one when it would wait.
HANDOVER_ROWS = 1000
MAX_REPORTED_PROBLEMS = 100

log = logging.getLogger(__name__)


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
    # The last row of the source whose batch is stored (a row is numbered as in ``problems``: its line in
    # a CSV file, its place in a JSON one): every row up to it is stored or quarantined, none after it.
    # Written with each batch, in its transaction, so it holds after a crash too.
    stored_through_row: int = 0
    stopped: str | None = None  # why the import stopped before the end of the source

    def as_dict(self) -> dict:
        return asdict(self)

    def with_written(self, written: list[tuple[PreparedBatch, int, int, list]]) -> ImportReport:
        """This report with the batches of one more transaction counted."""
        report = replace(self, problems=list(self.problems))
        for batch, inserted, updated, quarantine in written:
            report.rows += batch.rows
            report.inserted += inserted
            report.updated += updated
            report.quarantined += len(quarantine)
            report.stored_through_row = max(report.stored_through_row, batch.last_line)
            for line, reason, _ in sorted(quarantine, key=lambda q: q[0]):
                if len(report.problems) < MAX_REPORTED_PROBLEMS:
                    report.problems.append(RowProblem(row=line, reason=reason))
        report.unchanged = report.rows - report.inserted - report.updated - report.quarantined
        return report

    def summary(self) -> str:
        return (
            f"{self.source}: {self.rows} rows, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.quarantined} quarantined"
        )


def _raw(header: list[Any], row: Any) -> dict[str, Any]:
    """The row as it came, for the quarantine table: JSON-safe, and with the characters no database
    text may hold (NUL, lone surrogates) written as escapes, so the row can be stored to be seen."""
    if isinstance(row, dict):
        items = list(row.items())
    else:
        items = [(header[i] if i < len(header) else f"column {i + 1}", v) for i, v in enumerate(row)]
    return {printable(str(k)): _storable(v) for k, v in items}


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, int | bool | type(None)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return printable(str(value))  # NaN and infinity too: PostgreSQL's JSON has no word for them


def _clean_batch(
    batch: list[tuple[int, Any]], header: list[Any], by_name: bool, clean: RecordCleaner
) -> tuple[int, dict[str, OrderRecord], dict[str, int], list[tuple[int, str, Any]]]:
    """Clean one batch: the latest record of each order number, its line, and the quarantined rows."""
    latest: dict[str, OrderRecord] = {}
    quarantine: list[tuple[int, str, Any]] = []
    lines: dict[str, int] = {}
    width = len(header)
    for line, cells in batch:
        if type(cells) is UnreadableRow:
            quarantine.append((line, cells.reason, _raw(header, cells)))
            continue
        if not by_name and len(cells) != width:  # a cut or shifted line: no cell can be trusted
            reason = f"row has {len(cells)} cells where the header has {width} (truncated or misaligned)"
            quarantine.append((line, reason, _raw(header, cells)))
            continue
        try:
            record = clean(cells)
        except InvalidRecord as problem:
            quarantine.append((line, str(problem), _raw(header, cells)))
            continue
        seen = latest.get(record.order_id)
        if seen is None or record.updated_at >= seen.updated_at:
            latest[record.order_id] = record
            lines[record.order_id] = line
    return len(batch), latest, lines, quarantine


class BytesRead:
    """How much of the source has been read, handed on batch by batch (for a progress bar; the
    reading may happen in another process)."""

    def __init__(self) -> None:
        self._count = 0

    def add(self, count: int) -> None:
        self._count += count

    def take(self) -> int:
        count, self._count = self._count, 0
        return count


@dataclass
class PreparedBatch:
    """A batch cleaned and ready to write: what crosses from the reading process to the writing one,
    so plain tuples of strings and numbers (cheap to pickle)."""

    rows: int  # rows of the source in the batch, valid or not
    last_line: int  # the row number (line, for a file) of its last row
    orders: list[tuple[int, tuple]]  # (line, row as ImportedRows makes it): latest of each order number
    quarantine: list[tuple[int, str, Any]]
    bytes_read: int


@dataclass
class RawBatch:
    """A batch read but not cleaned: handed over when the writer would otherwise wait for the
    reader, so that it cleans this one itself (both cores stay busy)."""

    rows: list[tuple[int, Any]]
    bytes_read: int


class BatchPreparer:
    """Cleans and converts one batch: everything an import does to it but write it."""

    def __init__(
        self, header: list[Any], by_name: bool, clean: RecordCleaner, make_rows: ImportedRows
    ) -> None:
        self.header, self.by_name, self.clean, self.make_rows = header, by_name, clean, make_rows

    def __call__(self, batch: list[tuple[int, Any]], bytes_read: int) -> PreparedBatch:
        batch_rows, latest, lines, quarantine = _clean_batch(batch, self.header, self.by_name, self.clean)
        records = list(latest.values())
        prepared = self.make_rows(records)
        return PreparedBatch(
            batch_rows,
            batch[-1][0],
            [(lines[r.order_id], row) for r, row in zip(records, prepared, strict=True)],
            quarantine,
            bytes_read,
        )


def _batches(
    rows: Iterable[tuple[int, Any]],
    batch_size: int,
    bytes_read: BytesRead | None,
    prepare: BatchPreparer,
    writer_idle: Callable[[], bool],
) -> Iterator[PreparedBatch | RawBatch]:
    """The source a batch at a time, prepared, or raw whenever the writer has been waiting."""
    for batch in batched(rows, batch_size):
        read = bytes_read.take() if bytes_read else 0
        yield RawBatch(batch, read) if writer_idle() else prepare(batch, read)


_ORDER_ID, _CUSTOMER_ID, _STATUS, _CREATED_AT, _SOURCE_UPDATED_AT, _MATCH_KEY = (
    IMPORTED_COLUMNS.index(name)
    for name in ("order_id", "customer_id", "status", "created_at", "source_updated_at", "match_key")
)
# The states whose orders come with an invoice, as an imported row holds them (the state's text).
_INVOICED_STATES = frozenset(state.value for state in CONFIRMED_OR_LATER)


def _write(
    uow: SqlAlchemyUnitOfWork, batch: PreparedBatch, import_id: int | None, source: str, actor: str
) -> tuple[int, int, list[tuple[int, str, Any]]]:
    """Insert the batch's new orders (with the invoices of those already confirmed or later), update
    those the source changed later than we hold them, and quarantine its invalid rows, in ``uow``'s
    transaction; returns (inserted, updated, quarantined)."""
    # Compared as text (ImportedRows writes every time in one fixed-width UTC format, and
    # source_versions reads them back in it), so they order as the times they stand for.
    stored = uow.orders.source_versions(row[_ORDER_ID] for _, row in batch.orders)
    new, changed, quarantine = [], [], batch.quarantine
    for line, row in batch.orders:
        held = stored.get(row[_ORDER_ID])
        if held is None:
            new.append(row)
        elif held[1] and held[1] != row[_MATCH_KEY]:
            quarantine.append(
                (
                    line,
                    f"order number {row[_ORDER_ID]} is stored for another customer or order date",
                    {
                        "order_id": row[_ORDER_ID],
                        "customer_id": row[_CUSTOMER_ID],
                        "created_at": str(row[_CREATED_AT]),
                    },
                )
            )
        elif row[_SOURCE_UPDATED_AT] > held[0]:
            changed.append(row)
    uow.orders.insert_imported(new)
    _issue_invoices(uow, new, actor, import_id)
    uow.orders.update_imported(changed)  # never changes a state, so never owes an invoice
    uow.imports.quarantine(import_id, source, quarantine)
    return len(new), len(changed), quarantine


def _issue_invoices(uow: SqlAlchemyUnitOfWork, new: list[tuple], actor: str, import_id: int | None) -> None:
    """Rule 5 for the ``new`` orders (rows just inserted) that arrive already confirmed or later: their
    invoices are issued with them, and audited as issued on import. Nobody is notified: an import
    announces none of the orders it stores, and a first import of history would flood finance."""
    states = {row[_ORDER_ID]: row[_STATUS] for row in new if row[_STATUS] in _INVOICED_STATES}
    if not states:  # the usual batch: every order waits for its confirmation
        return
    now = utcnow()
    issued = uow.invoices.issue_for_stored(states, now)
    uow.audit.add_many(
        [
            {
                "at": now,
                "order_id": invoice["order_id"],
                "actor": actor,
                "actor_role": Role.OPERATIONS.value,
                "source": Source.IMPORT.value,
                "action": "issue_invoice",
                "from_value": None,
                "to_value": invoice["number"],
                "reason": f"imported as {states[invoice['order_id']]}",
                "details": {
                    "order_id": invoice["order_id"],
                    "customer_id": invoice["customer_id"],
                    "invoice_number": invoice["number"],
                    "amount": str(invoice["amount"]),
                    "currency": invoice["currency"],
                    "import_id": import_id,
                },
            }
            for invoice in issued
        ]
    )


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
    bytes_read: BytesRead | None = None,
    on_bytes: Callable[[int], object] | None = None,
    clean_in_child: bool | None = None,
) -> ImportReport:
    """Import ``rows`` into the store; each batch is one transaction, so a crash leaves whole batches and
    a re-run completes the job (what is stored already is unchanged).

    A stored order is updated only when the source says it changed later than the version we hold
    (across sources too: the most recently updated wins). A row whose order number is stored for
    another customer or order date (the seed's match hash differs) is quarantined, never merged.

    ``clean_in_child``: read and clean in a forked child process while this one writes (two cores at
    work; when this one would wait, the child hands over a batch uncleaned and this one cleans it);
    None does so where forking is safe. ``bytes_read`` counts what the source reader reads;
    ``on_bytes`` gets it after each batch is written.
    """
    columns = resolve_header(header, merged_mapping(mapping), by_name=by_name)
    clean = RecordCleaner(columns, default_tz)
    make_rows = ImportedRows(uow.engine.dialect)
    report = ImportReport(source=source)
    with uow:
        report.import_id = uow.imports.start(source, actor, utcnow())
        uow.commit()

    prepare = BatchPreparer(header, by_name, clean, make_rows)

    def produce(writer_idle: Callable[[], bool] = lambda: False) -> Iterator[PreparedBatch | RawBatch]:
        return _batches(rows, min(HANDOVER_ROWS, batch_size), bytes_read, prepare, writer_idle)

    if clean_in_child is None:
        clean_in_child = can_fork()
    batches = items_from_child(produce, "orderbot import reader") if clean_in_child else produce()
    batches = iter(batches)
    try:
        while True:
            written = []  # (batch, inserted, updated, quarantined) of this transaction
            with uow:
                while sum(batch.rows for batch, *_ in written) < batch_size:
                    batch = next(batches, None)
                    if batch is None:
                        break
                    if isinstance(batch, RawBatch):
                        batch = prepare(batch.rows, batch.bytes_read)
                    written.append((batch, *_write(uow, batch, report.import_id, source, actor)))
                if not written:
                    break
                stored = report.with_written(written)
                uow.imports.progress(report.import_id, stored.as_dict())
                uow.commit()
            report = stored
            if on_bytes:
                for batch, *_ in written:
                    if batch.bytes_read:
                        on_bytes(batch.bytes_read)
            if on_batch:
                on_batch(report)
    except BaseException as problem:
        _record_stop(uow, report, problem)
        if isinstance(problem, Exception):
            raise ImportStopped(report) from problem
        raise  # an interrupt or exit stays one; the log and the import's record say what is stored
    with uow:
        uow.imports.finish(report.import_id, report.as_dict(), utcnow())
        uow.commit()
    return report


class ImportStopped(Exception):
    """An import stopped part-way; ``report`` says what is stored: every row through
    ``report.stored_through_row``, none after it. Running the same import again completes it (stored
    rows are unchanged, not duplicated). The cause is ``__cause__``."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(report.stopped)
        self.report = report

    def explanation(self) -> str:
        report, cause = self.report, self.__cause__ or self.report.stopped
        stored = (
            f"every row through row {report.stored_through_row} is stored "
            f"({report.inserted} inserted, {report.updated} updated, {report.quarantined} quarantined), "
            "none after"
            if report.stored_through_row
            else "no row is stored"
        )
        return (
            f"the import stopped part-way ({cause}): {stored}; "
            "run the same import again to complete it (stored rows are not duplicated)"
        )


def _record_stop(uow: SqlAlchemyUnitOfWork, report: ImportReport, problem: BaseException) -> None:
    """Say in the log, and in the import's record where the database still answers, what is stored."""
    cause = str(problem).splitlines()[0] if str(problem) else ""
    report.stopped = printable(f"{type(problem).__name__}: {cause}"[:500])
    stored = (
        f"every row through row {report.stored_through_row} is stored"
        if report.stored_through_row
        else "no row is stored"
    )
    log.error(
        "import %s of %s stopped (%s): %s, none after; run the same import again to complete it",
        report.import_id,
        report.source,
        report.stopped,
        stored,
    )
    try:
        with uow:
            uow.imports.progress(report.import_id, report.as_dict())
            uow.commit()
    except Exception:  # the database itself may be what failed; the log line above says it all
        log.warning("could not record the stop of import %s", report.import_id, exc_info=True)
