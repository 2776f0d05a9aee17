"""The workflow state machine and the business rules, as plain Python."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from orders.domain import events
from orders.domain.carriers import Carriers, InvalidTrackingNumber, UnknownCarrier
from orders.domain.model import (
    TRANSITIONS,
    Action,
    IllegalTransition,
    Order,
    OrderStatus,
    PaymentStatus,
    ShipmentMissing,
)

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
CARRIERS = Carriers.from_mapping(
    {
        "carriers": {
            "SF Express": {
                "base": "12",
                "percent": "0.5",
                "minimum": "15",
                "aliases": ["顺丰", "SF"],
                "tracking": {"pattern": r"SF\d{12}", "example": "SF123456789012"},
            },
            "ZTO Express": {"base": "8", "percent": "0.3", "aliases": ["中通"]},
        }
    }
)


def order(status=OrderStatus.PENDING_CONFIRMATION, **kwargs) -> Order:
    fields = dict(
        order_id="SO-1",
        customer_id="C-1",
        customer_name="张三",
        amount=Decimal("1000.00"),
        currency="CNY",
        created_at=NOW,
        updated_at=NOW,
        status=status,
        due_date=date(2026, 11, 30),
    )
    return Order(**{**fields, **kwargs})


def test_the_happy_path_through_the_workflow():
    o = order()
    o.confirm(NOW)
    o.stock_in(NOW)
    o.record_shipment("SF Express", "SF123456789012", NOW)
    o.ship(CARRIERS, NOW)
    assert o.status is OrderStatus.SHIPPED
    o.settle(date(2026, 11, 30), NOW)
    assert o.status is OrderStatus.SETTLED


@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_state_allows_exactly_the_transitions_of_the_table(status):
    allowed = {a for (s, a) in TRANSITIONS if s is status}
    for action in (Action.CONFIRM, Action.CANCEL, Action.STOCK_IN):
        o = order(status)
        if action in allowed:
            getattr(o, action.value)(NOW)
            assert o.status is TRANSITIONS[(status, action)]
        else:
            with pytest.raises(IllegalTransition) as refused:
                getattr(o, action.value)(NOW)
            assert refused.value.status is status
            assert o.status is status and not o.events


def test_an_illegal_transition_names_the_state_and_the_allowed_actions():
    with pytest.raises(IllegalTransition) as refused:
        order(OrderStatus.SHIPPED).cancel(NOW)
    assert refused.value.allowed == ["settle", "pay"]
    assert "shipped" in str(refused.value)


def test_cancel_is_reachable_before_shipment_only():
    for status in (OrderStatus.PENDING_CONFIRMATION, OrderStatus.CONFIRMED, OrderStatus.AWAITING_SHIPMENT):
        o = order(status)
        o.cancel(NOW, "customer changed their mind")
        assert o.status is OrderStatus.CANCELLED
    for status in (OrderStatus.SHIPPED, OrderStatus.SETTLED, OrderStatus.CANCELLED):
        with pytest.raises(IllegalTransition):
            order(status).cancel(NOW)


# Rule 1
@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not OrderStatus.AWAITING_SHIPMENT])
def test_rule1_shipment_only_while_awaiting_shipment(status):
    o = order(status)
    with pytest.raises(IllegalTransition):
        o.record_shipment("SF Express", "SF123456789012", NOW)
    assert o.carrier is None and not o.events


def test_rule1_shipment_can_be_changed_while_awaiting_shipment():
    o = order(OrderStatus.AWAITING_SHIPMENT)
    o.record_shipment("SF Express", "SF123456789012", NOW)
    o.record_shipment("ZTO Express", "731234567890", NOW)
    assert (o.carrier, o.tracking_number) == ("ZTO Express", "731234567890")
    assert o.events[-1] == events.ShipmentChanged(
        "SO-1", "C-1", "ZTO Express", "731234567890", "SF Express", "SF123456789012"
    )


def test_recording_the_same_shipment_again_is_no_change():
    o = order(OrderStatus.AWAITING_SHIPMENT, carrier="SF Express", tracking_number="SF123456789012")
    o.record_shipment("SF Express", "SF123456789012", NOW)
    assert not o.events


# Rule 3 (domain side): each status change is an event naming from and to
def test_rule3_status_changes_are_events():
    o = order()
    o.confirm(NOW, "ok by phone")
    assert o.events[0] == events.StatusChanged(
        "SO-1", "C-1", "confirm", "pending_confirmation", "confirmed", "ok by phone"
    )


# Rule 5 (domain side)
def test_rule5_confirming_requires_an_invoice():
    o = order()
    o.confirm(NOW)
    assert events.InvoiceDue("SO-1", "C-1", Decimal("1000.00"), "CNY") in o.events


# Rule 6
def test_rule6_shipping_computes_and_stores_the_freight():
    o = order(OrderStatus.AWAITING_SHIPMENT, carrier="SF Express", tracking_number="SF123456789012")
    o.ship(CARRIERS, NOW)
    assert o.freight == Decimal("17.00")  # 12 + 0.5% of 1000
    assert o.shipped_at == NOW
    assert events.FreightComputed("SO-1", "C-1", "SF Express", Decimal("17.00"), "CNY") in o.events


def test_rule6_minimum_freight():
    assert CARRIERS.freight("SF", Decimal("10")) == Decimal("15.00")
    assert CARRIERS.freight("中通", Decimal("10")) == Decimal("8.03")


def test_shipping_without_shipment_information_is_refused():
    o = order(OrderStatus.AWAITING_SHIPMENT)
    with pytest.raises(ShipmentMissing):
        o.ship(CARRIERS, NOW)
    assert o.status is OrderStatus.AWAITING_SHIPMENT


def test_shipping_with_an_unknown_carrier_changes_nothing():
    o = order(OrderStatus.AWAITING_SHIPMENT, carrier="Pigeon Post", tracking_number="1")
    with pytest.raises(UnknownCarrier):
        o.ship(CARRIERS, NOW)
    assert o.status is OrderStatus.AWAITING_SHIPMENT and not o.events


# Rule 7 (domain side)
def test_rule7_only_shipped_unpaid_orders_past_their_due_day_are_settled():
    day = date(2026, 11, 30)
    assert order(OrderStatus.SHIPPED).is_due_for_settlement(day)
    assert not order(OrderStatus.SHIPPED).is_due_for_settlement(date(2026, 11, 29))
    assert not order(OrderStatus.SHIPPED, payment_status=PaymentStatus.PAID).is_due_for_settlement(day)
    assert not order(OrderStatus.CONFIRMED).is_due_for_settlement(day)
    assert not order(OrderStatus.SHIPPED, due_date=None).is_due_for_settlement(day)
    with pytest.raises(IllegalTransition):
        order(OrderStatus.SHIPPED, payment_status=PaymentStatus.PAID).settle(day, NOW)


def test_payment_is_its_own_attribute():
    o = order(OrderStatus.CONFIRMED)
    o.pay(NOW)
    assert (o.status, o.payment_status, o.paid_at) == (OrderStatus.CONFIRMED, PaymentStatus.PAID, NOW)
    with pytest.raises(IllegalTransition):
        o.pay(NOW)
    with pytest.raises(IllegalTransition):
        order(OrderStatus.CANCELLED).pay(NOW)


def test_tracking_numbers_must_fit_the_carrier():
    assert CARRIERS.check_tracking_number("顺丰", "sf 1234-5678-9012") == ("SF Express", "SF123456789012")
    with pytest.raises(InvalidTrackingNumber, match="like SF123456789012"):
        CARRIERS.check_tracking_number("SF", "12345")
    with pytest.raises(UnknownCarrier, match="known carriers: SF Express, ZTO Express"):
        CARRIERS.check_tracking_number("Pigeon Post", "1")


def test_the_shipped_carriers_file_is_valid():
    from orders.adapters.carriers_file import load_carriers
    from orders.config import PROJECT_ROOT

    carriers = load_carriers(PROJECT_ROOT / "config" / "carriers.yml")
    for carrier in carriers.by_name.values():
        assert carriers.check_tracking_number(carrier.name, carrier.tracking_example)[0] == carrier.name
