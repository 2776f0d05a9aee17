"""A customer asks where an order is, over REST and over socket.io, in English and in Chinese."""

from __future__ import annotations

import queue
import uuid

import pytest
import requests
import socketio


def sign_in(stack, order_id: str, email: str) -> str:
    """What the chat page does when a customer signs in: a token from the order service."""
    response = requests.post(
        f"{stack.urls()['orders']}/api/v1/auth/customer",
        json={"order_id": order_id, "email": email},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def rest_chat(stack, text: str, token: str | None = None, sender: str | None = None) -> list[str]:
    response = requests.post(
        f"{stack.urls()['rasa']}/webhooks/rest/webhook",
        json={
            "sender": sender or f"e2e-{uuid.uuid4().hex}",
            "message": text,
            "metadata": {"token": token} if token else {},
        },
        timeout=30,
    )
    response.raise_for_status()
    return [message["text"] for message in response.json()]


@pytest.fixture(scope="module")
def li_na(stack) -> str:
    return sign_in(stack, "SO-1003", "li.na@example.cn")  # owns SO-1003


@pytest.fixture(scope="module")
def zhang_wei(stack) -> str:
    return sign_in(stack, "SO-1001", "zhang.wei@example.cn")  # owns SO-1001 and SO-1019


class WidgetClient:
    """What a web widget does: socket.io, session_request, then user_uttered with the session id."""

    def __init__(self, url: str) -> None:
        self.replies: queue.Queue = queue.Queue()
        self.sessions: queue.Queue = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("session_confirm", self.sessions.put)
        self.client.connect(url, socketio_path="/socket.io", transports=["websocket"], wait_timeout=10)
        self.client.emit("session_request", {"session_id": uuid.uuid4().hex})
        self.session_id = self.sessions.get(timeout=10)

    def say(self, text: str, token: str | None = None, **extra) -> dict:
        custom = {"customData": {"token": token}} if token else {}
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id, **custom, **extra})
        return self.replies.get(timeout=30)

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def widget(stack):
    client = WidgetClient(stack.urls()["rasa"])
    yield client
    client.close()


def test_rest_english(stack, li_na):
    assert rest_chat(stack, "Where is my order SO-1003?", li_na) == [
        "Order SO-1003 is stocked in and awaiting shipment."
    ]


def test_rest_chinese(stack, zhang_wei):
    # SO-1019 came from the ERP already shipped: no parcel to tell of, and the reply says so.
    assert rest_chat(stack, "我的订单SO-1019到哪了", zhang_wei) == [
        "订单 SO-1019 已发货，但我这里没有它的快递公司和运单号。可以为您转人工查询。"
    ]


def test_rest_unknown_order(stack, li_na):
    replies = rest_chat(stack, "what's the status of so9999", li_na)
    assert replies == ["I could not find an order SO-9999. Please check the number and try again."]


def test_another_customers_order_looks_unknown(stack, li_na):
    assert rest_chat(stack, "where is SO-1001?", li_na) == [
        "I could not find an order SO-1001. Please check the number and try again."
    ]


def test_a_visitor_proves_who_they_are_before_any_order_fact(stack):
    sender = f"visitor-{uuid.uuid4().hex}"
    (asked,) = rest_chat(stack, "where is my order SO-1004?", sender=sender)
    assert asked.startswith("To keep your orders private") and "shipped" not in asked
    (refused,) = rest_chat(stack, "SO-1004 someone@example.com", sender=sender)
    assert refused.startswith("That e-mail address or phone number does not match order SO-1004")
    shipped = (
        "Order SO-1004 is shipped, but I have no carrier or tracking number for it. "
        "A person can find out for you."
    )
    assert rest_chat(stack, "SO-1004 +44 20 7946 0958", sender=sender) == [shipped]
    assert rest_chat(stack, "where is SO-1004 now?", sender=sender) == [shipped]


def test_socketio_english(widget, zhang_wei):
    assert widget.say("hello")["text"].startswith("Hello!")
    assert widget.say("has order SO-1019 shipped yet?", zhang_wei)["text"].startswith(
        "Order SO-1019 is shipped, but I have no carrier or tracking number"
    )


def test_socketio_chinese(widget, zhang_wei):
    assert widget.say("你好")["text"].startswith("您好")
    assert widget.say("帮我查一下订单 so1001 的状态", zhang_wei)["text"] == "订单 SO-1001 当前状态：待确认。"


def test_socketio_follows_the_conversation(widget, zhang_wei):
    # Zhang Wei has two open orders: the question names them, and typing one answers it.
    asked = widget.say("where is my order?", zhang_wei)
    assert asked["text"] == "Which of your orders do you mean?"
    assert [b["title"][:7] for b in asked.get("quick_replies") or asked.get("buttons") or []] == [
        "SO-1019",
        "SO-1001",
    ]
    assert widget.say("SO-1001", zhang_wei)["text"] == "Order SO-1001 is waiting for your confirmation."


def test_socketio_refuses_malformed_messages_without_dropping_the_connection(widget, li_na):
    assert widget.say("x" * 3000)["error"] is True  # over the size limit
    widget.client.emit("user_uttered", "just a string")
    assert widget.replies.get(timeout=10)["error"] is True
    assert widget.say("hi", customData="{not json")["error"] is True
    assert widget.say("where is SO-1003\x00?")["text"].startswith("Malformed message: it contains a control")
    deep = widget.say("hi", customData='{"a":' * 40 + "1" + "}" * 40)  # nesting bounded before parsing
    assert deep["error"] is True and "nested deeper" in deep["text"]
    assert "control character" in widget.say("hi", customData={"token": "x\u0000"})["text"]
    assert (
        widget.say("Where is SO-1003?", li_na)["text"] == "Order SO-1003 is stocked in and awaiting shipment."
    )


def staff_token(stack, name: str, role: str) -> str:
    """A staff user added with the CLI, signed in as the staff console would."""
    import subprocess

    from devtools.stack import ROOT

    password = f"{role} password"
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "orders", "users", "add", name, "--role", role]
        + ["--password-stdin"],
        env=stack.env,
        input=f"{password}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    response = requests.post(
        f"{stack.urls()['orders']}/api/v1/auth/token",
        json={"username": name, "password": password},
        timeout=10,
    )
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def warehouse_token(stack) -> str:
    return staff_token(stack, "wang", "warehouse")


@pytest.fixture(scope="module")
def operations_token(stack) -> str:
    return staff_token(stack, "mei", "operations")


def test_staff_over_rest_with_a_staff_token(stack, warehouse_token):
    sender = f"staff-{uuid.uuid4().hex}"
    (listed,) = rest_chat(stack, "show me the cancelled orders", warehouse_token, sender)
    assert "SO-1006" in listed and "SO-1017" in listed
    assert rest_chat(stack, "订单SO-1007已入库", warehouse_token, sender) == [
        "订单 SO-1007 已入库，等待发货。"
    ]
    assert rest_chat(stack, "ship SO-1007", warehouse_token, sender) == [
        "Which carrier ships it (e.g. SF Express, ZTO, JD Logistics, DHL)?"
    ]
    assert rest_chat(stack, "顺丰", warehouse_token, sender) == ["运单号是多少？"]
    # A tracking number alone says nothing about the language: the conversation stays in Chinese.
    (asked,) = rest_chat(stack, "SF1234567890123", warehouse_token, sender)
    assert asked == "确认用 SF Express 发货订单 SO-1007，运单号 SF1234567890123？客户会收到通知。"
    (shipped,) = rest_chat(stack, "yes", warehouse_token, sender)
    assert shipped.startswith("Order SO-1007 is shipped with SF Express (SF1234567890123); freight CNY ")


def test_a_fourteen_digit_zto_number_fills_the_form_and_a_wrong_one_is_named(stack, warehouse_token):
    # The NLU's tracking-number patterns come from config/carriers.yml: ZTO takes 12 to 15 digits.
    sender = f"staff-{uuid.uuid4().hex}"
    (asked,) = rest_chat(stack, "ship SO-1003 with ZTO 78912345678901", warehouse_token, sender)
    assert asked == (
        "Ship order SO-1003 with ZTO Express, tracking number 78912345678901? The customer will be told."
    )
    assert rest_chat(stack, "no", warehouse_token, sender) == ["All right, I changed nothing."]
    assert rest_chat(stack, "ship SO-1003", warehouse_token, sender) == [
        "Which carrier ships it (e.g. SF Express, ZTO, JD Logistics, DHL)?"
    ]
    assert rest_chat(stack, "ZTO", warehouse_token, sender) == ["What is the tracking number?"]
    wrong = rest_chat(stack, "ABC-12", warehouse_token, sender)  # in no carrier's format
    assert wrong == [
        "'ABC-12' is not a ZTO Express tracking number (like 731234567890).",
        "What is the tracking number?",
    ]
    (asked,) = rest_chat(stack, "it is 78912345678901", warehouse_token, sender)
    assert "ZTO Express, tracking number 78912345678901?" in asked
    assert rest_chat(stack, "no", warehouse_token, sender) == ["All right, I changed nothing."]


def test_rights_are_checked_before_anything_is_asked(stack, warehouse_token):
    sender = f"staff-{uuid.uuid4().hex}"
    assert rest_chat(stack, "run the settlement", warehouse_token, sender) == [
        "I could not do that: the warehouse role may not run the settlement."
    ]
    assert rest_chat(stack, "import orders from the erp", warehouse_token, sender) == [
        "I could not do that: the warehouse role may not import orders."
    ]


def test_a_staff_sender_id_without_a_token_gets_nothing(stack, warehouse_token):
    sender = f"staff-{uuid.uuid4().hex}"
    rest_chat(stack, "list orders", warehouse_token, sender)  # the same sender, signed in once
    assert rest_chat(stack, "show me the cancelled orders", sender=sender) == [
        "Sorry, only signed-in staff can do that."
    ]
    assert rest_chat(stack, "SO-1009 stocked in", sender=sender) == [
        "Sorry, only signed-in staff can do that."
    ]


def test_a_customer_handed_to_a_person_hears_from_the_bot_again_when_staff_close_the_ticket(
    stack, zhang_wei, operations_token
):
    sender = f"handoff-{uuid.uuid4().hex}"
    (opened,) = rest_chat(stack, "I want to talk to a human", zhang_wei, sender)
    assert opened.startswith("I have passed your request to our staff (ticket #")
    ticket = int(opened.split("#", 1)[1].split(")", 1)[0])
    # Paused: staff answer in the console now, the bot stays quiet however the customer asks.
    assert rest_chat(stack, "where is SO-1001?", zhang_wei, sender) == []
    closed = requests.post(
        f"{stack.urls()['orders']}/api/v1/handoffs/{ticket}/close",
        headers={"Authorization": f"Bearer {operations_token}"},
        timeout=30,
    )
    assert closed.status_code == 200 and closed.json()["bot_resumed"] is True
    assert rest_chat(stack, "where is SO-1001?", zhang_wei, sender) == [
        "Order SO-1001 is waiting for your confirmation."
    ]
