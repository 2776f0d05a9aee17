"""The customer's actions against a real order service (sample orders, see data/samples/erp_orders.csv)."""

import re
import urllib.error
import urllib.request

import pytest

from actions.customer import ActionCancelOrder, ActionConfirmOrder, ActionOrderStatus, ActionRequestInvoice
from actions.dialogue import ActionAffirm, ActionDeny, ActionHumanHandoff, ActionInform
from actions.identity import contact_in
from actions.order_ids import entity_order_id, normalise_order_id
from actions.replies import too_many_attempts
from tests.actions.conftest import run, sign_in_customer, slots_set, tracker
from tests.conftest import free_port


@pytest.fixture
def li_na(order_service) -> str:
    return sign_in_customer(order_service, "SO-1003", "li.na@example.cn")  # C-003, owner of SO-1003


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SO-1001", "SO-1001"),
        ("so1001", "SO-1001"),
        ("where is so 1234?", "SO-1234"),
        ("订单SO_20001到哪了", "SO-20001"),
        ("订单1005入库了", "SO-1005"),
        ("订单号：1006", "SO-1006"),
        ("ALSO-1001", None),
        ("SO-12", None),
        ("", None),
        (None, None),
    ],
)
def test_order_ids_are_normalised(text, expected):
    assert normalise_order_id(text) == expected


def test_entity_values_may_be_bare_numbers():
    assert entity_order_id("1005") == "SO-1005"
    assert entity_order_id("so-1005") == "SO-1005"
    assert entity_order_id("12") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SO-1001 zhang.wei@example.cn", ("zhang.wei@example.cn", None)),
        ("SO-1003 13900139001", (None, "13900139001")),
        ("订单SO-1005 手机 137-0013-7002", (None, "137-0013-7002")),
        ("where is SO-1001", (None, None)),
        ("订单1005 手机 13700137002", (None, "13700137002")),
    ],
)
def test_contact_details_typed_in_the_chat(text, expected):
    assert contact_in(text) == expected


def test_status_in_english_with_the_widget_token(li_na):
    messages, events = run(
        ActionOrderStatus(), tracker("where is so1003?", entities={"order_id": "so1003"}, token=li_na)
    )
    assert messages[0]["response"] == "utter_order_status"
    assert (messages[0]["order_id"], messages[0]["status"]) == ("SO-1003", "stocked in and awaiting shipment")
    assert slots_set(events)["order_id"] == "SO-1003"


def test_status_in_chinese(li_na):
    messages, _ = run(ActionOrderStatus(), tracker("我的订单SO-1003到哪了", language="zh", token=li_na))
    assert messages[0]["status"] == "已入库，等待发货"


def test_another_customers_order_is_not_found(li_na):
    messages, _ = run(ActionOrderStatus(), tracker("where is SO-1004", token=li_na))
    assert messages[0]["response"] == "utter_order_not_found"


def test_without_a_token_the_customer_is_asked_to_prove_who_they_are(order_service):
    messages, events = run(ActionOrderStatus(), tracker("where is SO-1003"))
    assert messages[0]["response"] == "utter_ask_verification"
    assert slots_set(events) == {"order_id": "SO-1003", "requested_action": "action_order_status"}


def test_the_answer_to_the_proof_question_resumes_the_request(order_service):
    asked = tracker("SO-1003 li.na@example.cn", intent="inform", requested_action="action_order_status")
    messages, events = run(ActionInform(), asked)
    assert messages[0]["status"] == "stocked in and awaiting shipment"
    assert slots_set(events)["customer_token"]


def test_wrong_proof_is_refused(order_service):
    messages, events = run(ActionOrderStatus(), tracker("SO-1003 someone@example.com"))
    assert messages[0]["response"] == "utter_verification_failed"
    assert "customer_token" not in slots_set(events)


def test_after_too_many_wrong_proofs_the_wait_is_said_in_words_and_other_chat_users_get_in(order_service):
    """The order service counts failures per chat user (the action server names the sender), so one
    guesser does not lock out the other chat users, who all come from the action server's address."""
    replies = []
    for _ in range(10):  # 5 failures lock for 1 s, then each doubles: a lock is met long before 10
        guess = tracker("SO-1009 guess@example.com", language="zh")
        guess.sender_id = "guesser-of-so-1009"
        messages, events = run(ActionOrderStatus(), guess)
        replies.append(messages[0])
        if messages[0]["response"] == "utter_change_refused":
            break
    assert [r["response"] for r in replies[:5]] == ["utter_verification_failed"] * 5
    assert replies[-1]["response"] == "utter_change_refused"
    assert re.fullmatch(r"验证失败次数过多，请 \d+ (秒|分钟)后再试。", replies[-1]["reason"])
    assert slots_set(events)["requested_action"] == "action_order_status"  # asked again after the wait
    real = tracker("SO-1009 chen.jing@example.cn")
    real.sender_id = "the-customer"
    messages, events = run(ActionOrderStatus(), real)
    assert messages[0]["response"] == "utter_no_parcel_details" and slots_set(events)["customer_token"]


def test_a_wait_in_words():
    assert too_many_attempts(1, "en").endswith("Please try again in 1 second.")
    assert too_many_attempts(90, "en").endswith("Please try again in 2 minutes.")
    assert too_many_attempts(900, "zh") == "验证失败次数过多，请 15 分钟后再试。"


def test_a_forged_token_is_not_trusted(order_service):
    messages, events = run(ActionOrderStatus(), tracker("where is SO-1003", token="e30.e30.forged"))
    assert messages[0]["response"] == "utter_ask_verification"
    assert slots_set(events)["customer_token"] is None


def test_the_order_of_the_conversation_is_used_when_none_is_named(li_na):
    messages, _ = run(ActionOrderStatus(), tracker("and now?", order_id="SO-1003", customer_token=li_na))
    assert (messages[0]["order_id"], messages[0]["status"]) == ("SO-1003", "stocked in and awaiting shipment")


def test_without_an_order_number_the_bot_asks_for_one(order_service):
    messages, events = run(ActionOrderStatus(), tracker("where is my order?"))
    assert messages[0]["response"] == "utter_ask_order_id"
    assert slots_set(events) == {"requested_action": "action_order_status"}


def test_an_unreachable_order_service_answers_try_again(monkeypatch):
    monkeypatch.setenv("ORDER_SERVICE_URL", f"http://127.0.0.1:{free_port()}")
    messages, _ = run(ActionOrderStatus(), tracker("where is SO-1001", token="x.y.z"))
    assert messages[0]["response"] == "utter_order_service_unavailable"


def test_confirm_then_invoice(order_service):
    token = sign_in_customer(order_service, "SO-1005", "wang.fang@example.cn")
    messages, _ = run(ActionRequestInvoice(), tracker("invoice for SO-1005", token=token))
    assert messages[0]["response"] == "utter_no_invoice_yet"
    messages, _ = run(ActionConfirmOrder(), tracker("confirm SO-1005", token=token))
    assert messages[0]["response"] == "utter_order_confirmed"
    messages, _ = run(ActionRequestInvoice(), tracker("invoice for SO-1005", language="zh", token=token))
    assert messages[0]["response"] == "utter_invoice"
    assert messages[0]["url"].startswith(f"{order_service}/api/v1/orders/SO-1005/invoice.pdf?link_token=")
    assert messages[0]["amount"] == "CNY 2150.75"
    assert_opens_as_pdf(messages[0]["url"])
    again, _ = run(ActionConfirmOrder(), tracker("confirm SO-1005", language="zh", token=token))
    assert again[0]["response"] == "utter_change_refused" and again[0]["reason"] == "您没有权限执行该操作。"


def assert_opens_as_pdf(url: str) -> None:
    """``url`` opened as a browser opens a link: no Authorization header."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.read().startswith(b"%PDF")


def test_an_order_imported_already_confirmed_has_its_invoice(order_service):
    """SO-1002 arrives from the ERP (the sample export) confirmed: its invoice was issued on import, so
    the answer is the invoice and its link, never "no invoice yet: issued when confirmed"."""
    token = sign_in_customer(order_service, "SO-1002", "emily.carter@example.com")
    messages, _ = run(ActionRequestInvoice(), tracker("invoice for SO-1002", token=token))
    assert messages[0]["response"] == "utter_invoice"
    assert re.fullmatch(r"INV-\d{4}-\d{6}", messages[0]["invoice_number"])
    assert messages[0]["amount"] == "CNY 349.90"
    assert_opens_as_pdf(messages[0]["url"])
    # the link is this customer's, for this order: moved to another customer's order it opens nothing
    moved = messages[0]["url"].replace("/SO-1002/", "/SO-1003/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(moved, timeout=10)
    assert refused.value.code == 401


def test_the_invoice_link_names_the_public_address_when_one_is_set(order_service, monkeypatch):
    # In production ORDER_SERVICE_URL is an internal name (http://orders:8080) no browser reaches.
    monkeypatch.setenv("ORDERBOT_PUBLIC_URL", "https://orders.example.com/")
    token = sign_in_customer(order_service, "SO-1002", "emily.carter@example.com")
    messages, _ = run(ActionRequestInvoice(), tracker("invoice for SO-1002", token=token))
    assert messages[0]["url"].startswith("https://orders.example.com/api/v1/orders/SO-1002/invoice.pdf?")


def test_cancel_asks_first_and_yes_cancels(order_service):
    token = sign_in_customer(order_service, "SO-1011", "yang.lei@example.cn")
    messages, events = run(ActionCancelOrder(), tracker("cancel SO-1011", token=token))
    assert messages[0]["response"] == "utter_ask_cancel"
    pending = slots_set(events)["pending_change"]
    messages, events = run(
        ActionAffirm(), tracker("yes", intent="affirm", token=token, pending_change=pending)
    )
    assert messages[0]["response"] == "utter_order_cancelled"
    assert slots_set(events)["pending_change"] is None
    status, _ = run(ActionOrderStatus(), tracker("where is SO-1011", token=token))
    assert status[0]["status"] == "cancelled"


def test_no_leaves_the_order_as_it_was(order_service):
    token = sign_in_customer(order_service, "SO-1015", "huang.li@example.cn")
    _, events = run(ActionCancelOrder(), tracker("cancel SO-1015", token=token))
    messages, events = run(ActionDeny(), tracker("no", intent="deny", token=token, **slots_set(events)))
    assert messages[0]["response"] == "utter_nothing_changed"
    assert slots_set(events)["pending_change"] is None
    status, _ = run(ActionOrderStatus(), tracker("where is SO-1015", token=token))
    assert status[0]["status"] == "waiting for your confirmation"


def test_a_customer_cannot_cancel_once_confirmed(order_service):
    token = sign_in_customer(order_service, "SO-1012", "ava.johnson@example.com")  # imported as confirmed
    messages, events = run(ActionCancelOrder(), tracker("cancel SO-1012", token=token))
    assert messages[0]["response"] == "utter_change_refused"
    assert "pending_change" not in slots_set(events)


def test_yes_with_nothing_pending(order_service):
    messages, _ = run(ActionAffirm(), tracker("yes", intent="affirm", token="x"))
    assert messages[0]["response"] == "utter_nothing_to_confirm"


def test_handoff_opens_a_ticket(order_service):
    messages, events = run(ActionHumanHandoff(), tracker("I want a human", intent="human_handoff"))
    assert messages[0]["response"] == "utter_handoff_opened" and messages[0]["ticket"] >= 1
    assert events == []  # a visitor's ticket cannot be answered in the chat: the bot goes on


def test_a_customers_handoff_pauses_the_bot_until_staff_close_it(order_service, li_na):
    messages, events = run(ActionHumanHandoff(), tracker("人工客服", intent="human_handoff", token=li_na))
    assert messages[0]["response"] == "utter_handoff_opened"
    assert [event["event"] for event in events] == ["pause"]


def test_a_customer_who_proved_who_they_are_by_typing_is_not_paused(order_service, li_na):
    # Their token is in the conversation's slot, not in a page's metadata: no page of theirs
    # listens to the hub, so staff answers could not reach them while the bot kept quiet.
    proved = tracker("人工客服", intent="human_handoff", customer_token=li_na)
    messages, events = run(ActionHumanHandoff(), proved)
    assert messages[0]["response"] == "utter_handoff_opened" and events == []
