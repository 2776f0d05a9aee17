"""The REST API over a real HTTP server on loopback: auth, roles, workflow, errors, idempotency."""

import pytest
import requests

from orders.domain.access import Role
from orders.service_layer import users
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import HEADER, SERVICE_TOKEN, order_row, write_csv
from tests.orders.entrypoints.conftest import load, row


def test_health_needs_no_token(live_server):
    response = requests.get(f"{live_server.url}/health", timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_orders_need_a_token(api):
    response = requests.get(f"{api.url}/api/v1/orders/SO-1", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    forged = requests.get(
        f"{api.url}/api/v1/orders/SO-1", headers={"Authorization": "Bearer e30.e30.x"}, timeout=5
    )
    assert forged.status_code == 401


def test_a_token_signed_with_another_secret_is_refused(api):
    import jwt

    fake = jwt.encode(
        {"iss": "orderbot", "sub": "x", "role": "operations", "iat": 1, "exp": 4102444800},
        "another-secret-another-secret-another",
        algorithm="HS256",
    )
    response = requests.get(
        f"{api.url}/api/v1/orders/SO-1", headers={"Authorization": f"Bearer {fake}"}, timeout=5
    )
    assert response.status_code == 401


def test_staff_sign_in(api, engine):
    users.add_user(SqlAlchemyUnitOfWork(engine), "wang", "correct horse", Role.WAREHOUSE)
    bad = requests.post(
        f"{api.url}/api/v1/auth/token", json={"username": "wang", "password": "nope"}, timeout=5
    )
    assert bad.status_code == 401
    good = requests.post(
        f"{api.url}/api/v1/auth/token", json={"username": "wang", "password": "correct horse"}, timeout=5
    )
    assert good.status_code == 200 and good.json()["role"] == "warehouse"
    token = good.json()["access_token"]
    assert (
        requests.get(
            f"{api.url}/api/v1/orders/SO-1", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).status_code
        == 200
    )


def test_customer_sign_in_with_order_number_and_email_or_phone(api):
    url = f"{api.url}/api/v1/auth/customer"
    assert (
        requests.post(url, json={"order_id": "SO-1", "email": "C100@example.com"}, timeout=5).status_code
        == 200
    )
    assert (
        requests.post(url, json={"order_id": "so-1", "phone": "+86 138-0000-0000"}, timeout=5).status_code
        == 200
    )
    assert (
        requests.post(url, json={"order_id": "SO-1", "email": "x@example.com"}, timeout=5).status_code == 401
    )
    assert (
        requests.post(url, json={"order_id": "SO-9", "email": "c100@example.com"}, timeout=5).status_code
        == 401
    )
    missing = requests.post(url, json={"order_id": "SO-1"}, timeout=5)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_request"


def test_me_names_the_caller(api):
    assert api.as_("customer", customer_id="C-100").get(f"{api.url}/api/v1/me", timeout=5).json() == {
        "subject": "customer",
        "role": "customer",
        "customer_id": "C-100",
        "may": ["cancel", "confirm"],
    }
    warehouse = api.as_("warehouse").get(f"{api.url}/api/v1/me", timeout=5).json()
    assert warehouse["may"] == ["list_orders", "record_shipment", "ship", "stock_in"]
    assert requests.get(f"{api.url}/api/v1/me", timeout=5).status_code == 401


def test_a_customer_sees_only_their_orders_and_others_are_404(api):
    token = requests.post(
        f"{api.url}/api/v1/auth/customer", json={"order_id": "SO-1", "email": "c100@example.com"}, timeout=5
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    assert session.get(f"{api.url}/api/v1/orders/SO-1", timeout=5).status_code == 200
    other = session.get(f"{api.url}/api/v1/orders/SO-3", timeout=5)
    assert other.status_code == 404 and other.json()["error"]["code"] == "order_not_found"
    assert session.get(f"{api.url}/api/v1/orders/SO-404", timeout=5).json() == {
        "error": {**other.json()["error"], "message": "No order SO-404 was found.", "order_id": "SO-404"}
    }
    listed = session.get(f"{api.url}/api/v1/orders", params={"customer_id": "C-200"}, timeout=5).json()
    assert [o["order_id"] for o in listed["items"]] == ["SO-1", "SO-2"]
    assert (
        session.post(
            f"{api.url}/api/v1/orders/SO-3/transitions", json={"action": "cancel"}, timeout=5
        ).status_code
        == 404
    )


def test_order_detail_has_labels_actions_and_an_etag(api):
    response = api.as_("operations").get(f"{api.url}/api/v1/orders/so-1", timeout=5)
    body = response.json()
    assert body["status_label"] == {"en": "waiting for your confirmation", "zh": "待确认"}
    assert body["allowed_actions"] == ["confirm", "cancel", "pay"]
    assert response.headers["ETag"] == '"1"'
    as_customer = (
        api.as_("customer", customer_id="C-100").get(f"{api.url}/api/v1/orders/SO-1", timeout=5).json()
    )
    assert as_customer["allowed_actions"] == ["confirm", "cancel"]  # what this caller may do
    as_warehouse = api.as_("warehouse").get(f"{api.url}/api/v1/orders/SO-2", timeout=5).json()
    assert as_warehouse["allowed_actions"] == ["ship", "record_shipment"]
    listed = api.as_("warehouse").get(f"{api.url}/api/v1/orders", params={"q": "SO-2"}, timeout=5).json()
    assert listed["items"][0]["allowed_actions"] == ["ship", "record_shipment"]  # lists say the same


def test_an_illegal_transition_is_409_with_the_state_and_allowed_actions(api):
    response = api.as_("operations").post(
        f"{api.url}/api/v1/orders/SO-1/transitions", json={"action": "ship"}, timeout=5
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["status"], error["allowed_actions"]) == (
        "illegal_transition",
        "pending_confirmation",
        ["confirm", "cancel", "pay"],
    )


def test_roles_are_checked_on_every_change(api):
    response = api.as_("warehouse").post(
        f"{api.url}/api/v1/orders/SO-1/transitions", json={"action": "confirm"}, timeout=5
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    body_role = api.as_("warehouse").post(
        f"{api.url}/api/v1/orders/SO-1/transitions",
        json={"action": "confirm", "role": "operations"},
        timeout=5,
    )
    assert body_role.status_code == 400  # a role in the body is not an input at all


def test_if_match_guards_against_lost_updates(api):
    ops = api.as_("operations")
    stale = ops.post(
        f"{api.url}/api/v1/orders/SO-1/transitions",
        json={"action": "confirm"},
        headers={"If-Match": '"5"'},
        timeout=5,
    )
    assert stale.status_code == 412 and stale.json()["error"]["current_version"] == 1
    fresh = ops.post(
        f"{api.url}/api/v1/orders/SO-1/transitions",
        json={"action": "confirm"},
        headers={"If-Match": '"1"'},
        timeout=5,
    )
    assert fresh.status_code == 200 and fresh.headers["ETag"] == '"2"'


def test_idempotency_key_replays_the_first_answer(api):
    ops = api.as_("operations")
    headers = {"Idempotency-Key": "confirm-so-1-once"}
    first = ops.post(
        f"{api.url}/api/v1/orders/SO-1/transitions", json={"action": "confirm"}, headers=headers, timeout=5
    )
    again = ops.post(
        f"{api.url}/api/v1/orders/SO-1/transitions", json={"action": "confirm"}, headers=headers, timeout=5
    )
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    notes = ops.get(f"{api.url}/api/v1/notifications", timeout=5).json()["items"]
    assert sum(1 for n in notes if n["event_type"] == "invoice_issued") == 1


def test_shipment_then_ship_then_invoice_and_notifications_by_role(api):
    warehouse, finance = api.as_("warehouse"), api.as_("finance")
    bad = warehouse.put(
        f"{api.url}/api/v1/orders/SO-2/shipment", json={"carrier": "SF", "tracking_number": "12"}, timeout=5
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_tracking_number"
    unknown = warehouse.put(
        f"{api.url}/api/v1/orders/SO-2/shipment",
        json={"carrier": "Pigeon", "tracking_number": "12"},
        timeout=5,
    )
    assert unknown.json()["error"]["code"] == "unknown_carrier"
    not_yet = warehouse.put(
        f"{api.url}/api/v1/orders/SO-1/shipment",
        json={"carrier": "SF", "tracking_number": "SF1234567890123"},
        timeout=5,
    )
    assert not_yet.status_code == 409  # rule 1
    ok = warehouse.put(
        f"{api.url}/api/v1/orders/SO-2/shipment",
        json={"carrier": "顺丰", "tracking_number": "SF1234567890123"},
        timeout=5,
    )
    assert ok.status_code == 200 and ok.json()["carrier"] == "SF Express"
    shipped = warehouse.post(f"{api.url}/api/v1/orders/SO-2/transitions", json={"action": "ship"}, timeout=5)
    assert shipped.json()["freight"] == "15.00"  # 12 + 0.5% of 100 is under the minimum of 15
    warehouse_notes = warehouse.get(f"{api.url}/api/v1/notifications", timeout=5).json()["items"]
    assert {n["recipient_role"] for n in warehouse_notes} == {"warehouse"}
    finance_notes = finance.get(f"{api.url}/api/v1/notifications", timeout=5).json()
    assert [n["event_type"] for n in finance_notes["items"]] == ["freight_computed"]
    later = finance.get(
        f"{api.url}/api/v1/notifications", params={"after": finance_notes["last_id"]}, timeout=5
    )
    assert later.json()["items"] == []


def test_invoice_pdf_for_the_customer_and_finance_only(api):
    customer = api.as_("customer", customer_id="C-100")
    no_invoice = customer.get(f"{api.url}/api/v1/orders/SO-1/invoice", timeout=5)  # still pending
    assert no_invoice.status_code == 404 and no_invoice.json()["error"]["code"] == "invoice_not_found"
    api.as_("operations").post(
        f"{api.url}/api/v1/orders/SO-1/transitions", json={"action": "confirm"}, timeout=5
    )
    invoice = customer.get(f"{api.url}/api/v1/orders/SO-1/invoice", timeout=5).json()
    assert invoice["number"].startswith("INV-") and invoice["pdf_url"] == "/api/v1/orders/SO-1/invoice.pdf"
    pdf = customer.get(f"{api.url}{invoice['pdf_url']}", timeout=5)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert api.as_("finance").get(f"{api.url}{invoice['pdf_url']}", timeout=5).status_code == 200
    assert api.as_("warehouse").get(f"{api.url}{invoice['pdf_url']}", timeout=5).status_code == 403
    stranger = api.as_("customer", customer_id="C-200")
    assert stranger.get(f"{api.url}{invoice['pdf_url']}", timeout=5).status_code == 404


def test_list_filters_sort_and_paging(api):
    ops = api.as_("operations")
    page = ops.get(
        f"{api.url}/api/v1/orders", params={"page_size": 2, "sort": "created_at", "order": "asc"}, timeout=5
    ).json()
    assert (page["total"], len(page["items"]), page["page_size"]) == (3, 2, 2)
    shipped = ops.get(f"{api.url}/api/v1/orders", params={"status": "awaiting_shipment"}, timeout=5).json()
    assert [o["order_id"] for o in shipped["items"]] == ["SO-2"]
    found = ops.get(f"{api.url}/api/v1/orders", params={"q": "so-3"}, timeout=5).json()
    assert [o["order_id"] for o in found["items"]] == ["SO-3"]
    bad = ops.get(f"{api.url}/api/v1/orders", params={"sort": "amount", "page": 0}, timeout=5)
    assert bad.status_code == 400
    assert {p["field"] for p in bad.json()["error"]["problems"]} == {"sort", "page"}


def test_settlement_over_rest(api, engine, tmp_path):
    load(engine, tmp_path, row("SO-7", "shipped", due="2026-11-20"))
    finance = api.as_("finance")
    report = finance.post(f"{api.url}/api/v1/settlements", json={"date": "2026-11-30"}, timeout=10).json()
    assert report["settled"] == ["SO-7"]
    listed = finance.get(f"{api.url}/api/v1/settlements", params={"date": "2026-11-30"}, timeout=5).json()
    assert [s["order_id"] for s in listed["items"]] == ["SO-7"]
    assert (
        api.as_("warehouse")
        .post(f"{api.url}/api/v1/settlements", json={"date": "2026-11-30"}, timeout=5)
        .status_code
        == 403
    )
    assert (
        finance.post(f"{api.url}/api/v1/settlements", json={"date": "30/11/2026"}, timeout=5).status_code
        == 400
    )


def test_import_by_upload_and_its_errors(api, tmp_path):
    ops = api.as_("operations")
    path = write_csv(tmp_path / "up.csv", HEADER, [order_row("SO-8"), order_row("SO-9", amount="x")])
    with path.open("rb") as f:
        report = ops.post(f"{api.url}/api/v1/imports", files={"file": ("export.csv", f)}, timeout=10).json()
    assert (report["inserted"], report["quarantined"], report["source"]) == (1, 1, "export.csv")
    empty = ops.post(f"{api.url}/api/v1/imports", files={"file": ("e.csv", b"")}, timeout=5)
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    for bad in ({"source": 123}, {"source": "x", "extra": 1}, [], None):
        refused = ops.post(f"{api.url}/api/v1/imports", json=bad, timeout=5)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_request", bad
    unknown = ops.post(f"{api.url}/api/v1/imports", json={"source": "nope"}, timeout=5)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_source"
    assert (
        api.as_("warehouse").post(f"{api.url}/api/v1/imports", json={"source": "x"}, timeout=5).status_code
        == 403
    )


def test_users_and_the_staff_directory(api):
    ops = api.as_("operations")
    created = ops.post(
        f"{api.url}/api/v1/users",
        json={"username": "li", "password": "longpassword", "role": "finance"},
        timeout=5,
    )
    assert created.status_code == 201
    assert (
        ops.post(
            f"{api.url}/api/v1/users",
            json={"username": "li", "password": "longpassword", "role": "finance"},
            timeout=5,
        ).status_code
        == 409
    )
    assert (
        ops.post(
            f"{api.url}/api/v1/users/li/links",
            json={"platform": "dingtalk", "platform_user_id": "ding-1"},
            timeout=5,
        ).status_code
        == 204
    )
    exchange = {"platform": "dingtalk", "platform_user_id": "ding-1"}
    as_service = requests.post(
        f"{api.url}/api/v1/auth/staff-link",
        json=exchange,
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
        timeout=5,
    )
    assert as_service.status_code == 200 and as_service.json()["role"] == "finance"
    unknown = requests.post(
        f"{api.url}/api/v1/auth/staff-link",
        json={**exchange, "platform_user_id": "ding-2"},
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
        timeout=5,
    )
    assert unknown.status_code == 404
    as_staff = ops.post(f"{api.url}/api/v1/auth/staff-link", json=exchange, timeout=5)
    assert as_staff.status_code == 401  # only the action server's credential may do this
    assert api.as_("finance").get(f"{api.url}/api/v1/users", timeout=5).status_code == 403


def test_audit_trail(api):
    ops = api.as_("operations")
    ops.post(
        f"{api.url}/api/v1/orders/SO-1/transitions",
        json={"action": "cancel", "reason": "duplicate"},
        timeout=5,
    )
    trail = ops.get(f"{api.url}/api/v1/orders/SO-1/audit", timeout=5).json()["items"]
    assert [
        (e["action"], e["from_value"], e["to_value"], e["reason"], e["actor"], e["source"]) for e in trail
    ] == [("cancel", "pending_confirmation", "cancelled", "duplicate", "operations", "rest")]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"action": "fly"}',
        b'{"action": "confirm", "x": 1}',
        b'{"action": "confirm", "reason": "' + b"x" * 600 + b'"}',
    ],
)
def test_bad_bodies_are_400_never_500(api, body):
    response = api.as_("operations").post(
        f"{api.url}/api/v1/orders/SO-1/transitions",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_every_error_has_the_same_json_shape(live_server):
    response = requests.get(f"{live_server.url}/no/such/page", timeout=5)
    assert response.status_code == 404
    assert set(response.json()["error"]) >= {"code", "message"}
    response = requests.delete(f"{live_server.url}/api/v1/orders/SO-1", timeout=5)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_openapi_document_lists_the_operations(live_server):
    document = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=5).json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/v1/orders",
        "/api/v1/orders/{order_id}/transitions",
        "/api/v1/orders/{order_id}/shipment",
        "/api/v1/orders/{order_id}/invoice.pdf",
        "/api/v1/settlements",
        "/api/v1/imports",
        "/api/v1/notifications",
        "/api/v1/auth/token",
        "/api/v1/users",
    ):
        assert path in document["paths"], path
    assert "TransitionRequest" in document["components"]["schemas"]


def test_carriers_can_be_listed_and_checked(live_server):
    carriers = requests.get(f"{live_server.url}/api/v1/carriers", timeout=5).json()["items"]
    sf = next(c for c in carriers if c["name"] == "SF Express")
    assert "顺丰" in sf["aliases"] and sf["tracking_example"]
    ok = requests.post(
        f"{live_server.url}/api/v1/carriers/check",
        json={"carrier": "顺丰", "tracking_number": "sf 1234 5678 90123"},
        timeout=5,
    )
    assert ok.json() == {"carrier": "SF Express", "tracking_number": "SF1234567890123"}
    bad = requests.post(
        f"{live_server.url}/api/v1/carriers/check", json={"carrier": "SF", "tracking_number": "1"}, timeout=5
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_tracking_number"


def test_import_sources_are_listed_for_staff(api, tmp_path):
    (tmp_path / "sources.yml").write_text("sources:\n  erp-api: {type: http, url: http://127.0.0.1:9/x}\n")
    assert api.as_("operations").get(f"{api.url}/api/v1/imports/sources", timeout=5).json() == {
        "items": ["erp-api"]
    }
    assert (
        api.as_("customer", customer_id="C-1").get(f"{api.url}/api/v1/imports/sources", timeout=5).status_code
        == 403
    )


def test_handoff_tickets(api):
    customer = api.as_("customer", customer_id="C-100")
    opened = customer.post(
        f"{api.url}/api/v1/handoffs",
        json={
            "conversation_id": "conv-1",
            "channel": "socketio",
            "message": "I want a person",
            "language": "en",
        },
        timeout=5,
    )
    assert opened.status_code == 201 and opened.json()["status"] == "open"
    ticket = opened.json()["id"]
    by_service = requests.post(
        f"{api.url}/api/v1/handoffs",
        json={"conversation_id": "conv-2", "channel": "rest"},
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
        timeout=5,
    )
    assert by_service.status_code == 201
    assert (
        requests.post(
            f"{api.url}/api/v1/handoffs", json={"conversation_id": "x", "channel": "rest"}, timeout=5
        ).status_code
        == 401
    )
    ops = api.as_("operations")
    notes = ops.get(f"{api.url}/api/v1/notifications", timeout=5).json()["items"]
    assert [n["data"]["ticket_id"] for n in notes if n["event_type"] == "handoff_requested"] == [
        ticket,
        ticket + 1,
    ]
    assert [
        t["id"]
        for t in ops.get(f"{api.url}/api/v1/handoffs", params={"status": "open"}, timeout=5).json()["items"]
    ] == [ticket + 1, ticket]
    assert customer.post(f"{api.url}/api/v1/handoffs/{ticket}/close", timeout=5).status_code == 403
    closed = ops.post(f"{api.url}/api/v1/handoffs/{ticket}/close", timeout=5)
    assert closed.status_code == 200
    assert closed.json()["id"] == ticket and closed.json()["status"] == "closed"
    assert ops.post(f"{api.url}/api/v1/handoffs/{ticket}/close", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/orders/SO%00X", None),
        ("GET", "/api/v1/orders?q=%00", None),
        ("GET", "/api/v1/orders?customer_id=C-1%00", None),
        ("POST", "/api/v1/auth/token", {"username": "ops1\u0000", "password": "secret"}),
        ("POST", "/api/v1/auth/customer", {"order_id": "SO-1\u0000", "email": "a@example.cn"}),
    ],
)
def test_a_control_character_anywhere_is_a_400_never_a_500(api, method, path, body):
    # PostgreSQL refuses NUL in text: the check runs before any route reads the value, on both databases.
    response = api.as_("operations").request(method, f"{api.url}{path}", json=body, timeout=5)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert "control character" in response.json()["error"]["message"]


def test_deeply_nested_json_is_refused_before_it_is_parsed(api):
    response = api.as_("operations").post(
        f"{api.url}/api/v1/orders/SO-1/transitions",
        data="[" * 100_000,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400 and "nested deeper" in response.json()["error"]["message"]
