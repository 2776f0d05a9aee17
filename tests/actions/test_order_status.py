import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.order_ids import normalise_order_id
from actions.order_status import ActionOrderStatus
from tests.conftest import free_port


def tracker(text: str, language: str = "en", entity: str | None = None, slot: str | None = None) -> Tracker:
    entities = [{"entity": "order_id", "value": entity}] if entity else []
    return Tracker.from_dict(
        {
            "sender_id": "customer",
            "slots": {"language": language, "order_id": slot},
            "latest_message": {"text": text, "entities": entities, "intent": {"name": "order_status"}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def run(tracker_: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionOrderStatus().run(dispatcher, tracker_, {}))
    return dispatcher.messages, events


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SO-1001", "SO-1001"),
        ("so1001", "SO-1001"),
        ("where is so 1234?", "SO-1234"),
        ("订单SO_20001到哪了", "SO-20001"),
        ("ALSO-1001", None),
        ("SO-12", None),
        ("", None),
        (None, None),
    ],
)
def test_order_ids_are_normalised(text, expected):
    assert normalise_order_id(text) == expected


def test_status_in_english(order_service):
    messages, events = run(tracker("where is so1003?", entity="so1003"))
    assert messages[0]["response"] == "utter_order_status"
    assert (messages[0]["order_id"], messages[0]["status"]) == ("SO-1003", "stocked in and awaiting shipment")
    assert events == [SlotSet("order_id", "SO-1003")]


def test_status_in_chinese(order_service):
    messages, _ = run(tracker("我的订单SO-1004到哪了", language="zh", entity="SO-1004"))
    assert messages[0]["status"] == "已发货"


def test_the_order_of_the_conversation_is_used_when_none_is_named(order_service):
    messages, _ = run(tracker("and now?", slot="SO-1010"))
    assert (messages[0]["order_id"], messages[0]["status"]) == ("SO-1010", "settled")


def test_without_an_order_number_the_bot_asks_for_one(order_service):
    messages, events = run(tracker("where is my order?"))
    assert messages[0]["response"] == "utter_ask_order_id"
    assert events == []


def test_an_unknown_order_gets_a_polite_answer(order_service):
    messages, events = run(tracker("where is SO-9999", entity="SO-9999"))
    assert messages[0]["response"] == "utter_order_not_found"
    assert messages[0]["order_id"] == "SO-9999"
    assert events == [SlotSet("order_id", None)]


def test_an_unreachable_order_service_gets_a_polite_answer(monkeypatch):
    monkeypatch.setenv("ORDER_SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ORDER_SERVICE_TIMEOUT", "2")
    messages, events = run(tracker("where is SO-1001", entity="SO-1001"))
    assert messages[0]["response"] == "utter_order_service_unavailable"
    assert events == []
