"""Rasa's RabbitMQ event broker on an event loop of its own, in a thread of its own.

Rasa's ``PikaEventBroker`` publishes each tracker event as a task on Rasa's event loop, and each
publish takes several turns of that loop (write, drain, the broker's confirmation). Under load the
loop is mostly busy with work that does not yield (NLU, the tracker store's SQL), so its turns are
long and few: in the soak (16 conversations, two replicas on two cores) publishes fell behind from
the first minute and their pending tasks grew each replica by about 60 KB a turn, without bound,
until the load stopped. Here the same ``PikaEventBroker`` runs unchanged on a loop in a daemon thread
that does nothing else; Rasa's loop only hands it the event (``call_soon_threadsafe``), so publishing
keeps pace however busy Rasa is, and what the broker does on failure (keep the event, publish it
after the reconnection) is Rasa's own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 10.0


class ThreadedPikaEventBroker(EventBroker):
    """A ``PikaEventBroker`` whose connection and publish tasks live on a loop in its own thread."""

    def __init__(self, broker: PikaEventBroker, loop: asyncio.AbstractEventLoop, thread: threading.Thread):
        self.broker = broker
        self._loop = loop
        self._thread = thread

    @classmethod
    async def connect(cls, config: EndpointConfig) -> ThreadedPikaEventBroker:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="rasa-event-broker", daemon=True)
        thread.start()
        try:
            broker = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(PikaEventBroker.from_endpoint_config(config, loop), loop)
            )
        except BaseException:
            _stop(loop, thread)
            raise
        return cls(broker, loop, thread)

    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        # From Rasa's loop: the broker's own publish runs (and creates its task) on the broker's loop.
        self._loop.call_soon_threadsafe(self.broker.publish, event, headers)

    def is_ready(self) -> bool:
        return self.broker.is_ready()

    def pending(self) -> int:
        """Publishes not yet confirmed by RabbitMQ (and events kept for after a reconnection)."""
        return len(self.broker._background_tasks) + len(self.broker._unpublished_events)

    async def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            # What is queued reaches RabbitMQ first (Rasa's close alone would drop pending publishes).
            await asyncio.wait_for(
                asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._drain_and_close(), self._loop)),
                CLOSE_TIMEOUT_S,
            )
        except (asyncio.TimeoutError, RuntimeError) as exc:
            logger.warning("event broker: closed with %d events unpublished (%s)", self.pending(), exc)
        finally:
            _stop(self._loop, self._thread)

    async def _drain_and_close(self) -> None:
        await asyncio.sleep(0)  # the publishes handed over just before close get their tasks
        if self.broker._background_tasks:
            await asyncio.gather(*self.broker._background_tasks, return_exceptions=True)
        await self.broker.close()


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(CLOSE_TIMEOUT_S)
    if not thread.is_alive():
        loop.close()
