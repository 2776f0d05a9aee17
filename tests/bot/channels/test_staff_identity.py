"""The pieces the channels share, without Rasa: the staff token cache, replay memory, conversation ids,
and how texts are read and replies shaped."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.dingtalk import reply_body, signature
from bot.channels.slack import _clean_text
from bot.channels.staff_identity import SeenRecently, StaffDirectory, conversation_id
from tests.platform_recorder import Recorder


class FakeDirectory(Recorder):
    """A stand-in for POST /api/v1/auth/staff-link: one linked user, counts the look-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        self.answer = self._answer

    @property
    def calls(self) -> list[dict]:
        return [
            {"auth": r["headers"].get("Authorization"), **r["json"]} for r in self.matching(lambda r: True)
        ]

    def _answer(self, request: dict) -> tuple[int, dict, dict]:
        if request["headers"].get("Authorization") != "Bearer service":
            return 401, {"error": {"code": "unauthenticated"}}, {}
        if self.status != 200:
            return self.status, {"error": {"code": "down"}}, {}
        if request["json"]["platform_user_id"] == "U1":
            n = len(self.calls) + 1  # this look-up is recorded once it is answered
            return 200, {"access_token": f"jwt-{n}", "expires_in": 1000, "role": "warehouse"}, {}
        return 404, {"error": {"code": "unknown_staff_user"}}, {}


@pytest.fixture
def fake():
    server = FakeDirectory()
    yield server
    server.close()


def test_tokens_are_cached_until_shortly_before_they_expire(fake):
    now = [0.0]
    directory = StaffDirectory(fake.url, "service", negative_seconds=30, clock=lambda: now[0])

    async def scenario():
        assert await directory.token_for("slack", "U1") == "jwt-1"
        assert await directory.token_for("slack", "U1") == "jwt-1"  # cached
        now[0] = 899.0
        assert await directory.token_for("slack", "U1") == "jwt-1"
        now[0] = 901.0  # 1000 s tokens are renewed 100 s early
        assert await directory.token_for("slack", "U1") == "jwt-2"
        # Ten messages at once from a user seen for the first time: one look-up.
        tokens = await asyncio.gather(*(directory.token_for("dingtalk", "U1") for _ in range(10)))
        assert len(set(tokens)) == 1

    asyncio.run(scenario())
    assert len(fake.calls) == 3
    assert fake.calls[0] == {"auth": "Bearer service", "platform": "slack", "platform_user_id": "U1"}


def test_unknown_users_are_remembered_briefly_and_failures_not_at_all(fake):
    now = [0.0]
    directory = StaffDirectory(fake.url, "service", negative_seconds=30, clock=lambda: now[0])

    async def scenario():
        assert await directory.token_for("slack", "U2") is None
        assert await directory.token_for("slack", "U2") is None
        assert len(fake.calls) == 1
        now[0] = 31.0
        assert await directory.token_for("slack", "U2") is None
        assert len(fake.calls) == 2
        fake.status = 503
        assert await directory.token_for("slack", "U1") is None  # order service down: no token
        fake.status = 200
        assert await directory.token_for("slack", "U1") == "jwt-4"  # and asked again next time
        assert await directory.token_for("slack", "") is None
        assert await directory.token_for("slack", "x" * 200) is None

    asyncio.run(scenario())
    assert len(fake.calls) == 4


def test_a_wrong_service_token_or_no_order_service_gives_no_token(fake):
    async def scenario():
        assert await StaffDirectory(fake.url, "wrong").token_for("slack", "U1") is None
        assert await StaffDirectory(None, "service").token_for("slack", "U1") is None
        assert (
            await StaffDirectory("http://127.0.0.1:9", "service", timeout_s=2).token_for("slack", "U1")
            is None
        )

    asyncio.run(scenario())


def test_seen_recently_forgets_after_its_time():
    now = [0.0]
    seen = SeenRecently(ttl_s=10, clock=lambda: now[0])
    assert seen.add("a", "msg1") and not seen.add("a", "msg2")
    assert seen.get("a") == "msg1" and "a" in seen
    now[0] = 11.0
    assert "a" not in seen and seen.add("a")


def test_conversation_ids_cannot_be_guessed_without_the_secret():
    one = conversation_id("slack", "secret-1", "T1", "U1")
    assert one.startswith("slack:T1:U1:") and one == conversation_id("slack", "secret-1", "T1", "U1")
    assert one != conversation_id("slack", "secret-2", "T1", "U1")
    assert one != conversation_id("slack", "secret-1", "T1", "U2")


def test_slack_text_loses_the_bot_mention_and_markup():
    bots = {"U0BOT"}
    assert _clean_text("<@U0BOT> ship SO-1001", bots) == "ship SO-1001"
    assert _clean_text("ask <@U0BOT|bot> &amp; <@U0PEER> about it", bots) == "ask & <@U0PEER> about it"
    assert (
        _clean_text("mail <mailto:a@b.cn|a@b.cn> see <https://x.cn/a>", bots)
        == "mail a@b.cn see https://x.cn/a"
    )


def test_dingtalk_replies_are_text_or_a_markdown_list():
    assert reply_body("订单 SO-1 已入库。") == {"msgtype": "text", "text": {"content": "订单 SO-1 已入库。"}}
    listed = reply_body("共 2 个订单：\nSO-1 · 张三\nSO-2 · 李四")
    assert listed == {
        "msgtype": "markdown",
        "markdown": {"title": "共 2 个订单：", "text": "共 2 个订单：\n\n- SO-1 · 张三\n- SO-2 · 李四"},
    }


def test_dingtalk_signature_matches_the_documented_example_algorithm():
    # base64(HMAC-SHA256(key=secret, msg=timestamp + "\n" + secret)), computed independently
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"this-is-secret", b"1577262236757\nthis-is-secret", hashlib.sha256).digest()
    ).decode()
    assert signature("1577262236757", "this-is-secret") == expected


def test_without_secrets_both_channels_start_and_answer_503(monkeypatch):
    """`make run` without a Slack app or a DingTalk robot: Rasa starts, the webhooks refuse everything."""
    from types import SimpleNamespace

    from bot.channels.dingtalk import DingTalkInput
    from bot.channels.slack import SlackInput

    for variable in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "DINGTALK_APP_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    slack = SlackInput.from_credentials({"use_threads": True, "conversation_granularity": "sender"})
    dingtalk = DingTalkInput.from_credentials(None)
    request = SimpleNamespace(body=b"{}", headers={})

    async def nobody(message) -> None:
        raise AssertionError("nothing may reach Rasa")

    async def scenario():
        assert slack.blueprint(nobody) and dingtalk.blueprint(nobody)
        assert (await slack.handle(request, nobody)).status == 503
        assert (await dingtalk.handle(request, nobody)).status == 503

    asyncio.run(scenario())


def test_a_shared_replay_guard_is_the_same_for_every_replica():
    """Two Rasa replicas (or one restarted) against the real Redis: a value seen by one is a
    duplicate for the other."""
    import uuid

    import redis

    from bot.channels.staff_identity import SharedSeenRecently

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    first, second = SharedSeenRecently(url, namespace, 60), SharedSeenRecently(url, namespace, 60)
    assert first.add("sign-1", "msg-1")
    assert not second.add("sign-1", "msg-2") and second.get("sign-1") == "msg-1" and "sign-1" in second
    assert second.add("sign-2") and "sign-2" in first
    assert redis.Redis.from_url(url).ttl(first._key("sign-1")) > 0  # forgotten after its time


def test_a_replay_guard_without_redis_falls_back_to_memory():
    from bot.channels.staff_identity import SharedSeenRecently

    guard = SharedSeenRecently("redis://127.0.0.1:9/0", "test", 60)  # nothing listens there
    assert guard.add("a", "x") and not guard.add("a", "y") and guard.get("a") == "x"


def test_channels_share_their_replay_guard_when_a_redis_is_configured(monkeypatch):
    from bot.channels.staff_identity import SharedSeenRecently, seen_recently

    monkeypatch.delenv("ORDERBOT_REDIS_URL", raising=False)
    assert isinstance(seen_recently("slack", 60), SeenRecently)
    monkeypatch.setenv("ORDERBOT_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert isinstance(seen_recently("slack", 60), SharedSeenRecently)
