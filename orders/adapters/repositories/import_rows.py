"""The ERP import's rows as the database driver takes them, and writing them in bulk: PostgreSQL's COPY
through psycopg2, an executemany elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Column, Date, Table
from sqlalchemy.engine import Connection

from orders.adapters.orm import (
    Money,
    UTCDateTime,
    orders,
)
from orders.domain.erp_record import OrderRecord
from orders.domain.model import OrderStatus, initial_status, payment_status_for

# Fields an import may overwrite; the workflow state and shipment are never among them.
# The columns an import writes for a new order, in the order insert_imported lists them.
IMPORTED_COLUMNS = (
    "order_id",
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "amount",
    "currency",
    "status",
    "payment_status",
    "created_at",
    "updated_at",
    "paid_at",
    "due_date",
    "source_updated_at",
    "match_key",
    "version",
)
IMPORTED_FIELDS = (
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "amount",
    "currency",
    "paid_at",
    "due_date",
)

# What an import overwrites in a stored order: its ERP fields and the ERP's own update time. Its
# ``updated_at`` (when the order last changed) becomes the ERP's update time unless the order changed
# here later (``update_imported`` keeps the later of the two); the import's own time is never either.
UPDATED_BY_IMPORT = (*IMPORTED_FIELDS, "payment_status", "source_updated_at")


class ImportedRows:
    """Turns cleaned records into rows of ``IMPORTED_COLUMNS`` as the driver takes them.

    Each column's value is converted once by that column type's own bind processor (the same values
    reach the database as through SQLAlchemy), without SQLAlchemy's per-parameter work: an import of
    100,000 rows spent most of its time there. What is the same for every row of a batch (its write
    time, the version, the states) is converted once. Needs only the dialect, not a connection, so
    the rows can be made in another process than the one that writes them.

    A new order's ``updated_at`` is the ERP's own update time (when the order last changed), as its
    ``source_updated_at`` is: not the time of the import, which would say every imported order changed
    when it was imported.

    Timestamps become fixed-width UTC text and dates ISO text where the writer takes text: on SQLite
    (what SQLAlchemy stores there) and where it COPYs (what COPY reads). Made here, they are made in
    the reading process, off the writer's core; fixed-width, they order as the times they stand for,
    and ``source_versions`` returns the stored ones in the same form.
    """

    def __init__(self, dialect) -> None:
        def converter(name: str) -> Callable[[Any], Any]:
            return _bind_converter(orders.c[name], dialect) or _unchanged

        self._amount, self._time, self._day = (
            converter("amount"),
            converter("created_at"),
            converter("due_date"),
        )
        self._version = converter("version")(1)
        to_status, to_payment = converter("status"), converter("payment_status")
        self._status = {state: to_status(initial_status(state)) for state in (None, *OrderStatus)}
        self._payment = {paid: to_payment(payment_status_for(paid)) for paid in (None, _A_PAYMENT_TIME)}

    def __call__(self, records: Iterable[OrderRecord]) -> list[tuple]:
        amount, time, day = self._amount, self._time, self._day  # every timestamp column is UTCDateTime
        statuses, unpaid, paid = self._status, self._payment[None], self._payment[_A_PAYMENT_TIME]
        version = self._version
        return [
            (
                r.order_id,
                r.customer_id,
                r.customer_name,
                r.email,
                r.phone,
                amount(r.amount),
                r.currency,
                statuses[r.status],
                unpaid if r.paid_at is None else paid,
                time(r.created_at),
                updated := time(r.updated_at),  # updated_at: the ERP's last change of the order
                None if r.paid_at is None else time(r.paid_at),
                None if r.due_date is None else day(r.due_date),
                updated,  # source_updated_at
                r.match_key,
                version,
            )
            for r in records
        ]


_A_PAYMENT_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)  # any: only paid or not matters


def _unchanged(value: Any) -> Any:
    return value


def copies(dialect) -> bool:
    """Whether an import writes its rows with COPY (PostgreSQL through psycopg2): the database's own
    bulk path, which skips parsing and planning an INSERT for every thousand rows."""
    return dialect.driver == "psycopg2"


def write_driver_rows(
    connection: Connection, table: Table | str, names: Sequence[str], rows: Sequence[tuple]
) -> None:
    """Insert ``rows`` (driver-level values of the columns ``names``) straight through the driver,
    in the connection's transaction: with COPY where ``copies``, else one executemany of a statement
    built once. ``table`` by name is a temporary table's."""
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    target = preparer.quote(table) if isinstance(table, str) else preparer.format_table(table)
    if copies(dialect):
        with connection.connection.cursor() as cursor:  # the same transaction
            cursor.copy_expert(f"COPY {target} ({columns}) FROM STDIN", CopyText(rows))
        return
    markers = ", ".join([marker(dialect)] * len(names))
    connection.exec_driver_sql(f"INSERT INTO {target} ({columns}) VALUES ({markers})", list(rows))


def marker(dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


# COPY's text format: a tab between columns, a newline after each row, \N for NULL, and a backslash
# escape for the characters that would otherwise be read as a delimiter or an escape.
COPY_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value: Any) -> str:
    """One driver-level value as COPY's text format writes it."""
    kind = type(value)
    if kind is str:
        # isprintable() is False for tab, newline and carriage return (and for other characters,
        # which translate() leaves as they are): a cheap test that almost every value passes
        if value.isprintable() and "\\" not in value:
            return value
        if "\x00" in value:  # no PostgreSQL text holds it: refused here, as psycopg2 refuses it in SQL
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return value.translate(_COPY_ESCAPES)
    if value is None:
        return COPY_NULL
    if kind is int:
        return str(value)
    if kind is datetime:
        if value.tzinfo is not None:  # a timestamp column would drop the offset, not apply it
            raise ValueError("an aware datetime given to COPY: driver-level timestamps are naive UTC")
        return value.isoformat(" ")  # ISO 8601, read the same whatever the server's DateStyle
    if kind is date:
        return value.isoformat()
    raise TypeError(f"no COPY text for a {kind.__name__}")


def copy_lines(rows: Iterable[tuple]) -> str:
    """``rows`` in COPY's text format, a line each."""
    # copy_field's test for text that needs no escape inline: most values are such text, and a call
    # for each costs more than all the rest
    return "".join(
        [
            "\t".join(
                [v if type(v) is str and v.isprintable() and "\\" not in v else copy_field(v) for v in row]
            )
            + "\n"
            for row in rows
        ]
    )


class CopyText:
    """``rows`` as the file ``COPY ... FROM STDIN`` reads (psycopg2 calls ``read`` until it returns
    ""), encoded a slice of rows at a time: the text in memory is one slice's, whatever the rows."""

    ROWS_PER_READ = 1000

    def __init__(self, rows: Sequence[tuple]) -> None:
        self._rows, self._next = rows, 0

    def read(self, size: int = -1) -> str:  # psycopg2 sends a read of any length: ``size`` is a hint
        rows = self._rows[self._next : self._next + self.ROWS_PER_READ]
        self._next += len(rows)
        return copy_lines(rows)


def _bind_converter(column: Column, dialect) -> Any:
    """What a column's type does to a Python value on its way to ``dialect``'s driver (as text
    where the driver takes text: see ``ImportedRows``)."""
    takes_text = dialect.name == "sqlite" or copies(dialect)
    if isinstance(column.type, UTCDateTime) and takes_text:
        return utc_text  # what SQLAlchemy's SQLite DATETIME writes, and COPY reads for a timestamp
    if isinstance(column.type, Date) and takes_text:
        return date.isoformat  # SQLite DATE's "%(year)04d-%(month)02d-%(day)02d", built in C
    if isinstance(column.type, Money):
        return Money.cents  # the same, without TypeDecorator's wrapper call
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def utc_text(value: datetime | None) -> str | None:
    """An aware time as fixed-width UTC text, "YYYY-MM-DD HH:MM:SS.ffffff"."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a timezone-aware column")
    utc = value.astimezone(timezone.utc)
    # made naive first: an aware time's isoformat spends as long again on the "+00:00" it would append
    return stored_utc_text(datetime.combine(utc, utc.time()))


def stored_utc_text(value: datetime) -> str:
    """A naive UTC time (as PostgreSQL's driver returns a timestamp) in ``utc_text``'s form."""
    return value.isoformat(" ", "microseconds")
