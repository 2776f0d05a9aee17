from decimal import Decimal

import pytest
from sqlalchemy import func, select

from orders.adapters.orm import orders
from orders.domain.erp_record import UnknownColumns
from orders.domain.model import OrderStatus, PaymentStatus
from orders.service_layer.bootstrap import import_csv_file, prepare_database
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import HEADER, SHANGHAI, order_row, write_csv


def stored(engine, order_id):
    with SqlAlchemyUnitOfWork(engine) as uow:
        order = uow.orders.get(order_id)
        uow.session.expunge(order)  # keep its loaded state readable after the transaction
        return order


def count_orders(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(orders)).scalar_one()


def test_import_inserts_new_orders(engine, tmp_path):
    path = write_csv(tmp_path / "a.csv", HEADER, [order_row("SO-2001", "1,280.5"), order_row("SO-2002")])
    report = import_csv_file(engine, path, SHANGHAI)
    assert (report.rows, report.inserted, report.updated, report.unchanged, report.invalid) == (2, 2, 0, 0, 0)
    order = stored(engine, "SO-2001")
    assert order.amount == Decimal("1280.50")
    assert order.status is OrderStatus.PENDING_CONFIRMATION
    assert order.payment_status is PaymentStatus.UNPAID
    assert order.customer_name == "张三"
    assert order.created_at.utcoffset() is not None


def test_importing_the_same_file_twice_changes_nothing(engine, tmp_path):
    path = write_csv(tmp_path / "a.csv", HEADER, [order_row("SO-2001"), order_row("SO-2002")])
    import_csv_file(engine, path, SHANGHAI)
    before = stored(engine, "SO-2001")
    report = import_csv_file(engine, path, SHANGHAI)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 2)
    after = stored(engine, "SO-2001")
    assert (after.version, after.updated_at) == (before.version, before.updated_at)


def test_a_newer_export_updates_the_order_but_never_its_workflow_state(engine, tmp_path):
    first = write_csv(tmp_path / "a.csv", HEADER + ["status"], [order_row("SO-2001") + ["confirmed"]])
    import_csv_file(engine, first, SHANGHAI)
    newer = write_csv(
        tmp_path / "b.csv",
        HEADER + ["status"],
        [order_row("SO-2001", amount="99.90", updated="2026-11-21 08:00:00") + ["cancelled"]],
    )
    report = import_csv_file(engine, newer, SHANGHAI)
    assert report.updated == 1
    order = stored(engine, "SO-2001")
    assert order.amount == Decimal("99.90")
    assert order.status is OrderStatus.CONFIRMED
    assert order.version == 2


def test_an_older_export_does_not_overwrite_a_newer_one(engine, tmp_path):
    import_csv_file(
        engine, write_csv(tmp_path / "new.csv", HEADER, [order_row(updated="2026-11-22 10:00")]), SHANGHAI
    )
    old = write_csv(tmp_path / "old.csv", HEADER, [order_row(amount="1.00", updated="2026-11-20 10:00")])
    report = import_csv_file(engine, old, SHANGHAI)
    assert (report.updated, report.unchanged) == (0, 1)
    assert stored(engine, "SO-2001").amount == Decimal("100.00")


def test_duplicate_rows_in_one_file_keep_the_latest(engine, tmp_path):
    rows = [
        order_row("SO-2001", amount="1.00", updated="2026-11-20 10:00"),
        order_row("SO-2001", amount="3.00", updated="2026-11-22 10:00"),
        order_row("SO-2001", amount="2.00", updated="2026-11-21 10:00"),
    ]
    report = import_csv_file(engine, write_csv(tmp_path / "d.csv", HEADER, rows), SHANGHAI, batch_size=2)
    assert stored(engine, "SO-2001").amount == Decimal("3.00")
    assert report.rows == 3 and report.inserted == 1 and report.invalid == 0
    assert report.inserted + report.updated + report.unchanged == 3


def test_invalid_rows_are_counted_with_their_line_and_reason(engine, tmp_path):
    rows = [order_row("SO-2001"), order_row("SO-2002", amount="lots"), order_row("SO-2003")[:4]]
    report = import_csv_file(engine, write_csv(tmp_path / "bad.csv", HEADER, rows), SHANGHAI)
    assert (report.inserted, report.invalid) == (1, 2)
    assert [(p.row, p.reason.split(" ")[0]) for p in report.problems] == [(3, "amount"), (4, "amount")]
    assert count_orders(engine) == 1


def test_a_file_without_a_required_column_imports_nothing(engine, tmp_path):
    path = write_csv(tmp_path / "h.csv", ["order_id", "customer_name"], [["SO-1", "x"]])
    with pytest.raises(UnknownColumns):
        import_csv_file(engine, path, SHANGHAI)
    assert count_orders(engine) == 0


def test_batches_are_committed_one_by_one(engine, tmp_path):
    rows = [order_row(f"SO-{3000 + i}") for i in range(25)]
    reports = []
    import_csv_file(
        engine,
        write_csv(tmp_path / "m.csv", HEADER, rows),
        SHANGHAI,
        batch_size=10,
        on_batch=lambda r: reports.append((r.rows, count_orders(engine))),
    )
    assert reports == [(10, 10), (20, 20), (25, 25)]


def test_the_sample_is_loaded_on_first_start_only(database_url, tmp_path):
    from orders.adapters.database import make_engine
    from orders.config import PROJECT_ROOT

    engine = make_engine(database_url)
    sample = PROJECT_ROOT / "data" / "samples" / "erp_orders.csv"
    first = prepare_database(database_url, engine, sample, SHANGHAI)
    assert first.inserted == 20 and first.invalid == 0
    assert prepare_database(database_url, engine, sample, SHANGHAI) is None
    assert count_orders(engine) == 20
    engine.dispose()
