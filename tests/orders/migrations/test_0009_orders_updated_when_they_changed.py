"""Revision 0009: an order's updated_at becomes when it last changed, not when an import wrote it."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, update

from orders.adapters import database
from orders.adapters.carriers_file import load_carriers
from orders.adapters.orm import orders
from orders.config import PROJECT_ROOT
from orders.domain.access import Actor, Role, Source
from orders.domain.model import Action
from orders.service_layer import services
from orders.service_layer.setup import import_from
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import HEADER, SHANGHAI, order_row, write_csv

IMPORTED_AT = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


def test_the_upgrade_sets_updated_at_to_the_last_change(database_url, tmp_path):
    database.upgrade(database_url, "0008")
    engine = database.make_engine(database_url)
    try:
        rows = [order_row(f"SO-{5000 + i}") for i in range(2)]
        import_from(engine, write_csv(tmp_path / "old.csv", HEADER, rows), SHANGHAI)
        # A change made here, after the ERP's last update of the order.
        changed = services.change_order(
            SqlAlchemyUnitOfWork(engine),
            "SO-5001",
            services.Change(Action.CONFIRM),
            Actor("mei", Role.OPERATIONS, Source.REST),
            load_carriers(PROJECT_ROOT / "config" / "carriers.yml"),
        ).updated_at
        with engine.begin() as connection:  # as imports wrote it before: the time of the import
            connection.execute(update(orders).values(updated_at=IMPORTED_AT))
            erp_time = connection.execute(
                select(orders.c.source_updated_at).where(orders.c.order_id == "SO-5000")
            ).scalar_one()

        database.upgrade(database_url)

        with engine.connect() as connection:
            updated = dict(connection.execute(select(orders.c.order_id, orders.c.updated_at)).all())
        assert updated["SO-5000"] == erp_time  # untouched here: the ERP's own update time
        assert updated["SO-5001"] == changed  # confirmed here later: that change
    finally:
        engine.dispose()
