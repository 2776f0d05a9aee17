"""The DingTalk channel against a running Rasa: signed callbacks run staff dialogs and the replies reach the
session webhook (the recorder); forged, stale, replayed, expired and malformed callbacks are refused or
dropped and nothing happens."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.bot.channels.conftest import DINGTALK_USER


def callback(
    platforms, text: str, staff_id: str | None = DINGTALK_USER, session: str | None = None, **fields
) -> dict:
    now = int(time.time() * 1000)
    body = {
        "conversationId": "cidWarehouseGroup==",
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}],
        "chatbotCorpId": "dingcorp",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "msgId": f"msg{uuid.uuid4().hex}",
        "senderNick": "王仓管",
        "isAdmin": False,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": now + 90 * 60 * 1000,
        "createAt": now,
        "senderCorpId": "dingcorp",
        "conversationType": "2",
        "senderId": f"$:LWCP_v1:${staff_id}",
        "conversationTitle": "仓库群",
        "isInAtList": True,
        "sessionWebhook": f"{platforms.recorder.url}/robot/sendBySession?session="
        + (session or uuid.uuid4().hex),
        "text": {"content": text},
        "msgtype": "text",
    }
    if staff_id is None:
        del body["senderStaffId"]
    body.update(fields)
    return body


def to_session(session: str):
    return lambda r: r["path"] == "/robot/sendBySession" and r["query"].get("session") == session


def content(request: dict) -> str:
    body = request["json"]
    return body["text"]["content"] if body["msgtype"] == "text" else body["markdown"]["text"]


class GroupChat:
    def __init__(self, platforms, staff_id: str | None = DINGTALK_USER) -> None:
        self.platforms = platforms
        self.staff_id = staff_id
        self.seen = 0

    def say(self, text: str) -> dict:
        session = uuid.uuid4().hex  # DingTalk gives every message its own session webhook
        answer = self.platforms.dingtalk_post(callback(self.platforms, text, self.staff_id, session))
        assert answer.status_code == 200, answer.text
        (reply,) = self.platforms.recorder.wait_for(to_session(session))
        return reply["json"]


def nothing_reaches(platforms, session: str, seconds: float = 3.0) -> bool:
    time.sleep(seconds)
    return not platforms.recorder.matching(to_session(session))


def test_a_staff_member_records_a_shipment_and_lists_orders(platforms):
    chat = GroupChat(platforms)
    listed = chat.say("@订单助手 列出已取消的订单")  # the robot's @-mention is stripped
    assert listed["msgtype"] == "markdown"  # a list: markdown, one bullet per order
    assert listed["markdown"]["title"].startswith("共 2 个订单")
    assert "- SO-1006" in listed["markdown"]["text"] and "- SO-1017" in listed["markdown"]["text"]
    assert chat.say("订单SO-1016已入库") == {
        "msgtype": "text",
        "text": {"content": "订单 SO-1016 已入库，等待发货。"},
    }
    assert chat.say("发货SO-1016")["text"]["content"] == "用哪家快递发货（例如顺丰、中通、京东、DHL）？"
    assert chat.say("顺丰")["text"]["content"] == "运单号是多少？"
    asked = chat.say("运单号SF1234567890124")["text"]["content"]
    assert "SO-1016" in asked and "SF1234567890124" in asked
    shipped = chat.say("确认")["text"]["content"]
    assert shipped.startswith("订单 SO-1016 已由 SF Express 发货（运单号 SF1234567890124），运费 CNY ")
    assert platforms.order_status("SO-1016") == "shipped"
    english = chat.say("show me the cancelled orders")  # answered in the language of each message
    assert english["markdown"]["title"].startswith("2 order(s)")


def test_a_sender_outside_the_staff_directory_is_refused(platforms):
    for staff_id in ("0000999", None):  # not linked; an external user without a staff id
        chat = GroupChat(platforms, staff_id)
        assert chat.say("列出已取消的订单")["text"]["content"] == "抱歉，只有已登录的员工才能执行该操作。"
        assert chat.say("SO-1012 stocked in")["text"]["content"] == "Sorry, only signed-in staff can do that."
    assert platforms.order_status("SO-1012") == "confirmed"


@pytest.mark.parametrize(
    "attack",
    [
        "forged sign",
        "missing sign",
        "missing timestamp",
        "stale timestamp",
        "future timestamp",
        "bad timestamp",
    ],
)
def test_callbacks_not_signed_by_dingtalk_are_refused(platforms, attack):
    session = uuid.uuid4().hex
    payload = callback(platforms, "订单SO-1012已入库", session=session)
    now = int(time.time() * 1000)
    if attack == "forged sign":
        answer = platforms.dingtalk_post(payload, secret="not-the-app-secret")
    elif attack == "missing sign":
        answer = platforms.dingtalk_post(payload, headers={"sign": None})
    elif attack == "missing timestamp":
        answer = platforms.dingtalk_post(payload, headers={"timestamp": None})
    elif attack == "stale timestamp":  # correctly signed, but two hours old
        answer = platforms.dingtalk_post(payload, timestamp_ms=now - 2 * 3600 * 1000)
    elif attack == "future timestamp":
        answer = platforms.dingtalk_post(payload, timestamp_ms=now + 2 * 3600 * 1000)
    else:
        answer = platforms.dingtalk_post(payload, headers={"timestamp": "1e12"})
    assert answer.status_code == 401
    assert nothing_reaches(platforms, session, seconds=1.5)
    assert platforms.order_status("SO-1012") == "confirmed"


def test_a_used_signature_cannot_carry_another_message(platforms):
    """DingTalk's sign covers the timestamp only: a captured (timestamp, sign) must not sign a forged body."""
    first_session, forged_session = uuid.uuid4().hex, uuid.uuid4().hex
    stamp = int(time.time() * 1000)
    genuine = callback(platforms, "列出已取消的订单", session=first_session)
    assert platforms.dingtalk_post(genuine, timestamp_ms=stamp).status_code == 200
    platforms.recorder.wait_for(to_session(first_session))
    forged = callback(platforms, "订单SO-1012已入库", session=forged_session)
    assert platforms.dingtalk_post(forged, timestamp_ms=stamp).status_code == 401
    # The same message delivered again (a platform retry) is acknowledged and not run twice.
    assert platforms.dingtalk_post(genuine, timestamp_ms=stamp).status_code == 200
    assert platforms.dingtalk_post(genuine).status_code == 200  # even with fresh headers
    assert nothing_reaches(platforms, forged_session)
    assert len(platforms.recorder.matching(to_session(first_session))) == 1
    assert platforms.order_status("SO-1012") == "confirmed"


def test_an_expired_session_webhook_is_not_used_and_the_message_not_run(platforms):
    session = uuid.uuid4().hex
    payload = callback(
        platforms,
        "订单SO-1012已入库",
        session=session,
        sessionWebhookExpiredTime=int(time.time() * 1000) - 1000,
    )
    assert platforms.dingtalk_post(payload).status_code == 200
    assert nothing_reaches(platforms, session)
    assert platforms.order_status("SO-1012") == "confirmed"


def test_malformed_or_foreign_callbacks_are_refused(platforms):
    assert platforms.dingtalk_post(b'{"msgtype": "text", "text": ').status_code == 400
    assert platforms.dingtalk_post(b"[]").status_code == 400
    assert platforms.dingtalk_post(b"\xff\xfe").status_code == 400
    session = uuid.uuid4().hex
    no_id = callback(platforms, "列出订单", session=session)
    del no_id["msgId"]
    assert platforms.dingtalk_post(no_id).status_code == 400
    elsewhere = callback(
        platforms, "列出订单", sessionWebhook="http://127.0.0.1:9/robot/sendBySession?session=x"
    )
    assert platforms.dingtalk_post(elsewhere).status_code == 400  # replies go to DingTalk only
    no_expiry = callback(platforms, "列出订单", session=session, sessionWebhookExpiredTime="soon")
    assert platforms.dingtalk_post(no_expiry).status_code == 400
    too_big = callback(platforms, "x" * 70_000, session=session)
    assert platforms.dingtalk_post(too_big).status_code == 413
    assert nothing_reaches(platforms, session, seconds=2)
    picture = callback(platforms, "", session=session, msgtype="picture", content={"downloadCode": "x"})
    del picture["text"]
    assert platforms.dingtalk_post(picture).status_code == 200
    (reply,) = platforms.recorder.wait_for(to_session(session))
    assert "text" in json.dumps(reply["json"])  # asks for text
