"""The ERP import's rows as the database driver takes them, and writing them in bulk."""

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

# What an import overwrites in a stored order: its ERP fields, and when it (and the ERP) changed it.
UPDATED_BY_IMPORT = (*IMPORTED_FIELDS, "payment_status", "source_updated_at", "updated_at")


class ImportedRows:
    """Turns cleaned records into rows of ``IMPORTED_COLUMNS`` as the driver takes them.

    Each column's value is converted once by that column type's own bind processor (the same values
    reach the database as through SQLAlchemy), without SQLAlchemy's per-parameter work: an import of
    100,000 rows spent most of its time there. What is the same for every row of a batch (its write
    time, the version, the states) is converted once. Needs only the dialect, not a connection, so
    the rows can be made in another process than the one that writes them.
    """

    def __init__(self, dialect) -> None:
        def converter(name: str) -> Callable[[Any], Any]:
            return _bind_converter(orders.c[name], dialect) or _unchanged

        self._amount, self._time, self._day = (
            converter("amount"),
            converter("created_at"),
            converter("due_date"),
        )
        self._now = converter("updated_at")
        self._version = converter("version")(1)
        to_status, to_payment = converter("status"), converter("payment_status")
        self._status = {state: to_status(initial_status(state)) for state in (None, *OrderStatus)}
        self._payment = {paid: to_payment(payment_status_for(paid)) for paid in (None, _A_PAYMENT_TIME)}

    def __call__(self, records: Iterable[OrderRecord], now: datetime) -> list[tuple]:
        amount, time, day = self._amount, self._time, self._day  # every timestamp column is UTCDateTime
        statuses, unpaid, paid = self._status, self._payment[None], self._payment[_A_PAYMENT_TIME]
        written, version = self._now(now), self._version
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
                written,
                None if r.paid_at is None else time(r.paid_at),
                None if r.due_date is None else day(r.due_date),
                time(r.updated_at),
                r.match_key,
                version,
            )
            for r in records
        ]


_A_PAYMENT_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)  # any: only paid or not matters


def _unchanged(value: Any) -> Any:
    return value


def write_driver_rows(
    connection: Connection, table: Table, names: Sequence[str], rows: Sequence[tuple]
) -> None:
    """Insert ``rows`` (driver-level values of the columns ``names``) straight through the driver,
    in the connection's transaction, with a statement built once."""
    dialect = connection.dialect
    columns = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.driver == "psycopg2":
        from psycopg2.extras import execute_values

        with connection.connection.cursor() as cursor:  # the same transaction
            execute_values(cursor, f"INSERT INTO {target} ({columns}) VALUES %s", rows, page_size=1000)
        return
    markers = ", ".join([marker(dialect)] * len(names))
    connection.exec_driver_sql(f"INSERT INTO {target} ({columns}) VALUES ({markers})", list(rows))


def marker(dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _bind_converter(column: Column, dialect) -> Any:
    """What a column's type does to a Python value on its way to ``dialect``'s driver."""
    if isinstance(column.type, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_utc_text  # the text SQLAlchemy's SQLite DATETIME writes, built in C
    if isinstance(column.type, Date) and dialect.name == "sqlite":
        return date.isoformat  # SQLite DATE's "%(year)04d-%(month)02d-%(day)02d", built in C
    if isinstance(column.type, Money):
        return Money.cents  # the same, without TypeDecorator's wrapper call
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _sqlite_utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a timezone-aware column")
    # "YYYY-MM-DD HH:MM:SS.ffffff", without the "+00:00" of an aware value
    return value.astimezone(timezone.utc).isoformat(" ", "microseconds")[:26]
