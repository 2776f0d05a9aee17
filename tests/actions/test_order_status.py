"""action_order_status against a real order service on a loopback port (sample orders loaded)."""

import asyncio
import json
import urllib.request

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import contact_in
from actions.order_ids import normalise_order_id
from actions.order_status import ActionOrderStatus
from tests.conftest import free_port


def sign_in(url: str, order_id: str, email: str) -> str:
    request = urllib.request.Request(
        f"{url}/api/v1/auth/customer",
        data=json.dumps({"order_id": order_id, "email": email}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def tracker(
    text: str,
    language: str = "en",
    entity: str | None = None,
    slot: str | None = None,
    token: str | None = None,
    token_slot: str | None = None,
) -> Tracker:
    entities = [{"entity": "order_id", "value": entity}] if entity else []
    return Tracker.from_dict(
        {
            "sender_id": "customer",
            "slots": {"language": language, "order_id": slot, "customer_token": token_slot},
            "latest_message": {
                "text": text,
                "entities": entities,
                "intent": {"name": "order_status"},
                "metadata": {"token": token} if token else {},
            },
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


@pytest.fixture
def li_na(order_service) -> str:
    return sign_in(order_service, "SO-1003", "li.na@example.cn")  # customer C-003, owner of SO-1003


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SO-1001 zhang.wei@example.cn", ("zhang.wei@example.cn", None)),
        ("SO-1003 13900139001", (None, "13900139001")),
        ("订单SO-1005 手机 137-0013-7002", (None, "137-0013-7002")),
        ("where is SO-1001", (None, None)),
    ],
)
def test_contact_details_typed_in_the_chat(text, expected):
    assert contact_in(text) == expected


def test_status_in_english_with_the_widget_token(li_na):
    messages, events = run(tracker("where is so1003?", entity="so1003", token=li_na))
    assert messages[0]["response"] == "utter_order_status"
    assert (messages[0]["order_id"], messages[0]["status"]) == ("SO-1003", "stocked in and awaiting shipment")
    assert events == [SlotSet("order_id", "SO-1003")]


def test_status_in_chinese(li_na):
    messages, _ = run(tracker("我的订单SO-1003到哪了", language="zh", entity="SO-1003", token=li_na))
    assert messages[0]["status"] == "已入库，等待发货"


def test_another_customers_order_is_not_found(li_na):
    messages, _ = run(tracker("where is SO-1004", entity="SO-1004", token=li_na))
    assert messages[0]["response"] == "utter_order_not_found"


def test_without_a_token_the_customer_is_asked_to_prove_who_they_are(order_service):
    messages, events = run(tracker("where is SO-1003", entity="SO-1003"))
    assert messages[0]["response"] == "utter_ask_verification"
    assert events == [SlotSet("order_id", "SO-1003")]


def test_proof_typed_in_the_chat_signs_the_customer_in(order_service):
    messages, events = run(tracker("SO-1003 li.na@example.cn", entity="SO-1003"))
    assert messages[0]["status"] == "stocked in and awaiting shipment"
    token_events = [e for e in events if e["name"] == "customer_token"]
    assert token_events and token_events[0]["value"]


def test_wrong_proof_is_refused(order_service):
    messages, events = run(tracker("SO-1003 someone@example.com", entity="SO-1003"))
    assert messages[0]["response"] == "utter_verification_failed"
    assert all(e["name"] != "customer_token" for e in events)


def test_a_forged_token_is_not_trusted(order_service):
    messages, events = run(tracker("where is SO-1003", entity="SO-1003", token="e30.e30.forged"))
    assert messages[0]["response"] == "utter_ask_verification"
    assert SlotSet("customer_token", None) in events


def test_the_order_of_the_conversation_is_used_when_none_is_named(li_na):
    messages, _ = run(tracker("and now?", slot="SO-1003", token_slot=li_na))
    assert (messages[0]["order_id"], messages[0]["status"]) == ("SO-1003", "stocked in and awaiting shipment")


def test_without_an_order_number_the_bot_asks_for_one(order_service):
    messages, events = run(tracker("where is my order?"))
    assert messages[0]["response"] == "utter_ask_order_id"
    assert events == []


def test_an_unreachable_order_service_gets_a_polite_answer(monkeypatch):
    monkeypatch.setenv("ORDER_SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ORDER_SERVICE_TIMEOUT", "2")
    messages, events = run(tracker("where is SO-1001", entity="SO-1001", token="x.y.z"))
    assert messages[0]["response"] == "utter_order_service_unavailable"
    assert events == []
