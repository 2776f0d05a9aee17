import requests

from orders.service_layer.bootstrap import import_from
from tests.orders.conftest import HEADER, SHANGHAI, order_row, write_csv


def load(engine, tmp_path, rows):
    import_from(engine, write_csv(tmp_path / "o.csv", HEADER + ["status"], rows), SHANGHAI)


def test_health(live_server):
    response = requests.get(f"{live_server.url}/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_get_an_order(live_server, engine, tmp_path):
    load(engine, tmp_path, [order_row("SO-2001", amount="1280.5") + ["shipped"]])
    response = requests.get(f"{live_server.url}/api/v1/orders/SO-2001", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == "SO-2001"
    assert body["status"] == "shipped"
    assert body["status_label"] == {"en": "shipped", "zh": "已发货"}
    assert body["amount"] == "1280.50"
    assert body["created_at"] == "2026-11-20T01:00:00+00:00"


def test_order_ids_are_case_insensitive(live_server, engine, tmp_path):
    load(engine, tmp_path, [order_row("SO-2001") + [""]])
    assert requests.get(f"{live_server.url}/api/v1/orders/so-2001", timeout=5).status_code == 200


def test_an_unknown_order_is_a_json_404(live_server):
    response = requests.get(f"{live_server.url}/api/v1/orders/SO-9999", timeout=5)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    assert "SO-9999" in response.json()["error"]["message"]


def test_every_error_has_the_same_json_shape(live_server):
    response = requests.get(f"{live_server.url}/no/such/page", timeout=5)
    assert response.status_code == 404
    assert set(response.json()["error"]) >= {"code", "message"}
    response = requests.post(f"{live_server.url}/api/v1/orders/SO-1", timeout=5)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
