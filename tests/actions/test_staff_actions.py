"""Staff actions against a real order service, with staff tokens from its sign-in."""

import asyncio
from datetime import date

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import ActionAffirm, ActionFallback
from actions.staff import (
    ActionImportOrders,
    ActionListOrders,
    ActionSettlePayments,
    ActionShipOrder,
    ActionStockIn,
    ValidateShipmentForm,
    parse_day,
)
from tests.actions.conftest import run, sign_in_customer, sign_in_staff, slots_set, tracker


@pytest.fixture
def warehouse(order_service) -> str:
    return sign_in_staff(order_service, "warehouse")


@pytest.fixture
def finance(order_service) -> str:
    return sign_in_staff(order_service, "finance")


def test_parse_day():
    assert (
        parse_day("2026-11-30")
        == parse_day("2026/11/30")
        == parse_day("2026年11月30日")
        == date(2026, 11, 30)
    )
    assert parse_day("today") == parse_day("今天")
    assert (parse_day("today") - parse_day("昨天")).days == 1
    assert parse_day("someday") is None and parse_day("2026-02-30") is None


def test_staff_actions_need_a_token(order_service):
    messages, _ = run(ActionStockIn(), tracker("SO-1007 stocked in", intent="stock_in"))
    assert messages[0]["response"] == "utter_staff_only"


def test_a_customer_token_is_not_staff(order_service):
    customer = sign_in_customer(order_service, "SO-1007", "liu.yang@example.cn")
    messages, _ = run(ActionStockIn(), tracker("SO-1007 stocked in", intent="stock_in", token=customer))
    assert messages[0]["response"] == "utter_staff_only"


def test_stock_in(warehouse):
    messages, _ = run(
        ActionStockIn(), tracker("订单SO-1007已入库", language="zh", intent="stock_in", token=warehouse)
    )
    assert messages[0]["response"] == "utter_stocked_in" and messages[0]["order_id"] == "SO-1007"
    again, _ = run(ActionStockIn(), tracker("SO-1007 stocked in", intent="stock_in", token=warehouse))
    assert again[0]["response"] == "utter_change_refused"


def validate(slot: str, value: str, **slots):
    form = ValidateShipmentForm()
    dispatcher = CollectingDispatcher()
    method = getattr(form, f"validate_{slot}")
    result = asyncio.run(method(value, dispatcher, tracker("x", intent="inform", **slots), {}))
    return result, dispatcher.messages


def test_the_shipment_form_checks_each_slot(order_service):
    assert validate("order_id", "so1008")[0] == {"order_id": "SO-1008"}
    assert validate("carrier", "Pigeon Post")[0] == {"carrier": None}
    assert validate("carrier", "顺丰")[0] == {"carrier": "顺丰"}
    bad, messages = validate("tracking_number", "12345", carrier="顺丰")
    assert bad == {"tracking_number": None} and "SF Express tracking number" in messages[0]["problem"]
    good, _ = validate("tracking_number", "sf1234567890123", carrier="顺丰")
    assert good == {"carrier": "SF Express", "tracking_number": "SF1234567890123"}
    # Typed as the answer to "what is the tracking number?" (the whole text reaches the form)
    said, _ = validate("tracking_number", "it's 78912345678901, thanks", carrier="中通")
    assert said == {"carrier": "ZTO Express", "tracking_number": "78912345678901"}
    wrong, messages = validate("tracking_number", "no idea, maybe ABC123", carrier="中通")
    assert wrong == {"tracking_number": None}
    assert (
        messages[0]["problem"]
        == "'no idea, maybe ABC123' is not a ZTO Express tracking number (like 731234567890)."
    )


def test_every_example_number_of_every_carrier_is_accepted_by_the_form(order_service):
    import yaml

    from tests.actions.conftest import ROOT

    carriers = yaml.safe_load((ROOT / "config" / "carriers.yml").read_text(encoding="utf-8"))["carriers"]
    for name, entry in carriers.items():
        example = entry["tracking"]["example"]
        for typed in (example, example.lower(), f"the number is {example}"):
            result, messages = validate("tracking_number", typed, carrier=name)
            assert result["tracking_number"] == example, (name, typed, messages)


def test_ship_asks_first_then_ships(order_service, warehouse):
    slots = {"order_id": "SO-1008", "carrier": "SF Express", "tracking_number": "SF1234567890123"}
    messages, events = run(ActionShipOrder(), tracker("", intent="ship_order", token=warehouse, **slots))
    assert messages[0]["response"] == "utter_ask_ship"
    pending = slots_set(events)["pending_change"]
    messages, events = run(
        ActionAffirm(), tracker("yes", intent="affirm", token=warehouse, pending_change=pending)
    )
    assert messages[0]["response"] == "utter_shipped"
    assert messages[0]["freight"] == "CNY 15.00"  # 12 + 0.5% of 420, under the minimum of 15


def test_shipping_an_order_that_is_not_awaiting_shipment_is_refused(warehouse):
    slots = {"order_id": "SO-1001", "carrier": "SF Express", "tracking_number": "SF1234567890123"}
    messages, events = run(ActionShipOrder(), tracker("", intent="ship_order", token=warehouse, **slots))
    assert messages[0]["response"] == "utter_change_refused"
    assert "pending_change" not in slots_set(events)


def test_settlement_asks_first_needs_finance_and_only_for_a_day_that_has_ended(
    order_service, finance, warehouse
):
    from datetime import timedelta

    from actions.staff import local_today

    later = (local_today() + timedelta(days=10)).isoformat()
    messages, events = run(
        ActionSettlePayments(),
        tracker(f"settle {later}", intent="settle_payments", entities={"date": later}, token=finance),
    )
    assert messages[0]["response"] == "utter_ask_settle" and messages[0]["date"] == later
    pending = slots_set(events)["pending_change"]
    refused, _ = run(ActionAffirm(), tracker("yes", intent="affirm", token=warehouse, pending_change=pending))
    assert refused[0]["response"] == "utter_staff_only"
    early, _ = run(ActionAffirm(), tracker("yes", intent="affirm", token=finance, pending_change=pending))
    assert early[0]["response"] == "utter_change_refused"
    assert f"{later} has not ended yet" in early[0]["reason"]
    # Without a day named, the last one that has ended is asked for, and it runs.
    messages, events = run(
        ActionSettlePayments(), tracker("run the settlement", intent="settle_payments", token=finance)
    )
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    assert messages[0]["response"] == "utter_ask_settle" and messages[0]["date"] == yesterday
    pending = slots_set(events)["pending_change"]
    done, _ = run(ActionAffirm(), tracker("yes", intent="affirm", token=finance, pending_change=pending))
    assert done[0]["response"] == "utter_settled" and done[0]["date"] == yesterday


def test_list_orders_by_state(warehouse):
    messages, _ = run(
        ActionListOrders(),
        tracker(
            "list cancelled orders",
            intent="list_orders",
            entities={"order_state": "cancelled"},
            token=warehouse,
        ),
    )
    assert messages[0]["response"] == "utter_order_list"
    assert "SO-1006" in messages[0]["lines"] and "SO-1001" not in messages[0]["lines"]
    chinese, _ = run(
        ActionListOrders(), tracker("客户 C-001 的订单", language="zh", intent="list_orders", token=warehouse)
    )
    assert "SO-1001 · 张伟" in chinese[0]["lines"] and "SO-1019" in chinese[0]["lines"]
    none, _ = run(ActionListOrders(), tracker("orders of C-999", intent="list_orders", token=warehouse))
    assert none[0]["response"] == "utter_no_orders"


def test_the_state_filter_is_named_in_the_users_language(warehouse):
    zh, _ = run(
        ActionListOrders(),
        tracker(
            "列出已取消的订单",
            language="zh",
            intent="list_orders",
            entities={"order_state": "cancelled"},
            token=warehouse,
        ),
    )
    assert zh[0]["filter"] == "（已取消）"
    en, _ = run(
        ActionListOrders(),
        tracker(
            "list pending orders",
            intent="list_orders",
            entities={"order_state": "pending_confirmation"},
            token=warehouse,
        ),
    )
    assert en[0]["filter"] == " (waiting for your confirmation)"


def test_import_without_configured_sources_says_so(order_service):
    operations = sign_in_staff(order_service, "operations")
    messages, _ = run(
        ActionImportOrders(), tracker("import orders", intent="import_orders", token=operations)
    )
    assert messages[0]["response"] == "utter_ask_import_source" and messages[0]["sources"] == "-"


def test_the_fallback_suggests_first_and_offers_a_person_after_a_second_miss(order_service):
    first = tracker(
        "blorp",
        intent="nlu_fallback",
        events=[{"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}],
    )
    first.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback"},
        {"name": "order_status"},
        {"name": "request_invoice"},
    ]
    messages, _ = run(ActionFallback(), first)
    assert messages[0]["response"] == "utter_suggest"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/order_status", "/request_invoice"]
    second = tracker(
        "blorp again",
        intent="nlu_fallback",
        events=[{"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}] * 2,
    )
    messages, _ = run(ActionFallback(), second)
    assert messages[0]["response"] == "utter_offer_human"


def test_rights_are_checked_before_anything_is_asked(order_service, warehouse, finance):
    # A warehouse clerk asking to settle hears no at once, not after "yes".
    messages, events = run(
        ActionSettlePayments(), tracker("settle yesterday", intent="settle_payments", token=warehouse)
    )
    assert [m["response"] for m in messages] == ["utter_change_refused"]
    assert messages[0]["reason"] == "the warehouse role may not run the settlement."
    assert "pending_change" not in slots_set(events)
    chinese, _ = run(
        ActionImportOrders(), tracker("导入订单", language="zh", intent="import_orders", token=warehouse)
    )
    assert (
        chinese[0]["response"] == "utter_change_refused" and chinese[0]["reason"] == "您没有权限执行该操作。"
    )
    # Finance may not record shipments: the form asks nothing and ends; the action says why.
    form = ValidateShipmentForm()
    asked = asyncio.run(
        form.required_slots(
            ["order_id", "carrier", "tracking_number"],
            None,
            tracker("ship SO-1003", intent="ship_order", token=finance),
            {},
        )
    )
    assert asked == []
    refused, _ = run(ActionShipOrder(), tracker("ship SO-1003", intent="ship_order", token=finance))
    assert refused[0]["response"] == "utter_change_refused" and "finance role may not" in refused[0]["reason"]
    kept = asyncio.run(
        form.required_slots(
            ["order_id", "carrier", "tracking_number"],
            None,
            tracker("ship SO-1003", intent="ship_order", token=warehouse),
            {},
        )
    )
    assert kept == ["order_id", "carrier", "tracking_number"]


def misunderstood(token: str | None) -> list[str]:
    """The suggestion buttons a sender gets after a first misunderstanding where every intent is likely."""
    ranking = [
        {"name": name}
        for name in (
            "ship_order",
            "import_orders",
            "settle_payments",
            "order_status",
            "cancel_order",
            "stock_in",
            "request_invoice",
        )
    ]
    blorp = tracker("blorp", intent="nlu_fallback", token=token)
    blorp.latest_message["intent_ranking"] = ranking
    messages, _ = run(ActionFallback(), blorp)
    return [b["payload"] for b in messages[0]["buttons"]]


def test_suggestions_offer_only_what_the_sender_may_do(order_service, warehouse, finance):
    customer = sign_in_customer(order_service, "SO-1007", "liu.yang@example.cn")
    assert misunderstood(None) == ["/order_status", "/cancel_order"]  # a visitor: never a staff action
    assert misunderstood(customer) == ["/order_status", "/cancel_order"]
    assert misunderstood(warehouse) == ["/ship_order", "/order_status"]
    assert misunderstood(finance) == ["/settle_payments", "/order_status"]
    operations = sign_in_staff(order_service, "operations")
    assert misunderstood(operations) == ["/ship_order", "/import_orders"]
