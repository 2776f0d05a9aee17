"""Rules 3-7: who is told what, in both languages."""

from datetime import date
from decimal import Decimal

from orders.domain import events
from orders.domain.access import Role
from orders.domain.notifications import notifications_for


def recipients(event) -> list[Role]:
    return [n.recipient for n in notifications_for(event)]


def test_rule3_every_status_change_notifies_the_customer():
    for to in ("confirmed", "awaiting_shipment", "shipped", "settled", "cancelled"):
        found = notifications_for(events.StatusChanged("SO-1", "C-1", "x", "pending_confirmation", to, None))
        assert found[0].recipient is Role.CUSTOMER and found[0].customer_id == "C-1"
        assert found[0].message["en"] and found[0].message["zh"]


def test_the_warehouse_hears_of_confirmed_orders_and_of_cancellations_it_must_stop():
    assert Role.WAREHOUSE in recipients(
        events.StatusChanged("SO-1", "C", "confirm", "pending_confirmation", "confirmed", None)
    )
    assert Role.WAREHOUSE in recipients(
        events.StatusChanged("SO-1", "C", "cancel", "awaiting_shipment", "cancelled", None)
    )
    assert Role.WAREHOUSE not in recipients(
        events.StatusChanged("SO-1", "C", "cancel", "pending_confirmation", "cancelled", None)
    )


def test_rule4_shipment_changes_notify_the_warehouse():
    found = notifications_for(events.ShipmentChanged("SO-1", "C", "SF Express", "SF1", None, None))
    assert [n.recipient for n in found] == [Role.WAREHOUSE]
    assert "SF1" in found[0].message["en"] and "SF1" in found[0].message["zh"]


def test_rule5_and_rule6_notify_finance():
    assert recipients(events.InvoiceIssued("SO-1", "C", "INV-2026-000001", Decimal("5"), "CNY")) == [
        Role.FINANCE
    ]
    assert recipients(events.FreightComputed("SO-1", "C", "SF Express", Decimal("17"), "CNY")) == [
        Role.FINANCE
    ]


def test_rule7_finance_gets_the_totals():
    (found,) = notifications_for(
        events.SettlementRunCompleted(
            date(2026, 11, 30), 2, {"CNY": {"amount_due": "300.00", "freight": "24.00"}}
        )
    )
    assert found.recipient is Role.FINANCE and found.order_id is None
    assert "CNY 300.00 due" in found.message["en"]
    assert found.data["totals"]["CNY"]["freight"] == "24.00"


def test_operations_read_where_a_handoff_comes_from_in_words():
    def asked(channel: str) -> dict[str, str]:
        event = events.HandoffRequested(7, "conv", channel, None, "help")
        [found] = [n for n in notifications_for(event) if n.recipient is Role.OPERATIONS]
        return found.message

    assert asked("socketio")["en"].startswith("Ticket #7: a web chat user asks for a person")
    assert asked("socketio")["zh"].startswith("工单 #7：网页聊天用户请求人工服务")
    assert "钉钉用户" in asked("dingtalk")["zh"] and "DingTalk user" in asked("dingtalk")["en"]
    assert "rest user" in asked("rest")["en"]  # a channel without a name of its own keeps Rasa's
