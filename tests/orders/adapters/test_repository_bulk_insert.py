"""The import's bulk insert writes exactly what SQLAlchemy's own insert writes for the same values."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import insert, select, text

from orders.adapters.orm import orders
from orders.adapters.repository import IMPORTED_COLUMNS, SqlAlchemyOrderRepository, bulk_insert
from orders.domain.erp_record import OrderRecord
from orders.domain.model import OrderStatus
from tests.orders.conftest import SHANGHAI


def _values(order_id: str) -> dict:
    return {
        "order_id": order_id,
        "customer_id": "C-1",
        "customer_name": "李娜 Li Na",
        "email": "li@example.com",
        "phone": None,
        "amount": Decimal("1234.50"),
        "currency": "CNY",
        "status": OrderStatus.CONFIRMED,
        "payment_status": "unpaid",
        "created_at": datetime(2026, 11, 3, 8, 5, 9, 120, tzinfo=SHANGHAI),
        "updated_at": datetime(2026, 11, 4, 1, 0, tzinfo=timezone.utc),
        "paid_at": None,
        "due_date": date(2026, 12, 31),
        "source_updated_at": datetime(2026, 11, 3, 23, 59, 59, tzinfo=SHANGHAI),
        "match_key": "0" * 40,
        "version": 1,
    }


def test_bulk_insert_stores_the_same_values_as_a_core_insert(engine):
    with engine.begin() as connection:
        connection.execute(insert(orders), [_values("SO-CORE")])
        bulk_insert(connection, orders, IMPORTED_COLUMNS, [list(_values("SO-BULK").values())])
    with engine.connect() as connection:
        # the raw stored values (text on SQLite), not what the types make of them on reading
        raw = {
            row[0]: row[1:]
            for row in connection.execute(
                text(
                    "SELECT order_id, amount, status, created_at, updated_at, due_date, source_updated_at "
                    "FROM orders"
                )
            )
        }
        read = {row.order_id: row for row in connection.execute(select(orders))}
    assert raw["SO-BULK"] == raw["SO-CORE"]
    assert read["SO-BULK"].created_at == datetime(2026, 11, 3, 0, 5, 9, 120, tzinfo=timezone.utc)
    assert read["SO-BULK"].amount == Decimal("1234.50")


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
        connection.execute(insert(orders), [_values("SO-1")])  # created 00:05:09 UTC
    with Session(engine) as session:
        SqlAlchemyOrderRepository(session).insert_imported([record], datetime.now(timezone.utc))
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
