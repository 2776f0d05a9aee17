"""Whole conversations (REST and socket.io, English and Chinese): a signed-in customer asking without an
order number, and what they ask next about a shipped parcel."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.test_conversation import WidgetClient, sign_in, staff_token


def chat(stack, text: str, token: str, sender: str) -> list[dict]:
    """The bot's messages (text and buttons) for one user message over Rasa's REST channel."""
    response = requests.post(
        f"{stack.urls()['rasa']}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, "metadata": {"token": token}},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def texts(messages: list[dict]) -> list[str]:
    return [message["text"] for message in messages]


@pytest.fixture(scope="module")
def shop(stack):
    """A customer with three open orders (Gao) and one whose order ships with DHL today (Ma)."""
    suffix = f"{uuid.uuid4().int % 10_000:04d}"
    gao, ma = f"C-70{suffix},高远,gao.yuan@example.cn", f"C-71{suffix},Ma Li,ma.li@example.com"
    rows = [
        f"SO-7{suffix}1,{gao},10.00,CNY,pending_confirmation,2026-11-20 09:00:00",
        f"SO-7{suffix}2,{gao},20.00,CNY,confirmed,2026-11-21 09:00:00",
        f"SO-7{suffix}3,{gao},30.00,CNY,awaiting_shipment,2026-11-22 09:00:00",
        f"SO-6{suffix}1,{ma},50.00,CNY,awaiting_shipment,2026-11-20 09:00:00",
    ]
    header = "order_id,customer_id,customer_name,email,amount,currency,status,created_at"
    orders_url = stack.urls()["orders"]
    operations = {"Authorization": f"Bearer {staff_token(stack, f'ops{suffix}', 'operations')}"}
    export = io.BytesIO((header + "\n" + "\n".join(rows) + "\n").encode())
    imported = requests.post(
        f"{orders_url}/api/v1/imports", files={"file": ("shop.csv", export)}, headers=operations, timeout=60
    )
    assert imported.json()["inserted"] == 4, imported.text
    shipped = f"SO-6{suffix}1"
    for method, path, body in (
        ("PUT", "shipment", {"carrier": "DHL", "tracking_number": "1234567890"}),
        ("POST", "transitions", {"action": "ship"}),
    ):
        requests.request(
            method, f"{orders_url}/api/v1/orders/{shipped}/{path}", json=body, headers=operations, timeout=10
        ).raise_for_status()
    return {
        "gao": sign_in(stack, f"SO-7{suffix}1", "gao.yuan@example.cn"),
        "ma": sign_in(stack, shipped, "ma.li@example.com"),
        "open": [f"SO-7{suffix}3", f"SO-7{suffix}2", f"SO-7{suffix}1"],
        "shipped": shipped,
        "today": datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat(),
    }


def test_three_open_orders_get_a_question_with_a_button_each(stack, shop):
    sender = f"e2e-{uuid.uuid4().hex}"
    [question] = chat(stack, "我的订单到哪了？", shop["gao"], sender)
    assert question["text"] == "您指的是哪个订单？"
    assert [b["title"] for b in question["buttons"]] == [
        f"{shop['open'][0]} · 已入库，等待发货 · CNY 30.00",
        f"{shop['open'][1]} · 已确认，等待入库 · CNY 20.00",
        f"{shop['open'][2]} · 待确认 · CNY 10.00",
    ]
    # The widget sends a button's payload as the message.
    assert texts(chat(stack, question["buttons"][1]["payload"], shop["gao"], sender)) == [
        f"订单 {shop['open'][1]} 当前状态：已确认，等待入库。"
    ]


def test_a_shipped_order_tells_its_parcel_and_follow_ups_are_answered(stack, shop):
    sender = f"e2e-{uuid.uuid4().hex}"
    order, day = shop["shipped"], shop["today"]
    parcel = f"Order {order} was shipped on {day} with DHL, tracking number 1234567890."
    link = (
        "You can follow the parcel on DHL's site: "
        "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=1234567890"
    )
    assert texts(chat(stack, "where is my order?", shop["ma"], sender)) == [parcel, link]
    assert texts(chat(stack, "which courier is it with?", shop["ma"], sender)) == [parcel, link]
    # No delivery date is promised that the data does not give: what is known, and where to follow it.
    assert texts(chat(stack, "when will it arrive?", shop["ma"], sender)) == [parcel, link]
    [cannot] = chat(stack, "can I change the delivery address?", shop["ma"], sender)
    assert cannot["text"].startswith("I can't change a delivery address")
    assert [b["payload"] for b in cannot["buttons"]] == ["/human_handoff"]


def test_the_same_follow_ups_in_chinese_over_the_widget(stack, shop):
    widget = WidgetClient(stack.urls()["rasa"])
    try:
        order, day = shop["shipped"], shop["today"]
        first = widget.say(f"订单{order}到哪了", shop["ma"])
        assert first["text"] == f"订单 {order} 已于 {day} 由 DHL 发出，运单号 1234567890。"
        assert widget.replies.get(timeout=30)["text"].startswith(
            "可在 DHL 的网站查询物流：https://www.dhl.com/"
        )
        assert widget.say("快递单号是多少", shop["ma"])["text"] == first["text"]
        widget.replies.get(timeout=30)  # the link again
        assert widget.say("什么时候能到", shop["ma"])["text"] == first["text"]
        widget.replies.get(timeout=30)
        assert widget.say("我想改收货地址", shop["ma"])["text"].startswith("我无法在对话中修改收货地址")
    finally:
        widget.close()


def test_an_order_shipped_before_orderbot_says_what_is_missing(stack):
    token = sign_in(stack, "SO-1009", "chen.jing@example.cn")  # imported already shipped, no parcel data
    sender = f"e2e-{uuid.uuid4().hex}"
    assert texts(chat(stack, "SO-1009的快递单号是多少", token, sender)) == [
        "订单 SO-1009 已发货，但我这里没有它的快递公司和运单号。可以为您转人工查询。"
    ]


def test_a_customer_clicking_every_suggestion_gets_a_customer_answer(stack, shop):
    # After a misunderstanding a customer is offered only what a customer may do; each button works.
    [suggested] = chat(stack, "blorp flarp zzz", shop["gao"], f"e2e-{uuid.uuid4().hex}")
    assert suggested["text"].startswith("Sorry, I'm not sure I understood. Did you mean:")
    assert suggested["buttons"], "the fallback offered nothing to click"
    for button in suggested["buttons"]:
        replies = texts(chat(stack, button["payload"], shop["gao"], f"e2e-{uuid.uuid4().hex}"))
        assert replies, button
        for reply in replies:
            assert (
                "staff" not in reply and "role may not" not in reply and "not sure I understood" not in reply
            )
