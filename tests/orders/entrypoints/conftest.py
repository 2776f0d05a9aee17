"""The REST API's tests share a live server with three orders of two customers."""

import uuid

import pytest

from orders.service_layer.setup import import_from
from tests.orders.conftest import HEADER, SHANGHAI, order_row, write_csv


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
