"""The chat bridge against a loopback server standing in for DingTalk and Slack: the right group, once,
in order, after restarts and failures, and under the rate limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import insert, select

from orders.adapters.chat_webhooks import DingTalkRobot, SlackChannel, dingtalk_sign
from orders.adapters.orm import outbox
from orders.entrypoints.bridge import Bridge, BridgeConfig, Target, TargetWorker, bridge_cursors
from tests.orders.conftest import HEADER, order_row, write_csv
from tests.platform_recorder import Recorder

SECRET = "SEC-test-robot-secret-0123456789"


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.close()


def add_events(engine, role: str, count: int, start: int = 1, **extra) -> None:
    with engine.begin() as connection:
        for n in range(start, start + count):
            connection.execute(
                insert(outbox).values(
                    created_at=datetime.now(timezone.utc),
                    recipient_role=role,
                    customer_id="C-1",
                    order_id=f"SO-{n}",
                    event_type="test",
                    message_en=f"{role} event {n}",
                    message_zh=f"{role} 事件 {n}",
                    data={},
                    **extra,
                )
            )


def dingtalk(recorder, path="/robot/send", role="warehouse", per_minute=20, language="en") -> Target:
    robot = DingTalkRobot(f"{recorder.url}{path}?access_token=tok", SECRET, timeout_s=5)
    return Target(f"dingtalk:{role}", role, robot, per_minute, language)


def fast_config(*targets: Target, **overrides) -> BridgeConfig:
    values = dict(
        targets=list(targets),
        poll_seconds=0.05,
        hole_grace_seconds=0.3,
        lease_seconds=2.0,
        base_backoff_seconds=0.05,
        max_backoff_seconds=0.2,
    )
    values.update(overrides)
    return BridgeConfig(**values)


def drain(worker: TargetWorker, steps: int = 200) -> None:
    """Run a worker until it has nothing left to do right now."""
    for _ in range(steps):
        if worker.run_once() > 0:
            return


def delivered_lines(requests: list[dict]) -> list[str]:
    lines = []
    for request in requests:
        body = request["json"]
        if "msgtype" in body:  # DingTalk
            if body["msgtype"] == "text":
                lines.append(body["text"]["content"])
            else:
                lines += [line[2:] for line in body["markdown"]["text"].splitlines() if line.startswith("- ")]
        else:  # Slack
            text = body["text"]
            lines += [text] if "\n" not in text else [line[2:] for line in text.splitlines()[1:]]
    return lines


def wait_for(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_dingtalk_signature_is_the_documented_one(recorder):
    robot = DingTalkRobot(f"{recorder.url}/robot/send?access_token=abc", SECRET)
    url = urlsplit(robot.url(now_ms=1577262236757))
    query = parse_qs(url.query)
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"1577262236757\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query == {"access_token": ["abc"], "timestamp": ["1577262236757"], "sign": [expected]}
    assert unquote(dingtalk_sign(1577262236757, SECRET)) == expected  # URL-encoded in the query


def test_an_event_reaches_its_group_exactly_once(engine, recorder):
    warehouse = dingtalk(recorder, "/warehouse", "warehouse")
    finance = dingtalk(recorder, "/finance", "finance")
    config = fast_config(warehouse, finance)
    add_events(engine, "warehouse", 2)  # before the bridge knew the group: not posted
    workers = [TargetWorker(engine, t, config, "me") for t in (warehouse, finance)]
    for worker in workers:
        drain(worker)
    assert recorder.requests == []
    add_events(engine, "warehouse", 1, start=10)
    add_events(engine, "finance", 1, start=20)
    add_events(engine, "customer", 3, start=30)
    for _ in range(3):
        for worker in workers:
            drain(worker)
    assert delivered_lines(recorder.accepted("/warehouse")) == ["warehouse event 10"]
    assert delivered_lines(recorder.accepted("/finance")) == ["finance event 20"]
    for request in recorder.requests:  # every post signed as DingTalk requires
        timestamp, sign = request["query"]["timestamp"], request["query"]["sign"]
        assert (
            sign
            == base64.b64encode(
                hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
            ).decode()
        )
        assert abs(int(timestamp) - time.time() * 1000) < 60_000
    with engine.connect() as connection:
        cursors = dict(connection.execute(select(bridge_cursors.c.target, bridge_cursors.c.last_id)).all())
    newest = 2 + 1 + 1 + 3
    assert cursors == {"dingtalk:warehouse": newest, "dingtalk:finance": newest}


def test_order_changes_through_the_api_reach_warehouse_and_finance(engine, live_server, recorder, tmp_path):
    warehouse = dingtalk(recorder, "/warehouse", "warehouse", language="zh")
    slack = Target(
        "slack:finance",
        "finance",
        SlackChannel("xoxb-test", "C0FINANCE", api_url=f"{recorder.url}/api/"),
        50,
        "en",
    )
    bridge = Bridge(engine, fast_config(warehouse, slack)).start()
    try:
        time.sleep(0.3)  # the cursors start after the newest event
        ops = live_server.as_("operations")
        with write_csv(tmp_path / "export.csv", HEADER, [order_row("SO-2001")]).open("rb") as f:
            ops.post(f"{live_server.url}/api/v1/imports", files={"file": ("export.csv", f)}, timeout=10)
        answer = ops.post(
            f"{live_server.url}/api/v1/orders/SO-2001/transitions", json={"action": "confirm"}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        wait_for(lambda: recorder.accepted("/warehouse") and recorder.accepted("/api/chat.postMessage"))
        time.sleep(0.5)  # nothing more comes
    finally:
        bridge.stop()
    (to_warehouse,) = recorder.accepted("/warehouse")
    assert to_warehouse["json"] == {
        "msgtype": "text",
        "text": {"content": "订单 SO-2001 状态更新：已确认，等待入库。"},
    }
    (to_finance,) = recorder.accepted("/api/chat.postMessage")
    assert to_finance["headers"]["Authorization"] == "Bearer xoxb-test"
    assert to_finance["json"]["channel"] == "C0FINANCE"
    assert to_finance["json"]["text"].startswith("Invoice INV-") and "SO-2001" in to_finance["json"]["text"]


def test_a_restart_mid_stream_resumes_after_the_last_delivered_event(engine, recorder):
    target = dingtalk(recorder, per_minute=1000)
    config = fast_config(target)
    TargetWorker(engine, target, config, "setup")._ensure_row()
    add_events(engine, "warehouse", 12)
    accepted = {"n": 0}

    def flaky(request):  # three posts go through, then the platform fails
        if accepted["n"] < 3:
            accepted["n"] += 1
            return 200, {"errcode": 0, "errmsg": "ok"}, {}
        return 500, {"error": "down"}, {}

    recorder.answer = flaky
    first = Bridge(engine, config).start()
    wait_for(lambda: len(recorder.requests) >= 6)  # three delivered, then retries with backoff
    first.stop()
    recorder.answer = lambda request: (200, {"errcode": 0, "errmsg": "ok"}, {})
    second = Bridge(engine, config).start()  # takes over at once: the lease was handed back
    wait_for(lambda: len(delivered_lines(recorder.accepted())) >= 12)
    time.sleep(0.3)
    second.stop()
    assert delivered_lines(recorder.accepted()) == [f"warehouse event {n}" for n in range(1, 13)]


def test_a_crashed_owner_is_replaced_after_its_lease_without_duplicates(engine, recorder):
    target = dingtalk(recorder, per_minute=1000)
    config = fast_config(target, lease_seconds=0.5)
    crashed = TargetWorker(engine, target, config, "crashed")
    crashed._ensure_row()
    add_events(engine, "warehouse", 4)
    crashed.run_once()
    crashed.run_once()  # two delivered, then the process dies without handing back its lease
    successor = TargetWorker(engine, target, config, "successor")
    assert successor.run_once() > 0 and len(recorder.requests) == 2  # the lease still holds
    time.sleep(0.6)
    drain(successor)
    assert crashed.run_once() > 0  # the old owner, if it came back, no longer delivers
    drain(successor)
    assert delivered_lines(recorder.accepted()) == [f"warehouse event {n}" for n in range(1, 5)]


def test_a_burst_is_batched_under_the_rate_limit(sqlite_engine, recorder):
    target = dingtalk(recorder, per_minute=5)
    config = fast_config(target, batch=20)
    worker = TargetWorker(sqlite_engine, target, config, "me")
    worker._ensure_row()
    add_events(sqlite_engine, "warehouse", 2)
    drain(worker)
    assert len(recorder.requests) == 2  # a trickle goes one by one
    add_events(sqlite_engine, "warehouse", 45, start=3)
    drain(worker)
    posts = recorder.accepted()
    assert len(posts) == 5  # never more than the limit in the window: 2 alone, then 3 batches
    assert delivered_lines(posts) == [f"warehouse event {n}" for n in range(1, 48)]
    batch = posts[2]["json"]
    assert batch["msgtype"] == "markdown" and batch["markdown"]["title"] == "20 warehouse notifications"
    add_events(sqlite_engine, "warehouse", 1, start=48)
    assert worker.run_once() > 30  # the window is full: it waits instead of posting
    assert len(recorder.accepted()) == 5


def test_the_rate_window_survives_a_restart(sqlite_engine, recorder):
    target = dingtalk(recorder, per_minute=3)
    config = fast_config(target)
    first = TargetWorker(sqlite_engine, target, config, "first")
    first._ensure_row()
    add_events(sqlite_engine, "warehouse", 1)
    drain(first)
    add_events(sqlite_engine, "warehouse", 1, start=2)
    drain(first)
    add_events(sqlite_engine, "warehouse", 1, start=3)
    drain(first)
    first.release()
    add_events(sqlite_engine, "warehouse", 1, start=4)
    second = TargetWorker(sqlite_engine, target, config, "second")
    assert second.run_once() > 50  # three posts in the last minute, stored with the cursor
    assert len(recorder.requests) == 3


def test_throttled_and_failing_posts_are_retried_with_backoff(sqlite_engine, recorder):
    target = dingtalk(recorder)
    config = fast_config(target, base_backoff_seconds=1.0, max_backoff_seconds=8.0)
    worker = TargetWorker(sqlite_engine, target, config, "me")
    worker._ensure_row()
    add_events(sqlite_engine, "warehouse", 1)
    recorder.answer = lambda request: (200, {"errcode": 130101, "errmsg": "send too fast"}, {})
    assert worker.run_once() >= 60  # DingTalk throttles for a minute
    recorder.answer = lambda request: (502, {}, {})
    waits = [worker.run_once() for _ in range(5)]
    assert waits[1] > waits[0] and waits[-1] <= 8.0 * 1.2  # exponential, capped
    recorder.answer = lambda request: (200, {"errcode": 0, "errmsg": "ok"}, {})
    drain(worker)
    assert delivered_lines(recorder.accepted()) == ["warehouse event 1"]
    recorder.requests.clear()
    add_events(sqlite_engine, "warehouse", 1, start=2)
    recorder.answer = lambda request: (429, {"ok": False}, {"Retry-After": "7"})
    slack = TargetWorker(
        sqlite_engine,
        Target("slack:warehouse", "warehouse", SlackChannel("t", "C1", f"{recorder.url}/api"), 50, "en"),
        config,
        "me",
    )
    slack._ensure_row()
    with sqlite_engine.begin() as connection:  # start the Slack cursor before event 2
        connection.execute(
            bridge_cursors.update().where(bridge_cursors.c.target == "slack:warehouse").values(last_id=1)
        )
    assert slack.run_once() >= 7  # Slack's Retry-After


def test_rows_behind_a_hole_wait_until_it_fills_or_grace_passes(sqlite_engine, recorder):
    target = dingtalk(recorder)
    config = fast_config(target, hole_grace_seconds=0.3)
    worker = TargetWorker(sqlite_engine, target, config, "me")
    worker._ensure_row()
    with sqlite_engine.begin() as connection:
        for n in (1, 3):  # id 2 is "not committed yet"
            connection.execute(
                insert(outbox).values(
                    id=n,
                    created_at=datetime.now(timezone.utc),
                    recipient_role="warehouse",
                    event_type="test",
                    message_en=f"warehouse event {n}",
                    message_zh="",
                    data={},
                )
            )
    drain(worker)
    assert delivered_lines(recorder.accepted()) == ["warehouse event 1"]
    time.sleep(0.35)
    drain(worker)
    assert delivered_lines(recorder.accepted()) == ["warehouse event 1", "warehouse event 3"]


def test_slack_incoming_webhook_and_configuration_from_the_environment(recorder):
    config = BridgeConfig.from_env(
        {
            "ORDERBOT_DINGTALK_WAREHOUSE_WEBHOOK": "abc123",
            "ORDERBOT_DINGTALK_WAREHOUSE_SECRET": SECRET,
            "DINGTALK_API_URL": recorder.url,
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_FINANCE_CHANNEL": "C0F",
            "ORDERBOT_SLACK_WAREHOUSE_WEBHOOK": f"{recorder.url}/services/T/B/X",
            "ORDERBOT_DINGTALK_LANGUAGE": "both",
        }
    )
    names = {t.name: t for t in config.targets}
    assert set(names) == {"dingtalk:warehouse", "slack:finance", "slack-webhook:warehouse"}
    assert names["dingtalk:warehouse"].poster.webhook_url == f"{recorder.url}/robot/send?access_token=abc123"
    assert names["dingtalk:warehouse"].per_minute == 20 and names["dingtalk:warehouse"].language == "both"
    assert names["slack-webhook:warehouse"].poster.post("t", ["one"]).ok
    assert recorder.requests[-1]["json"] == {"text": "one"}
    assert BridgeConfig.from_env({}).targets == []
    with pytest.raises(ValueError):
        BridgeConfig.from_env({"ORDERBOT_SLACK_LANGUAGE": "fr"})
