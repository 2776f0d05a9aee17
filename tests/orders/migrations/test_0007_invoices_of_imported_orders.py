"""Revision 0007: orders imported confirmed or later before imports issued invoices get theirs."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select, update

from orders.adapters import database
from orders.adapters.orm import audit_log, invoices, orders
from orders.domain.model import Order
from orders.service_layer.setup import import_from
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import HEADER, SHANGHAI, order_row, write_csv


def test_the_upgrade_issues_the_invoices_the_import_did_not(database_url, tmp_path):
    database.upgrade(database_url, "0006")
    engine = database.make_engine(database_url)
    try:
        rows = [order_row(f"SO-{4000 + i}", amount="88.80") for i in range(5)]
        import_from(engine, write_csv(tmp_path / "old.csv", HEADER, rows), SHANGHAI)
        # As an import stored them before this revision: in their ERP state, and without an invoice.
        with engine.begin() as connection:
            for order_id, state in [("SO-4001", "confirmed"), ("SO-4002", "shipped"), ("SO-4003", "settled")]:
                connection.execute(update(orders).where(orders.c.order_id == order_id).values(status=state))
            connection.execute(
                update(orders).where(orders.c.order_id == "SO-4004").values(status="cancelled")
            )
        with SqlAlchemyUnitOfWork(engine) as uow:  # one already has its invoice, issued on confirmation
            stored: Order = uow.orders.get("SO-4003")
            kept = uow.invoices.issue(stored, stored.updated_at)
            uow.commit()

        database.upgrade(database_url)

        with engine.connect() as connection:
            issued = {row.order_id: row for row in connection.execute(select(invoices))}
            audit = connection.execute(select(audit_log).order_by(audit_log.c.order_id)).all()
        assert sorted(issued) == ["SO-4001", "SO-4002", "SO-4003"]
        assert issued["SO-4003"].number == kept
        for order_id in ("SO-4001", "SO-4002"):
            invoice = issued[order_id]
            assert re.fullmatch(rf"INV-\d{{4}}-{invoice.id:06d}", invoice.number)
            assert (invoice.customer_id, invoice.amount, invoice.currency) == (
                "C-100",
                Decimal("88.80"),
                "CNY",
            )
            assert invoice.issued_at.tzinfo is not None
        assert [(a.order_id, a.action, a.actor, a.source, a.to_value) for a in audit] == [
            ("SO-4001", "issue_invoice", "import", "import", issued["SO-4001"].number),
            ("SO-4002", "issue_invoice", "import", "import", issued["SO-4002"].number),
        ]
        assert audit[1].reason == "imported as shipped before imports issued invoices"
        assert audit[0].details["amount"] == "88.80"

        # The application reads what the revision wrote.
        with SqlAlchemyUnitOfWork(engine) as uow:
            assert uow.invoices.for_order("SO-4002")["amount"] == Decimal("88.80")
    finally:
        engine.dispose()
