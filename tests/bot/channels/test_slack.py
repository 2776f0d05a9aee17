"""The Slack channel against a running Rasa: signed events run staff dialogs, replies reach the Web API
(the recorder); forged, stale, replayed and malformed requests are refused and nothing happens."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.bot.channels.conftest import SLACK_USER

BOT = "U0BOTUSER"


def event(text: str, user: str = SLACK_USER, channel: str = "D0WANG", **fields) -> dict:
    ts = f"{time.time():.6f}"
    body = {
        "type": "message",
        "channel": channel,
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }
    body.update(fields)
    return {
        "token": "verification-token-unused",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": BOT, "is_bot": True}],
        "event": body,
    }


def to_channel(channel: str):
    return lambda r: r["path"] == "/api/chat.postMessage" and r["json"].get("channel") == channel


class Conversation:
    """One Slack DM channel: say something, get the bot's replies from the recorder."""

    def __init__(self, platforms, user: str = SLACK_USER) -> None:
        self.platforms = platforms
        self.user = user
        self.channel = f"D{uuid.uuid4().hex[:8].upper()}"
        self.seen = 0

    def say(self, text: str, replies: int = 1) -> list[str]:
        answer = self.platforms.slack_post(event(text, self.user, self.channel))
        assert answer.status_code == 200, answer.text
        got = self.platforms.recorder.wait_for(to_channel(self.channel), self.seen + replies)
        self.seen += replies
        return [r["json"]["text"] for r in got[-replies:]]


def nothing_reaches(platforms, channel: str, seconds: float = 4.0) -> bool:
    time.sleep(seconds)
    return not platforms.recorder.matching(to_channel(channel))


def test_url_verification_is_answered(platforms):
    answer = platforms.slack_post(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    assert answer.status_code == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_a_staff_member_records_a_shipment_and_lists_orders(platforms):
    chat = Conversation(platforms)
    (listed,) = chat.say("show me the cancelled orders")
    assert "SO-1006" in listed and "SO-1017" in listed
    assert chat.say("订单SO-1007已入库") == ["订单 SO-1007 已入库，等待发货。"]  # the sender's language
    assert chat.say("ship SO-1007") == ["Which carrier ships it (e.g. SF Express, ZTO, JD Logistics, DHL)?"]
    assert chat.say("顺丰") == ["运单号是多少？"]
    # A tracking number alone says nothing about the language: the conversation stays in Chinese.
    assert chat.say("SF1234567890123") == [
        "确认用 SF Express 发货订单 SO-1007，运单号 SF1234567890123？客户会收到通知。"
    ]
    (shipped,) = chat.say("yes")
    assert shipped.startswith("Order SO-1007 is shipped with SF Express (SF1234567890123); freight CNY ")
    assert platforms.order_status("SO-1007") == "shipped"
    # Every reply was posted with the bot token, to the DM, not in a thread (a DM needs none).
    for request in platforms.recorder.matching(to_channel(chat.channel)):
        assert request["headers"]["Authorization"] == "Bearer xoxb-test-bot-token"
        assert "thread_ts" not in request["json"] and "as_user" not in request["json"]

    # The order service's bridge told the warehouse group (DingTalk robot) and finance (Slack), once.
    warehouse = platforms.recorder.wait_for(
        lambda r: r["path"] == "/robot/send" and "SO-1007" in json.dumps(r["json"], ensure_ascii=False)
    )
    assert warehouse[0]["json"] == {
        "msgtype": "text",
        "text": {"content": "订单 SO-1007 发货信息：SF Express，运单号 SF1234567890123。"},
    }
    assert set(warehouse[0]["query"]) == {"access_token", "timestamp", "sign"}

    def finance_about_so_1007(request):
        return to_channel("C0FINANCE")(request) and "SO-1007" in request["json"]["text"]

    (finance,) = platforms.recorder.wait_for(finance_about_so_1007)
    assert finance["json"]["text"].startswith("Order SO-1007 shipped with SF Express: freight CNY ")
    time.sleep(2)
    assert len(platforms.recorder.matching(finance_about_so_1007)) == 1
    assert (
        len(
            platforms.recorder.matching(
                lambda r: (
                    r["path"] == "/robot/send" and "SO-1007" in json.dumps(r["json"], ensure_ascii=False)
                )
            )
        )
        == 1
    )


def test_a_mention_in_a_channel_is_answered_in_its_thread(platforms):
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    mention = event(f"<@{BOT}> list cancelled orders", channel=channel, type="app_mention")
    del mention["event"]["channel_type"]
    assert platforms.slack_post(mention).status_code == 200
    (reply,) = platforms.recorder.wait_for(to_channel(channel))
    assert reply["json"]["thread_ts"] == mention["event"]["ts"]
    assert "SO-1006" in reply["json"]["text"]
    # A message inside an existing thread is answered in that thread.
    inside = event(
        f"<@{BOT}> 列出已取消的订单", channel=channel, type="app_mention", thread_ts="1700000000.000001"
    )
    del inside["event"]["channel_type"]
    assert platforms.slack_post(inside).status_code == 200
    replies = platforms.recorder.wait_for(to_channel(channel), 2)
    assert replies[1]["json"]["thread_ts"] == "1700000000.000001"
    # Slack sends a `message` event too for the same mention when the app reads the channel: once only.
    twin = event(f"<@{BOT}> list cancelled orders", channel=channel, ts=mention["event"]["ts"])
    twin["event"]["channel_type"] = "channel"
    assert platforms.slack_post(twin).status_code == 200
    time.sleep(3)
    assert len(platforms.recorder.matching(to_channel(channel))) == 2


def test_a_sender_outside_the_staff_directory_is_refused(platforms):
    chat = Conversation(platforms, user="U0STRANGER")
    assert chat.say("show me the cancelled orders") == ["Sorry, only signed-in staff can do that."]
    assert chat.say("SO-1012 stocked in") == ["Sorry, only signed-in staff can do that."]
    assert platforms.order_status("SO-1012") == "confirmed"


@pytest.mark.parametrize(
    "attack",
    [
        "forged signature",
        "missing signature",
        "missing timestamp",
        "stale timestamp",
        "tampered body",
        "future timestamp",
    ],
)
def test_requests_not_signed_by_slack_are_refused(platforms, attack):
    channel = f"D{uuid.uuid4().hex[:8].upper()}"
    payload = event("SO-1012 stocked in", channel=channel)
    body = json.dumps(payload).encode()
    if attack == "forged signature":
        answer = platforms.slack_post(payload, secret="not-the-signing-secret")
    elif attack == "missing signature":
        answer = platforms.slack_post(payload, headers={"X-Slack-Signature": None})
    elif attack == "missing timestamp":
        answer = platforms.slack_post(payload, headers={"X-Slack-Request-Timestamp": None})
    elif attack == "stale timestamp":  # a captured request replayed ten minutes later
        answer = platforms.slack_post(payload, timestamp=int(time.time()) - 600)
    elif attack == "future timestamp":
        answer = platforms.slack_post(payload, timestamp=int(time.time()) + 600)
    else:  # a genuine signature over another body (another user, another text)
        genuine = json.dumps(event("list orders", user="U0STRANGER", channel=channel)).encode()
        answer = platforms.slack_post(body, signed_body=genuine)
    assert answer.status_code == 401
    assert nothing_reaches(platforms, channel, seconds=2)
    assert platforms.order_status("SO-1012") == "confirmed"


def test_retries_and_replays_are_not_processed_twice(platforms):
    channel = f"D{uuid.uuid4().hex[:8].upper()}"
    payload = event("show me the cancelled orders", channel=channel)
    assert platforms.slack_post(payload).status_code == 200
    platforms.recorder.wait_for(to_channel(channel))
    retry = platforms.slack_post(
        payload, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    replay = platforms.slack_post(payload)  # the same signed request again, within the 5 minutes
    assert replay.status_code == 200
    same_message = event("show me the cancelled orders", channel=channel, ts=payload["event"]["ts"])
    assert platforms.slack_post(same_message).status_code == 200  # new event id, same message
    time.sleep(4)
    assert len(platforms.recorder.matching(to_channel(channel))) == 1


def test_malformed_bodies_are_refused(platforms):
    assert platforms.slack_post(b'{"type": "event_callback", "event": ').status_code == 400
    assert platforms.slack_post(b"[1, 2, 3]").status_code == 400
    assert platforms.slack_post(b"\xff\xfe not json").status_code == 400
    deep = platforms.slack_post(b'{"a":' * 1000 + b"1" + b"}" * 1000)  # bounded before the parser recurses
    assert deep.status_code == 400 and "nested deeper" in deep.text
    nul = platforms.slack_post(event("list orders\u0000"))
    assert nul.status_code == 400 and "control character" in nul.text
    no_event = {"type": "event_callback", "event_id": "EvNOEVENT"}
    assert platforms.slack_post(no_event).status_code == 400
    not_json = platforms.slack_post(b"a=b", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
    too_big = platforms.slack_post(json.dumps(event("x" * 70_000)).encode())
    assert too_big.status_code == 413
    # Events that are not user messages are acknowledged and ignored: edits, the bot's own messages.
    channel = f"D{uuid.uuid4().hex[:8].upper()}"
    edited = event("list orders", channel=channel, subtype="message_changed")
    own = event("list orders", channel=channel, bot_id="B0BOT")
    assert platforms.slack_post(edited).status_code == 200
    assert platforms.slack_post(own).status_code == 200
    assert nothing_reaches(platforms, channel, seconds=3)
