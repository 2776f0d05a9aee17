"""The import's driver-level rows store exactly what SQLAlchemy's own insert stores for the same values."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, text, update

from orders.adapters.orm import orders
from orders.adapters.repositories import SqlAlchemyOrderRepository
from orders.adapters.repositories.import_rows import IMPORTED_COLUMNS, ImportedRows, write_driver_rows
from orders.domain.erp_record import OrderRecord
from orders.domain.model import OrderStatus
from tests.orders.conftest import SHANGHAI

WRITTEN = datetime(2026, 11, 4, 1, 0, tzinfo=timezone.utc)


def _record(order_id: str, **changes) -> OrderRecord:
    fields = {
        "order_id": order_id,
        "customer_id": "C-1",
        "customer_name": "李娜 Li Na",
        "amount": Decimal("1234.50"),
        "currency": "CNY",
        "created_at": datetime(2026, 11, 3, 8, 5, 9, 120, tzinfo=SHANGHAI),
        "updated_at": datetime(2026, 11, 3, 23, 59, 59, tzinfo=SHANGHAI),
        "email": "li@example.com",
        "phone": None,
        "paid_at": None,
        "due_date": date(2026, 12, 31),
        "status": OrderStatus.CONFIRMED,
    }
    return OrderRecord(**(fields | changes))


def _core_values(record: OrderRecord) -> dict:
    """The same order as SQLAlchemy's insert takes it (Python values, converted by the column types)."""
    return {
        "order_id": record.order_id,
        "customer_id": record.customer_id,
        "customer_name": record.customer_name,
        "email": record.email,
        "phone": record.phone,
        "amount": record.amount,
        "currency": record.currency,
        "status": record.status or OrderStatus.PENDING_CONFIRMATION,
        "payment_status": "paid" if record.paid_at else "unpaid",
        "created_at": record.created_at,
        "updated_at": record.updated_at,  # the ERP's last change, not the import's time
        "paid_at": record.paid_at,
        "due_date": record.due_date,
        "source_updated_at": record.updated_at,
        "match_key": record.match_key,
        "version": 1,
    }


COMPARED = (
    "SELECT order_id, amount, status, payment_status, created_at, updated_at, paid_at, due_date, "
    "source_updated_at, match_key, version FROM orders"
)


@pytest.mark.parametrize(
    "changes",
    [{}, {"paid_at": datetime(2026, 11, 5, 12, 30, 0, 5, tzinfo=SHANGHAI), "status": None, "due_date": None}],
    ids=["unpaid", "paid"],
)
def test_imported_rows_store_the_same_values_as_a_core_insert(engine, changes):
    core, bulk = _record("SO-CORE", **changes), _record("SO-BULK", **changes)
    with engine.begin() as connection:
        connection.execute(insert(orders), [_core_values(core)])
        rows = ImportedRows(connection.dialect)([bulk])
        write_driver_rows(connection, orders, IMPORTED_COLUMNS, rows)
    with engine.connect() as connection:
        # the raw stored values (text on SQLite), not what the types make of them on reading
        raw = {row[0]: row[1:-2] + row[-1:] for row in connection.execute(text(COMPARED))}
        read = {row.order_id: row for row in connection.execute(select(orders))}
    assert raw["SO-BULK"] == raw["SO-CORE"]
    assert read["SO-BULK"].created_at == datetime(2026, 11, 3, 0, 5, 9, 120, tzinfo=timezone.utc)
    assert read["SO-BULK"].amount == Decimal("1234.50")


def test_an_import_update_changes_the_erp_fields_and_the_version_only(engine):
    from sqlalchemy.orm import Session

    first = _record("SO-1")
    with Session(engine) as session:
        repository = SqlAlchemyOrderRepository(session)
        repository.insert_imported(ImportedRows(engine.dialect)([first]))
        session.commit()
        stored = session.execute(select(orders)).one()
    assert stored.updated_at == first.updated_at  # when the ERP last changed it, not the import's time
    newer = _record(
        "SO-1", amount=Decimal("99.90"), status=OrderStatus.CANCELLED, updated_at=WRITTEN.replace(day=5)
    )
    with Session(engine) as session:
        repository = SqlAlchemyOrderRepository(session)
        repository.update_imported(ImportedRows(engine.dialect)([newer]))
        session.commit()
        stored = session.execute(select(orders)).one()
        versions = repository.source_versions(["SO-1", "SO-2"])
    assert (stored.amount, stored.status, stored.version) == (Decimal("99.90"), OrderStatus.CONFIRMED, 2)
    assert (stored.updated_at, stored.source_updated_at) == (WRITTEN.replace(day=5), WRITTEN.replace(day=5))
    assert list(versions) == ["SO-1"] and versions["SO-1"][1] == newer.match_key


def test_an_import_update_keeps_a_later_change_made_here(engine):
    """An order the workflow changed after the ERP's last update keeps that time as its update time
    when an ERP update of earlier date arrives; an ERP update of later date moves it on."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        SqlAlchemyOrderRepository(session).insert_imported(ImportedRows(engine.dialect)([_record("SO-1")]))
        session.commit()
    confirmed_here = WRITTEN.replace(day=10)
    with engine.begin() as connection:  # a state change here, after the ERP's update below
        connection.execute(update(orders).values(updated_at=confirmed_here, version=orders.c.version + 1))
    erp_update = _record("SO-1", customer_name="Li Na", updated_at=WRITTEN.replace(day=8))
    with Session(engine) as session:
        SqlAlchemyOrderRepository(session).update_imported(ImportedRows(engine.dialect)([erp_update]))
        session.commit()
        stored = session.execute(select(orders)).one()
    assert (stored.customer_name, stored.source_updated_at) == ("Li Na", WRITTEN.replace(day=8))
    assert stored.updated_at == confirmed_here
    later_erp_update = _record("SO-1", customer_name="李娜", updated_at=WRITTEN.replace(day=12))
    with Session(engine) as session:
        SqlAlchemyOrderRepository(session).update_imported(ImportedRows(engine.dialect)([later_erp_update]))
        session.commit()
        stored = session.execute(select(orders)).one()
    assert stored.updated_at == stored.source_updated_at == WRITTEN.replace(day=12)


def test_imported_orders_sort_and_filter_with_orders_written_otherwise(engine):
    """Text timestamps compare as times only if every writer uses one format."""
    from sqlalchemy.orm import Session

    record = OrderRecord(
        "SO-2",
        "C-1",
        "n",
        Decimal("1"),
        "CNY",
        datetime(2026, 11, 3, 9, 0, tzinfo=SHANGHAI),
        datetime(2026, 11, 3, 9, 0, tzinfo=SHANGHAI),
        None,
        None,
        None,
        None,
        None,
    )
    with engine.begin() as connection:
        connection.execute(insert(orders), [_core_values(_record("SO-1"))])  # created 00:05:09 UTC
    with Session(engine) as session:
        SqlAlchemyOrderRepository(session).insert_imported(ImportedRows(engine.dialect)([record]))
        session.commit()
    with engine.connect() as connection:
        later = connection.execute(
            select(orders.c.order_id).where(
                orders.c.created_at > datetime(2026, 11, 3, 0, 30, tzinfo=timezone.utc)
            )
        ).scalars()
        assert list(later) == ["SO-2"]  # 09:00 Shanghai is 01:00 UTC
        ordered = connection.execute(select(orders.c.order_id).order_by(orders.c.created_at)).scalars()
        assert list(ordered) == ["SO-1", "SO-2"]
