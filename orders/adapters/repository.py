"""Repositories: the order service's only way to read and write what it stores."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Date, Table, and_, func, insert, or_, select, true, type_coerce, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from orders.adapters.orm import (
    Money,
    UTCDateTime,
    audit_log,
    conversation_events,
    handoffs,
    idempotency_keys,
    import_quarantine,
    imports,
    invoices,
    orders,
    outbox,
    settlement_runs,
    settlements,
    staff_links,
    users,
)
from orders.domain.conversation_turns import TurnEvent
from orders.domain.erp_record import OrderRecord
from orders.domain.model import Order, OrderStatus, PaymentStatus, initial_status, payment_status_for
from orders.domain.notifications import Notification

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
        ``order_ids``: comparable with the rows ``ImportedRows`` makes without converting either."""
        ids = list(order_ids)
        if not ids:
            return {}
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
        ``rows`` as ``ImportedRows`` makes them; each order's version goes up by one."""
        if not rows:
            return
        connection = self.session.connection()
        quote = connection.dialect.identifier_preparer.quote
        marker = _marker(connection.dialect)
        assignments = ", ".join(f"{quote(name)} = {marker}" for name in _UPDATED_BY_IMPORT)
        statement = (
            f"UPDATE {connection.dialect.identifier_preparer.format_table(orders)} SET {assignments}, "
            f"{quote('version')} = {quote('version')} + 1 WHERE {quote('order_id')} = {marker}"
        )
        at = [IMPORTED_COLUMNS.index(name) for name in (*_UPDATED_BY_IMPORT, "order_id")]
        connection.exec_driver_sql(statement, [tuple(row[i] for i in at) for row in rows])


# What an import overwrites in a stored order: its ERP fields, and when it (and the ERP) changed it.
_UPDATED_BY_IMPORT = (*IMPORTED_FIELDS, "payment_status", "source_updated_at", "updated_at")


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
    markers = ", ".join([_marker(dialect)] * len(names))
    connection.exec_driver_sql(f"INSERT INTO {target} ({columns}) VALUES ({markers})", list(rows))


def _marker(dialect) -> str:
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


def _row(row) -> dict[str, Any]:
    return dict(row._mapping)


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, **entry: Any) -> None:
        self.session.execute(insert(audit_log).values(**entry))

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(audit_log).where(audit_log.c.order_id == order_id).order_by(audit_log.c.id)
        )
        return [_row(r) for r in rows]

    def recent(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(audit_log).where(audit_log.c.id > after_id).order_by(audit_log.c.id).limit(limit)
        )
        return [_row(r) for r in rows]


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, notification: Notification, now: datetime) -> None:
        self.session.execute(
            insert(outbox).values(
                created_at=now,
                recipient_role=notification.recipient.value,
                customer_id=notification.customer_id,
                order_id=notification.order_id,
                event_type=notification.event_type,
                message_en=notification.message["en"],
                message_zh=notification.message["zh"],
                data=notification.data,
            )
        )

    def after(
        self, after_id: int, limit: int, roles: Sequence[str] | None = None, customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Notifications with id > ``after_id``, oldest first; ``roles`` None means every role."""
        statement = select(outbox).where(outbox.c.id > after_id)
        if roles is not None:
            statement = statement.where(outbox.c.recipient_role.in_(list(roles)))
        if customer_id is not None:
            statement = statement.where(outbox.c.customer_id == customer_id)
        rows = self.session.execute(statement.order_by(outbox.c.id).limit(limit))
        return [_row(r) for r in rows]


class InvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def issue(self, order: Order, now: datetime) -> str:
        """Store the invoice of ``order`` and return its number, INV-<year>-<sequence>."""
        placeholder = uuid.uuid4().hex[:32]
        invoice_id = self.session.execute(
            insert(invoices)
            .values(
                number=placeholder,
                order_id=order.order_id,
                customer_id=order.customer_id,
                customer_name=order.customer_name,
                amount=order.amount,
                currency=order.currency,
                issued_at=now,
            )
            .returning(invoices.c.id)
        ).scalar_one()
        number = f"INV-{now.year}-{invoice_id:06d}"
        self.session.execute(update(invoices).where(invoices.c.id == invoice_id).values(number=number))
        return number

    def for_order(self, order_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(invoices).where(invoices.c.order_id == order_id)).first()
        return _row(row) if row else None


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
        return [_row(r) for r in rows]


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, username: str) -> dict[str, Any] | None:
        row = self.session.execute(select(users).where(users.c.username == username)).first()
        return _row(row) if row else None

    def add(self, **user: Any) -> None:
        self.session.execute(insert(users).values(**user))

    def list(self) -> list[dict[str, Any]]:
        return [_row(r) for r in self.session.execute(select(users).order_by(users.c.username))]

    def link(self, platform: str, platform_user_id: str, username: str) -> None:
        self.session.execute(
            staff_links.delete().where(
                staff_links.c.platform == platform, staff_links.c.platform_user_id == platform_user_id
            )
        )
        self.session.execute(
            insert(staff_links).values(
                platform=platform, platform_user_id=platform_user_id, username=username
            )
        )

    def by_platform_id(self, platform: str, platform_user_id: str) -> dict[str, Any] | None:
        row = self.session.execute(
            select(users)
            .join(staff_links, staff_links.c.username == users.c.username)
            .where(staff_links.c.platform == platform, staff_links.c.platform_user_id == platform_user_id)
        ).first()
        return _row(row) if row else None


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
        return [_row(r) for r in self.session.execute(statement)]


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, principal: str, key: str) -> dict[str, Any] | None:
        row = self.session.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
            )
        ).first()
        return _row(row) if row else None

    def add(self, **entry: Any) -> None:
        self.session.execute(insert(idempotency_keys).values(**entry))


class HandoffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, **ticket: Any) -> int:
        return self.session.execute(
            insert(handoffs).values(status="open", **ticket).returning(handoffs.c.id)
        ).scalar_one()

    def get(self, ticket_id: int) -> dict[str, Any] | None:
        row = self.session.execute(select(handoffs).where(handoffs.c.id == ticket_id)).first()
        return _row(row) if row else None

    def open_for(self, conversation_id: str, customer_id: str | None) -> int | None:
        """The open ticket of a conversation for this customer (or for no customer), if any."""
        same_customer = (
            handoffs.c.customer_id.is_(None) if customer_id is None else handoffs.c.customer_id == customer_id
        )
        return self.session.execute(
            select(handoffs.c.id)
            .where(handoffs.c.conversation_id == conversation_id, handoffs.c.status == "open", same_customer)
            .order_by(handoffs.c.id)
            .limit(1)
        ).scalar()

    def close(self, ticket_id: int, by: str, now: datetime) -> bool:
        result = self.session.execute(
            update(handoffs)
            .where(handoffs.c.id == ticket_id, handoffs.c.status == "open")
            .values(status="closed", closed_at=now, closed_by=by)
        )
        return result.rowcount == 1

    def list(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        statement = select(handoffs).order_by(handoffs.c.id.desc()).limit(limit)
        if status:
            statement = statement.where(handoffs.c.status == status)
        return [_row(r) for r in self.session.execute(statement)]


class ConversationEventRepository:
    """Rasa's conversation events (analytics): stored once each, read back by time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, events: Sequence[TurnEvent]) -> int:
        """Store ``events``, skipping any stored already (a redelivery); returns how many were new."""
        if not events:
            return 0
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(conversation_events).on_conflict_do_nothing(index_elements=["key"])
        rows = [
            {
                "key": e.key,
                "conversation_id": e.conversation_id,
                "at": e.at,
                "kind": e.kind,
                "intent": e.intent,
                "confidence": e.confidence,
                "action": e.action,
                "channel": e.channel,
            }
            for e in events
        ]
        stored = self.session.execute(statement.returning(conversation_events.c.id), rows)
        return len(stored.all())

    def between(self, start: float, end: float) -> list[TurnEvent]:
        rows = self.session.execute(
            select(conversation_events)
            .where(conversation_events.c.at >= start, conversation_events.c.at < end)
            .order_by(conversation_events.c.at, conversation_events.c.id)
        )
        return [
            TurnEvent(r.key, r.conversation_id, r.at, r.kind, r.intent, r.confidence, r.action, r.channel)
            for r in rows
        ]
