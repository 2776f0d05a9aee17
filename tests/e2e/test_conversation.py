"""A customer asks where an order is, over REST and over socket.io, in English and in Chinese."""

from __future__ import annotations

import queue
import uuid

import pytest
import requests
import socketio


def rest_chat(stack, text: str) -> list[str]:
    response = requests.post(
        f"{stack.urls()['rasa']}/webhooks/rest/webhook",
        json={"sender": f"e2e-{uuid.uuid4().hex}", "message": text},
        timeout=30,
    )
    response.raise_for_status()
    return [message["text"] for message in response.json()]


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

    def say(self, text: str, **extra) -> dict:
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id, **extra})
        return self.replies.get(timeout=30)

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def widget(stack):
    client = WidgetClient(stack.urls()["rasa"])
    yield client
    client.close()


def test_rest_english(stack):
    assert rest_chat(stack, "Where is my order SO-1003?") == [
        "Order SO-1003 is stocked in and awaiting shipment."
    ]


def test_rest_chinese(stack):
    assert rest_chat(stack, "我的订单SO-1004到哪了") == ["订单 SO-1004 当前状态：已发货。"]


def test_rest_unknown_order(stack):
    replies = rest_chat(stack, "what's the status of so9999")
    assert replies == ["I could not find an order SO-9999. Please check the number and try again."]


def test_socketio_english(widget):
    assert widget.say("hello")["text"].startswith("Hello!")
    assert widget.say("has order SO-1009 shipped yet?")["text"] == "Order SO-1009 is shipped."


def test_socketio_chinese(widget):
    assert widget.say("你好")["text"].startswith("您好")
    assert widget.say("帮我查一下订单 so1010 的状态")["text"] == "订单 SO-1010 当前状态：已结算。"


def test_socketio_follows_the_conversation(widget):
    assert widget.say("where is my order?")["text"].startswith("Which order do you mean?")
    assert widget.say("SO-1001")["text"] == "Order SO-1001 is waiting for your confirmation."


def test_socketio_refuses_malformed_messages_without_dropping_the_connection(widget):
    assert widget.say(["not", "an", "object"][0] * 3000)["error"] is True  # over the size limit
    widget.client.emit("user_uttered", "just a string")
    assert widget.replies.get(timeout=10)["error"] is True
    assert widget.say("hi", customData="{not json")["error"] is True
    assert (
        widget.say("Where is SO-1002?")["text"]
        == "Order SO-1002 is confirmed, waiting for the goods to be stocked in."
    )
