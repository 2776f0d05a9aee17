"""Orders: the aggregate's repository (through the ORM session) and the bulk writes of an import."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, true, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from orders.adapters.orm import (
    orders,
)
from orders.adapters.repositories.import_rows import (
    IMPORTED_COLUMNS,
    UPDATED_BY_IMPORT,
    copies,
    marker,
    stored_utc_text,
    write_driver_rows,
)
from orders.domain.model import Order, OrderStatus, PaymentStatus

# source_versions on PostgreSQL: the order numbers as one array parameter, and one primary-key probe
# for each (OFFSET 0 keeps the planner from turning the probes into a join). An IN list or "= ANY"
# leaves the plan to the table's statistics, and a table that this very import is filling has none
# yet: the planner then scans the whole table for every batch.
_SOURCE_VERSIONS_BY_PROBE = (
    "SELECT stored.order_id, stored.source_updated_at, stored.match_key "
    "FROM unnest(%s::text[]) AS wanted(order_id) CROSS JOIN LATERAL ("
    "SELECT order_id, source_updated_at, match_key FROM orders WHERE order_id = wanted.order_id OFFSET 0"
    ") AS stored"
)

SORTABLE = {"created_at": orders.c.created_at, "updated_at": orders.c.updated_at, "paid_at": orders.c.paid_at}


@dataclass(frozen=True)
class OrderQuery:
    status: OrderStatus | None = None
    customer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = None
    sort: str = "created_at"
    descending: bool = True
    page: int = 1
    page_size: int = 20


class SqlAlchemyOrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, order_id: str) -> Order | None:
        return self.session.get(Order, order_id)

    def add(self, order: Order) -> None:
        self.session.add(order)

    def list(self, query: OrderQuery) -> tuple[list[Order], int]:
        """One page of orders matching ``query`` (rule 2: sorted by created, updated or paid date)."""
        conditions = []
        if query.status is not None:
            conditions.append(orders.c.status == query.status)
        if query.customer_id is not None:
            conditions.append(orders.c.customer_id == query.customer_id)
        if query.created_from is not None:
            conditions.append(orders.c.created_at >= query.created_from)
        if query.created_to is not None:
            conditions.append(orders.c.created_at < query.created_to)
        if query.search:
            pattern = "%" + query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(
                or_(
                    orders.c.order_id.ilike(pattern, escape="\\"),
                    orders.c.customer_name.ilike(pattern, escape="\\"),
                )
            )
        where = and_(true(), *conditions)
        total = self.session.execute(select(func.count()).select_from(orders).where(where)).scalar_one()
        column = SORTABLE[query.sort]
        ordering = column.desc() if query.descending else column.asc()
        # NULL paid dates last whichever the direction; order_id breaks ties so pages are stable.
        statement = (
            select(Order)
            .where(where)
            .order_by(column.is_(None), ordering, orders.c.order_id)
            .limit(query.page_size)
            .offset((query.page - 1) * query.page_size)
        )
        return list(self.session.scalars(statement)), total

    def due_for_settlement(self, day: date) -> list[str]:
        return list(
            self.session.scalars(
                select(orders.c.order_id)
                .where(
                    orders.c.status == OrderStatus.SHIPPED,
                    orders.c.payment_status == PaymentStatus.UNPAID,
                    orders.c.due_date <= day,
                )
                .order_by(orders.c.order_id)
            )
        )

    def count(self) -> int:
        return self.session.execute(select(func.count()).select_from(orders)).scalar_one()

    # --- bulk import ----------------------------------------------------------------------------

    def source_versions(self, order_ids: Iterable[str]) -> dict[str, tuple[Any, str]]:
        """(ERP update time as the driver returns it, match key) of each stored order among
        ``order_ids``: comparable with the rows ``ImportedRows`` makes (text where they are text)."""
        ids = list(order_ids)
        if not ids:
            return {}
        connection = self.session.connection()
        if copies(connection.dialect):
            rows = connection.exec_driver_sql(_SOURCE_VERSIONS_BY_PROBE, (ids,))
            return {order_id: (stored_utc_text(updated), key) for order_id, updated, key in rows}
        raw_updated = type_coerce(orders.c.source_updated_at, NullType())  # no result processing
        rows = self.session.execute(
            select(orders.c.order_id, raw_updated, orders.c.match_key).where(orders.c.order_id.in_(ids))
        )
        return {order_id: (updated, key) for order_id, updated, key in rows}

    def insert_imported(self, rows: Sequence[tuple]) -> None:
        """Insert new orders: ``rows`` as ``ImportedRows`` makes them."""
        if rows:
            write_driver_rows(self.session.connection(), orders, IMPORTED_COLUMNS, rows)

    def update_imported(self, rows: Sequence[tuple]) -> None:
        """Overwrite the imported fields of stored orders (never their workflow state or shipment):
        ``rows`` as ``ImportedRows`` makes them; each order's version goes up by one. Its
        ``updated_at`` becomes the ERP's update time, unless the order changed here later than that
        (a state change after the ERP's last update): the time it last changed, either way."""
        if not rows:
            return
        connection = self.session.connection()
        if copies(connection.dialect):
            _update_through_copy(connection, rows)
            return
        quote = connection.dialect.identifier_preparer.quote
        placeholder = marker(connection.dialect)
        assignments = ", ".join(f"{quote(name)} = {placeholder}" for name in UPDATED_BY_IMPORT)
        # SQLite's two-argument max() is the others' greatest(); on SQLite both are fixed-width UTC text
        # (see ImportedRows), which orders as the times do.
        later = "max" if connection.dialect.name == "sqlite" else "greatest"
        updated = quote("updated_at")
        statement = (
            f"UPDATE {connection.dialect.identifier_preparer.format_table(orders)} SET {assignments}, "
            f"{updated} = {later}({updated}, {placeholder}), "
            f"{quote('version')} = {quote('version')} + 1 WHERE {quote('order_id')} = {placeholder}"
        )
        at = [IMPORTED_COLUMNS.index(name) for name in (*UPDATED_BY_IMPORT, "updated_at", "order_id")]
        connection.exec_driver_sql(statement, [tuple(row[i] for i in at) for row in rows])


# Where update_imported COPYs the changed orders on PostgreSQL: dropped when the transaction commits.
_CHANGED_ORDERS = "import_changed_orders"


def _update_through_copy(connection, rows: Sequence[tuple]) -> None:
    """``update_imported`` on PostgreSQL: the rows COPYed into a temporary table, then one UPDATE from
    it, where an executemany would cost a round trip for every order."""
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_CHANGED_ORDERS} ON COMMIT DROP AS "
        f"SELECT {', '.join(IMPORTED_COLUMNS)} FROM orders WITH NO DATA"
    )
    connection.exec_driver_sql(f"TRUNCATE {_CHANGED_ORDERS}")  # rows of an earlier batch this transaction
    write_driver_rows(connection, _CHANGED_ORDERS, IMPORTED_COLUMNS, rows)
    assignments = ", ".join(f"{name} = changed.{name}" for name in UPDATED_BY_IMPORT)
    connection.exec_driver_sql(
        f"UPDATE orders SET {assignments}, updated_at = greatest(orders.updated_at, changed.updated_at), "
        "version = orders.version + 1 "
        f"FROM {_CHANGED_ORDERS} AS changed WHERE orders.order_id = changed.order_id"
    )
