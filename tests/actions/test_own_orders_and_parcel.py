"""A signed-in customer asking without an order number, and the parcel of a shipped order, against a
real order service."""

import io
import uuid

import pytest
import requests

from actions.customer import (
    ActionCancelOrder,
    ActionConfirmOrder,
    ActionOrderStatus,
    ActionRequestInvoice,
)
from tests.actions.conftest import run, sign_in_customer, sign_in_staff, tracker

HEADER = "order_id,customer_id,customer_name,email,amount,currency,status,created_at"


@pytest.fixture(scope="module")
def shop(order_service_url):
    """Orders of two new customers: C-900 with three open ones, C-901 with one about to ship by DHL."""
    suffix = f"{uuid.uuid4().int % 10_000:04d}"  # digits: order numbers as customers type them
    gao, ma = f"C-900{suffix},Gao Yuan,gao@example.cn", f"C-901{suffix},Ma Li,ma@example.cn"
    rows = [
        f"SO-9{suffix}1,{gao},10.00,CNY,pending_confirmation,2026-11-20 09:00:00",
        f"SO-9{suffix}2,{gao},20.00,CNY,confirmed,2026-11-21 09:00:00",
        f"SO-9{suffix}3,{gao},30.00,CNY,awaiting_shipment,2026-11-22 09:00:00",
        f"SO-9{suffix}4,{gao},40.00,CNY,cancelled,2026-11-23 09:00:00",
        f"SO-8{suffix}1,{ma},50.00,CNY,awaiting_shipment,2026-11-20 09:00:00",
    ]
    csv = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    operations = sign_in_staff(order_service_url, "operations")
    headers = {"Authorization": f"Bearer {operations}"}
    imported = requests.post(
        f"{order_service_url}/api/v1/imports",
        files={"file": ("shop.csv", io.BytesIO(csv))},
        headers=headers,
        timeout=30,
    )
    assert imported.json()["inserted"] == 5, imported.text
    warehouse = {"Authorization": f"Bearer {sign_in_staff(order_service_url, 'warehouse')}"}
    shipped = f"SO-8{suffix}1"
    requests.put(
        f"{order_service_url}/api/v1/orders/{shipped}/shipment",
        json={"carrier": "DHL", "tracking_number": "1234567890"},
        headers=warehouse,
        timeout=10,
    ).raise_for_status()
    requests.post(
        f"{order_service_url}/api/v1/orders/{shipped}/transitions",
        json={"action": "ship"},
        headers=warehouse,
        timeout=10,
    ).raise_for_status()
    return {
        "gao": sign_in_customer(order_service_url, f"SO-9{suffix}1", "gao@example.cn"),
        "ma": sign_in_customer(order_service_url, shipped, "ma@example.cn"),
        "open": [f"SO-9{suffix}3", f"SO-9{suffix}2", f"SO-9{suffix}1"],  # newest first
        "shipped": shipped,
    }


def test_several_open_orders_get_a_button_each_newest_first(order_service, shop):
    messages, events = run(ActionOrderStatus(), tracker("where is my order?", token=shop["gao"]))
    assert [m["response"] for m in messages] == ["utter_pick_order"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        f'/order_status{{"order_id": "{order_id}"}}' for order_id in shop["open"]
    ]
    assert (
        messages[0]["buttons"][0]["title"]
        == f"{shop['open'][0]} · stocked in and awaiting shipment · CNY 30.00"
    )
    assert {"event": "slot", "name": "requested_action", "value": "action_order_status"} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]
    # confirm and cancel are about the one order waiting for confirmation: no question
    confirm, _ = run(
        ActionConfirmOrder(), tracker("confirm my order", intent="confirm_order", token=shop["gao"])
    )
    assert confirm[0]["response"] == "utter_order_confirmed" and confirm[0]["order_id"] == shop["open"][2]


def test_one_open_order_is_answered_and_none_is_said(order_service, shop):
    answer, _ = run(ActionOrderStatus(), tracker("where is my parcel", token=shop["ma"]))
    assert [m["response"] for m in answer] == ["utter_order_shipped", "utter_tracking_link"]
    assert answer[0]["order_id"] == shop["shipped"]
    cancelled_only = sign_in_customer(order_service, "SO-1006", "sophia.mueller@example.de")
    [none], _ = run(ActionOrderStatus(), tracker("where is my order?", token=cancelled_only))
    assert none["response"] == "utter_no_open_orders"
    [no_invoice], _ = run(
        ActionRequestInvoice(), tracker("my invoice", intent="request_invoice", token=cancelled_only)
    )
    assert no_invoice["response"] == "utter_no_invoiced_orders"
    [nothing_pending], _ = run(
        ActionCancelOrder(), tracker("cancel my order", intent="cancel_order", token=shop["ma"])
    )
    assert nothing_pending["response"] == "utter_no_pending_orders"


def test_a_visitor_or_staff_is_still_asked_for_the_number(order_service):
    [asked], _ = run(ActionOrderStatus(), tracker("where is my order?"))
    assert asked["response"] == "utter_ask_order_id"
    warehouse = sign_in_staff(order_service, "warehouse")
    [asked], _ = run(ActionOrderStatus(), tracker("where is my order?", token=warehouse))
    assert asked["response"] == "utter_ask_order_id"


def test_the_parcel_of_a_shipped_order(order_service, shop):
    facts = {"order_id": shop["shipped"], "carrier": "DHL", "tracking_number": "1234567890"}
    status, _ = run(ActionOrderStatus(), tracker(f"where is {shop['shipped']}", token=shop["ma"]))
    assert [m["response"] for m in status] == ["utter_order_shipped", "utter_tracking_link"]
    assert {k: status[0][k] for k in facts} == facts and len(status[0]["date"]) == 10
    assert status[1]["url"].startswith("https://www.dhl.com/") and status[1]["url"].endswith("=1234567890")
    # a follow-up about the courier is about the order in context (the slot), in Chinese too
    follow_up, _ = run(
        ActionOrderStatus(),
        tracker("快递单号是多少", language="zh", token=shop["ma"], order_id=shop["shipped"]),
    )
    assert [m["response"] for m in follow_up] == ["utter_order_shipped", "utter_tracking_link"]


def test_an_order_shipped_before_orderbot_says_what_is_missing(order_service):
    # SO-1009 was imported already shipped: there is no parcel to tell of, and the reply says so
    chen = sign_in_customer(order_service, "SO-1009", "chen.jing@example.cn")
    [unknown], _ = run(ActionOrderStatus(), tracker("快递单号是多少", language="zh", token=chen))
    assert unknown["response"] == "utter_no_parcel_details" and unknown["order_id"] == "SO-1009"
