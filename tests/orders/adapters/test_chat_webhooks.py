"""The chat posters alone: signed URLs, message shapes, and how platform answers are read."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest

from orders.adapters.chat_webhooks import (
    DINGTALK_TEXT_LIMIT,
    DingTalkRobot,
    SlackChannel,
    SlackIncomingWebhook,
)
from tests.platform_recorder import Recorder


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.close()


def test_the_signed_url_keeps_the_access_token_and_replaces_old_signatures():
    robot = DingTalkRobot("https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1&sign=old", "SECx")
    query = parse_qs(urlsplit(robot.url(now_ms=1700000000000)).query)
    digest = hmac.new(b"SECx", b"1700000000000\nSECx", hashlib.sha256).digest()
    assert query == {
        "access_token": ["T"],
        "timestamp": ["1700000000000"],
        "sign": [base64.b64encode(digest).decode()],
    }
    assert (
        DingTalkRobot("https://x/robot/send?access_token=T", None).url()
        == "https://x/robot/send?access_token=T"
    )


def test_dingtalk_messages_text_for_one_markdown_for_several():
    assert DingTalkRobot.body("t", ["one"]) == {"msgtype": "text", "text": {"content": "one"}}
    many = DingTalkRobot.body("2 条仓库通知", ["a", "b"])
    assert many == {
        "msgtype": "markdown",
        "markdown": {"title": "2 条仓库通知", "text": "#### 2 条仓库通知\n\n- a\n- b"},
    }
    long = DingTalkRobot.body("t", ["x" * 30_000])
    assert len(long["text"]["content"]) == DINGTALK_TEXT_LIMIT


def test_platform_answers(recorder):
    robot = DingTalkRobot(f"{recorder.url}/robot/send?access_token=T", "SECx", timeout_s=5)
    assert robot.post("t", ["hello"]).ok
    recorder.answer = lambda request: (200, {"errcode": 310000, "errmsg": "sign not match"}, {})
    refused = robot.post("t", ["hello"])
    assert not refused.ok and "310000" in refused.detail and refused.retry_after_s is None
    slack = SlackChannel("xoxb", "C1", f"{recorder.url}/api", timeout_s=5)
    recorder.answer = lambda request: (200, {"ok": False, "error": "channel_not_found"}, {})
    assert not slack.post("t", ["x"]).ok
    recorder.answer = lambda request: (200, {"ok": False, "error": "ratelimited"}, {})
    assert slack.post("t", ["x"]).retry_after_s == 30.0
    recorder.answer = lambda request: (200, {"ok": True}, {})
    assert slack.post("3 finance notifications", ["a", "b", "c"]).ok
    assert recorder.requests[-1]["json"]["text"] == "*3 finance notifications*\n• a\n• b\n• c"
    hook = SlackIncomingWebhook(f"{recorder.url}/services/x", timeout_s=5)
    recorder.answer = lambda request: (404, {"error": "no_service"}, {})
    assert not hook.post("t", ["x"]).ok
    unreachable = DingTalkRobot("http://127.0.0.1:9/robot/send", None, timeout_s=2).post("t", ["x"])
    assert not unreachable.ok and "ConnectionError" in unreachable.detail
