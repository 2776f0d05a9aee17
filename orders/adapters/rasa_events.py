"""Consuming the conversation events Rasa's event broker (PikaEventBroker) publishes to RabbitMQ.

Rasa declares a (transient) fanout exchange (``rasa-exchange``) and binds its queues to it; this
consumer declares the same (idempotent, same arguments), so either may start first. Messages are
acknowledged after they are stored: a crash redelivers them, and storing is idempotent. Several
order-service processes may consume one queue: the events are stored as they come, in any order.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

RASA_EXCHANGE = "rasa-exchange"  # rasa.core.brokers.pika.RABBITMQ_EXCHANGE
BATCH = 100  # messages stored per transaction when they come quickly


class RasaEventConsumer:
    """A background thread that hands batches of decoded broker messages to ``store`` (returns
    once they are stored) and reconnects after a lost connection."""

    def __init__(
        self,
        url: str,
        queue: str,
        store: Callable[[list[Mapping[str, Any]]], object],
        exchange: str = RASA_EXCHANGE,
        retry_seconds: float = 2.0,
    ) -> None:
        self.url = url
        self.queue = queue
        self.exchange = exchange
        self.store = store
        self.retry_seconds = retry_seconds
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rasa-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        import pika  # only needed when a broker is configured

        while not self._stopping.is_set():
            try:
                connection = pika.BlockingConnection(pika.URLParameters(self.url))
            except Exception as problem:  # not up yet, or a wrong URL: say so, try again
                log.warning("rasa events: cannot reach RabbitMQ (%s), retrying", problem)
                self._stopping.wait(self.retry_seconds)
                continue
            try:
                self._consume(connection)
            except Exception:
                log.warning("rasa events: connection lost, reconnecting", exc_info=True)
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    connection.close()
            self._stopping.wait(self.retry_seconds)

    def _consume(self, connection) -> None:
        channel = connection.channel()
        # As rasa.core.brokers.pika declares them: a transient fanout exchange, a durable queue.
        channel.exchange_declare(self.exchange, exchange_type="fanout", durable=False)
        channel.queue_declare(self.queue, durable=True)
        channel.queue_bind(self.queue, self.exchange)
        channel.basic_qos(prefetch_count=BATCH)
        self.connected.set()
        while not self._stopping.is_set():
            batch = []
            last_tag = None
            # Wait up to a second for the first message, then take what else is already there.
            for method, _properties, body in channel.consume(self.queue, inactivity_timeout=1.0):
                if method is None:
                    break
                last_tag = method.delivery_tag
                batch.append(body)
                if len(batch) >= BATCH:
                    break
            channel.cancel()
            if last_tag is None:
                continue
            self.store([message for raw in batch if (message := _decode(raw)) is not None])
            channel.basic_ack(last_tag, multiple=True)


def _decode(raw: bytes) -> Mapping[str, Any] | None:
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        log.warning("rasa events: a message that is not JSON was dropped (%d bytes)", len(raw))
        return None
    return message if isinstance(message, dict) else None


def wait_connected(consumer: RasaEventConsumer, timeout: float) -> bool:
    """For tests and start-up logs: whether the consumer got its queue within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if consumer.connected.wait(0.1):
            return True
    return False
