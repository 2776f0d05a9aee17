"""The REST API's tests: a live server with three orders of two customers; for the fuzz suites, the app
with the sample orders, once per database."""

import uuid

import pytest

from orders.adapters import database
from orders.entrypoints.flask_app import create_app
from orders.service_layer.setup import import_from
from tests.orders.conftest import HEADER, SHANGHAI, order_row, postgres_database, settings_for, write_csv


def load(engine, tmp_path, *rows):
    header = HEADER + ["status", "due_date"]
    import_from(engine, write_csv(tmp_path / f"{uuid.uuid4().hex}.csv", header, list(rows)), SHANGHAI)


def row(order_id, status="pending_confirmation", customer="C-100", due="2026-11-30"):
    cells = order_row(order_id) + [status, due]
    cells[1] = customer
    return cells


@pytest.fixture
def api(live_server, engine, tmp_path):
    load(engine, tmp_path, row("SO-1"), row("SO-2", "awaiting_shipment"), row("SO-3", customer="C-200"))
    return live_server


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_app(request, tmp_path_factory):
    from orders.config import PROJECT_ROOT

    tmp = tmp_path_factory.mktemp("fuzz")
    # PostgreSQL: skipped, saying why, when it cannot be reached
    urls = iter([f"sqlite:///{tmp / 'fuzz.db'}"]) if request.param == "sqlite" else postgres_database()
    url = next(urls)
    database.upgrade(url)
    engine = database.make_engine(url)
    import_from(engine, PROJECT_ROOT / "data" / "samples" / "erp_orders.csv", SHANGHAI)
    yield create_app(engine, settings_for(url, tmp))
    engine.dispose()
    next(urls, None)  # drops the PostgreSQL database
