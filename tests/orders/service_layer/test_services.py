"""Changes through the service layer: state, audit and outbox in one transaction; concurrency; settlement."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from orders.adapters.carriers_file import load_carriers
from orders.adapters.orm import audit_log, invoices, outbox, settlements
from orders.config import PROJECT_ROOT
from orders.domain.access import SYSTEM_SCHEDULER, Actor, NotPermitted, Role, Source
from orders.domain.model import Action, IllegalTransition, OrderStatus
from orders.service_layer import services
from orders.service_layer.setup import import_from
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import HEADER, SHANGHAI, order_row, write_csv

CARRIERS = load_carriers(PROJECT_ROOT / "config" / "carriers.yml")
OPS = Actor("olivia", Role.OPERATIONS, Source.REST)
WAREHOUSE = Actor("wang", Role.WAREHOUSE, Source.CHAT)


def load(engine, tmp_path, *rows):
    header = HEADER + ["status", "due_date"]
    import_from(engine, write_csv(tmp_path / "o.csv", header, list(rows)), SHANGHAI)


def row(order_id, status="pending_confirmation", due="2026-11-30", amount="1000.00"):
    return order_row(order_id, amount=amount) + [status, due]


def count(engine, table, **where) -> int:
    statement = select(func.count()).select_from(table)
    for column, value in where.items():
        statement = statement.where(table.c[column] == value)
    with engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def change(engine, order_id, action, actor=OPS, **kwargs):
    return services.change_order(
        SqlAlchemyUnitOfWork(engine),
        order_id,
        services.Change(action, **kwargs),
        actor,
        CARRIERS,
        kwargs.pop("expected_version", None),
    )


def test_a_change_writes_state_audit_and_notifications_together(engine, tmp_path):
    load(engine, tmp_path, row("SO-1"))
    order = change(engine, "SO-1", Action.CONFIRM, reason="confirmed by phone")
    assert (order.status, order.version) == (OrderStatus.CONFIRMED, 2)
    with engine.connect() as connection:
        entries = connection.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()
        notes = connection.execute(select(outbox).order_by(outbox.c.id)).mappings().all()
        invoice = connection.execute(select(invoices)).mappings().one()
    assert [
        (e["action"], e["from_value"], e["to_value"], e["actor"], e["source"], e["reason"]) for e in entries
    ] == [
        ("confirm", "pending_confirmation", "confirmed", "olivia", "rest", "confirmed by phone"),
        ("issue_invoice", None, invoice["number"], "olivia", "rest", None),
    ]
    assert [(n["recipient_role"], n["event_type"]) for n in notes] == [
        ("customer", "status_changed"),
        ("warehouse", "status_changed"),
        ("finance", "invoice_issued"),
    ]
    assert invoice["number"] == "INV-2026-000001" and invoice["amount"] == Decimal("1000.00")


def test_a_refused_change_writes_nothing(engine, tmp_path):
    load(engine, tmp_path, row("SO-1", "shipped"))  # imported shipped: with its invoice, audited
    before = (count(engine, audit_log), count(engine, outbox))
    with pytest.raises(IllegalTransition):
        change(engine, "SO-1", Action.CANCEL)
    assert (count(engine, audit_log), count(engine, outbox)) == before == (1, 0)


def test_a_failure_inside_the_transaction_leaves_no_half_change(engine, tmp_path, monkeypatch):
    load(engine, tmp_path, row("SO-1"))

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("orders.adapters.repositories.outbox.OutboxRepository.add", crash)
    with pytest.raises(RuntimeError):
        change(engine, "SO-1", Action.CONFIRM)
    monkeypatch.undo()
    assert (
        services.get_order(SqlAlchemyUnitOfWork(engine), "SO-1", OPS).status
        is OrderStatus.PENDING_CONFIRMATION
    )
    assert count(engine, audit_log) == count(engine, invoices) == count(engine, outbox) == 0


def test_rule4_and_rule6_through_the_service(engine, tmp_path):
    load(engine, tmp_path, row("SO-1", "awaiting_shipment"))
    change(
        engine, "SO-1", Action.RECORD_SHIPMENT, WAREHOUSE, carrier="顺丰", tracking_number="SF1234567890123"
    )
    order = change(engine, "SO-1", Action.SHIP, WAREHOUSE)
    assert (order.carrier, order.freight) == ("SF Express", Decimal("17.00"))
    assert count(engine, outbox, recipient_role="warehouse", event_type="shipment_changed") == 1
    assert count(engine, outbox, recipient_role="finance", event_type="freight_computed") == 1
    assert count(engine, outbox, recipient_role="customer", event_type="status_changed") == 1


def test_permissions_are_checked(engine, tmp_path):
    load(engine, tmp_path, row("SO-1"))
    with pytest.raises(NotPermitted):
        change(engine, "SO-1", Action.CONFIRM, WAREHOUSE)
    stranger = Actor("customer:C-999", Role.CUSTOMER, Source.REST, "C-999")
    with pytest.raises(services.OrderNotFound):
        change(engine, "SO-1", Action.CANCEL, stranger)


def test_a_stale_version_is_refused(engine, tmp_path):
    load(engine, tmp_path, row("SO-1"))
    with pytest.raises(services.VersionMismatch):
        services.change_order(
            SqlAlchemyUnitOfWork(engine),
            "SO-1",
            services.Change(Action.CONFIRM),
            OPS,
            CARRIERS,
            expected_version=7,
        )


def test_concurrent_transitions_on_one_order_exactly_one_wins(engine, tmp_path):
    load(engine, tmp_path, row("SO-1"))
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt(action):
        barrier.wait()
        try:
            change(engine, "SO-1", action)
            outcomes.append("ok")
        except (IllegalTransition, services.ConcurrentUpdate) as refused:
            outcomes.append(type(refused).__name__)

    # All confirm: in a mix with cancel, a cancel that reads the order after the confirm committed
    # legally cancels the confirmed order, and two would win.
    threads = [threading.Thread(target=attempt, args=(Action.CONFIRM,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert len(outcomes) == 8
    assert count(engine, audit_log, order_id="SO-1") in (1, 2)  # a confirm also issues the invoice
    assert count(engine, outbox, recipient_role="customer") == 1


def settle(engine, day, actor=SYSTEM_SCHEDULER):
    return services.settle_day(SqlAlchemyUnitOfWork(engine), day, actor)


def test_rule7_settlement_settles_due_unpaid_shipped_orders_once(engine, tmp_path):
    load(
        engine,
        tmp_path,
        row("SO-1", "shipped", "2026-11-29", "100.00"),
        row("SO-2", "shipped", "2026-11-30"),
        row("SO-3", "shipped", "2026-12-01"),
        row("SO-4", "confirmed", "2026-11-01"),
    )
    report = settle(engine, date(2026, 11, 30))
    assert report.settled == ["SO-1", "SO-2"]
    assert report.totals == {"CNY": {"amount_due": "1100.00", "freight": "0.00"}}
    again = settle(engine, date(2026, 11, 30))
    assert again.settled == [] and again.orders == 0
    assert count(engine, settlements) == 2
    finance = count(engine, outbox, recipient_role="finance", event_type="settlement_completed")
    assert finance == 2  # each run reports its totals, the second one "nothing due"
    assert services.get_order(SqlAlchemyUnitOfWork(engine), "SO-2", OPS).status is OrderStatus.SETTLED


def test_rule7_overlapping_runs_settle_each_order_exactly_once(engine, tmp_path):
    load(engine, tmp_path, *[row(f"SO-{i}", "shipped", "2026-11-01") for i in range(30)])
    reports = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        reports.append(settle(engine, date(2026, 11, 30)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    settled = sorted(reports[0].settled + reports[1].settled)
    assert settled == sorted(f"SO-{i}" for i in range(30))
    assert count(engine, settlements) == 30
    assert count(engine, audit_log, action="settle") == 30


def test_settlement_needs_finance_or_operations(engine):
    with pytest.raises(NotPermitted):
        settle(engine, date(2026, 11, 30), WAREHOUSE)


def test_lists_sort_by_created_updated_or_paid_date(engine, tmp_path):
    rows = [
        ["SO-A", "C-1", "a", "", "", "1", "2026-11-03 10:00", "2026-11-05 10:00", ""],
        ["SO-B", "C-2", "b", "", "", "1", "2026-11-01 10:00", "2026-11-09 10:00", "2026-11-02 10:00"],
        ["SO-C", "C-1", "c", "", "", "1", "2026-11-02 10:00", "2026-11-07 10:00", "2026-11-01 10:00"],
    ]
    import_from(engine, write_csv(tmp_path / "s.csv", HEADER + ["paid_at"], rows), SHANGHAI)
    from orders.adapters.repositories import OrderQuery

    def ids(**query):
        found, total = services.list_orders(SqlAlchemyUnitOfWork(engine), OrderQuery(**query), OPS)
        return [o.order_id for o in found], total

    assert ids(sort="created_at", descending=False) == (["SO-B", "SO-C", "SO-A"], 3)
    assert ids(sort="paid_at", descending=False) == (["SO-C", "SO-B", "SO-A"], 3)  # unpaid last
    assert ids(sort="paid_at", descending=True) == (["SO-B", "SO-C", "SO-A"], 3)
    assert ids(customer_id="C-1", page_size=1, page=2) == (["SO-C"], 2)
    customer = Actor("c", Role.CUSTOMER, Source.REST, "C-2")
    found, total = services.list_orders(SqlAlchemyUnitOfWork(engine), OrderQuery(customer_id="C-1"), customer)
    assert [o.order_id for o in found] == ["SO-B"] and total == 1
