"""Rasa's PikaEventBroker on a loop of its own (bot/event_broker.py), against the real RabbitMQ."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid

import pytest
from rasa.core.brokers.pika import PikaEventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.event_broker import ThreadedPikaEventBroker
from tests.bot.test_endpoints import reachable

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


def test_publishes_run_on_the_brokers_thread_not_the_callers(monkeypatch):
    connected, published = [], []

    async def no_network(self) -> None:
        connected.append(threading.current_thread().name)

    monkeypatch.setattr(PikaEventBroker, "connect", no_network)
    monkeypatch.setattr(
        PikaEventBroker,
        "publish",
        lambda self, event, headers=None: published.append((threading.current_thread().name, event)),
    )

    async def publish_one() -> ThreadedPikaEventBroker:
        broker = await ThreadedPikaEventBroker.connect(
            EndpointConfig(url="127.0.0.1", username="u", password="p", queues=["q"])
        )
        broker.publish({"event": "user"})
        await broker.close()
        return broker

    broker = asyncio.run(publish_one())
    assert connected == ["rasa-event-broker"]
    assert published == [("rasa-event-broker", {"event": "user"})]
    assert not broker._thread.is_alive() and broker._loop.is_closed()


def _on_a_loop_of_its_own(make_coroutine):
    """Run a coroutine to its end from anywhere, a test's running loop included (its own thread)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


async def _channel_do(action):
    import aio_pika

    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        return await action(await connection.channel())


@pytest.fixture
def rabbitmq_queue():
    if not reachable("127.0.0.1", 5672):
        pytest.skip("RabbitMQ at 127.0.0.1:5672 is unreachable")
    name = f"orderbot_test_{uuid.uuid4().hex[:10]}"
    yield name

    async def delete(channel):
        await channel.queue_delete(name)
        await channel.exchange_delete(name)

    _on_a_loop_of_its_own(lambda: _channel_do(delete))


def _messages_in(queue: str) -> int:
    async def count(channel):
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        return declared.declaration_result.message_count

    return _on_a_loop_of_its_own(lambda: _channel_do(count))


def _config(queue: str) -> EndpointConfig:
    return EndpointConfig(
        url="127.0.0.1", username="guest", password="guest", queues=[queue], exchange_name=queue
    )


def test_events_reach_rabbitmq_while_the_callers_loop_never_yields(rabbitmq_queue):
    """The soak's failure: Rasa's loop busy with work that does not yield. On the caller's loop the
    publishes could not even start; on the broker's loop they are all confirmed meanwhile."""
    events = 700

    async def busy_turns() -> tuple[int, int]:
        broker = await ThreadedPikaEventBroker.connect(_config(rabbitmq_queue))
        try:
            for turn in range(events // 7):  # a turn: its events, then blocking work (no await)
                for n in range(7):
                    broker.publish({"event": "user", "sender_id": f"s{turn}", "text": f"{n}"})
                time.sleep(0.005)
            deadline = time.monotonic() + 30
            while broker.pending() and time.monotonic() < deadline:
                time.sleep(0.05)  # still not yielding to this loop
            return broker.pending(), _messages_in(rabbitmq_queue)
        finally:
            await broker.close()

    assert asyncio.run(busy_turns()) == (0, events)


def test_close_publishes_what_was_handed_over_first(rabbitmq_queue):
    async def publish_then_close() -> ThreadedPikaEventBroker:
        broker = await ThreadedPikaEventBroker.connect(_config(rabbitmq_queue))
        for n in range(300):
            broker.publish({"event": "bot", "sender_id": "s", "text": str(n)})
        await broker.close()
        return broker

    broker = asyncio.run(publish_then_close())
    assert _messages_in(rabbitmq_queue) == 300
    assert not broker._thread.is_alive()
