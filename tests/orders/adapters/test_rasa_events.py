"""The analytics consumer against the real RabbitMQ on 127.0.0.1:5672: what Rasa's broker publishes
to its fanout exchange ends up stored once, and the per-day figures come out of it."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orders.adapters.rasa_events import RasaEventConsumer, wait_connected
from orders.service_layer.analytics import daily_figures, record_rasa_events, turns_between
from tests.orders.domain.test_conversation_turns import action, user

RABBITMQ_URL = os.environ.get("ORDERBOT_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def rabbit():
    pika = pytest.importorskip("pika")
    try:
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    except Exception as exc:
        pytest.skip(f"RabbitMQ at {RABBITMQ_URL} is not reachable: {type(exc).__name__}")
    names = {"exchange": f"test-rasa-{uuid.uuid4().hex[:8]}", "queue": f"test-events-{uuid.uuid4().hex[:8]}"}
    channel = connection.channel()
    yield channel, names
    channel.queue_delete(names["queue"])
    channel.exchange_delete(names["exchange"])
    connection.close()


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_published_events_are_stored_once_and_counted_per_day(rabbit, engine):
    channel, names = rabbit
    stored = []

    def store(bodies):
        stored.append(record_rasa_events(engine, bodies))

    consumer = RasaEventConsumer(RABBITMQ_URL, names["queue"], store, exchange=names["exchange"])
    consumer.start()
    try:
        assert wait_connected(consumer, 10), "the consumer did not get its queue"
        noon = datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI).timestamp()
        bodies = [
            user("web-7", noon, "order_status"),
            action("web-7", noon + 0.05, "action_order_status"),
            action("web-7", noon + 0.08, "action_listen"),
            user("web-7", noon + 30, "nlu_fallback", 0.2),
            action("web-7", noon + 30.02, "action_two_stage_fallback"),
            action("web-7", noon + 30.03, "action_listen"),
        ]
        for body in bodies + bodies[:2]:  # the first two delivered twice, as after a reconnect
            channel.basic_publish(names["exchange"], "", json.dumps(body).encode())
        channel.basic_publish(names["exchange"], "", b"not json")  # dropped, the consumer goes on
        assert _wait_for(lambda: sum(stored) >= len(bodies))
        time.sleep(0.3)
        assert sum(stored) == len(bodies)
    finally:
        consumer.stop()

    turns = turns_between(engine, noon - 1, noon + 60)
    assert [(t.intent, t.action, t.fallback) for t in turns] == [
        ("order_status", "action_order_status", False),
        ("nlu_fallback", "action_two_stage_fallback", True),
    ]
    assert abs(turns[0].latency_s - 0.08) < 1e-3
    yesterday, today = daily_figures(engine, 2, SHANGHAI, today=date(2026, 12, 1))
    assert (yesterday.day, yesterday.turns, yesterday.fallbacks) == (date(2026, 11, 30), 2, 1)
    assert yesterday.top_intents == [("order_status", 1), ("nlu_fallback", 1)]
    assert (today.turns, today.fallback_rate) == (0, 0.0)


def test_the_order_service_consumes_rasas_events_when_given_a_broker(rabbit, sqlite_engine, tmp_path):
    """`orderbot serve` with ORDERBOT_RABBITMQ_URL: what Rasa publishes shows in the console's figures."""
    import requests

    from orders.domain.access import Actor, Role, Source
    from orders.entrypoints.auth import TokenSigner
    from tests.orders.hub_support import ServerProcess

    channel, names = rabbit
    # Rasa's broker declares the exchange and the queue (here before the consumer, as may happen).
    channel.exchange_declare(names["exchange"], exchange_type="fanout")  # as Rasa declares it
    channel.queue_declare(names["queue"], durable=True)
    channel.queue_bind(names["queue"], names["exchange"])
    server = ServerProcess(
        str(sqlite_engine.url),
        tmp_path,
        ORDERBOT_RABBITMQ_URL=RABBITMQ_URL,
        ORDERBOT_RASA_EVENTS_QUEUE=names["queue"],
        ORDERBOT_RASA_EVENTS_EXCHANGE=names["exchange"],
        ORDERBOT_JWT_SECRET="analytics-test-secret-0123456789-0123456789",
    ).start()
    try:
        token = TokenSigner("analytics-test-secret-0123456789-0123456789", timedelta(hours=1), None).issue(
            Actor("ops", Role.OPERATIONS, Source.REST)
        )
        noon = datetime.now(SHANGHAI).replace(hour=12, minute=0).timestamp()
        sender = f"web-{uuid.uuid4().hex[:6]}"
        for body in (
            user(sender, noon, "greet"),
            action(sender, noon + 0.1, "utter_greet"),
            action(sender, noon + 0.2, "action_listen"),
        ):
            channel.basic_publish(names["exchange"], "", json.dumps(body).encode())

        def today():
            response = requests.get(
                f"{server.url}/api/v1/stats/conversations?days=1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            return response.json()["items"][-1]

        assert _wait_for(lambda: today()["turns"] == 1, timeout=20), server.log_path.read_text()[-2000:]
        assert today()["top_intents"] == [{"intent": "greet", "count": 1}]
    finally:
        server.stop()
