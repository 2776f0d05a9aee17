"""Fan-out of dispatched outbox events to the hubs: in-process (the embedded default) or Redis pub/sub.

An event travels as its JSON frame (the exact text a WebSocket client receives), so every hub
serialises nothing and the frame is the same in every process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

# (event id, JSON frame) -> None; called in order of publication, from one thread.
Deliver = Callable[[int, str], None]


class FanOut(Protocol):
    def start(self, deliver: Deliver, on_connected: Callable[[], None]) -> None:
        """Begin delivering published events to ``deliver``; ``on_connected`` runs after each
        (re)subscription, so the hub can catch up on what it may have missed meanwhile."""

    def publish(self, event_id: int, frame: str) -> None: ...

    def stop(self) -> None: ...


class InProcessFanOut:
    """One process: publishing is delivering, synchronously in the publisher's thread."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    def start(self, deliver: Deliver, on_connected: Callable[[], None]) -> None:
        self._deliver = deliver
        on_connected()

    def publish(self, event_id: int, frame: str) -> None:
        if self._deliver is not None:
            self._deliver(event_id, frame)

    def stop(self) -> None:
        self._deliver = None


class RedisFanOut:
    """Several processes: each publishes to one channel and each hub subscribes to it.

    Pub/sub keeps no history, so after a (re)subscription the hub catches up from the database
    (``on_connected``); a message is "<id> <frame>" so receivers need not parse the JSON.
    """

    def __init__(self, url: str, channel: str, retry_seconds: float = 1.0) -> None:
        import redis  # only needed when ORDERBOT_REDIS_URL is set

        self._client = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        self._channel = channel
        self._retry_seconds = retry_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, deliver: Deliver, on_connected: Callable[[], None]) -> None:
        subscribed = threading.Event()
        self._thread = threading.Thread(
            target=self._listen, args=(deliver, on_connected, subscribed), name="hub-redis", daemon=True
        )
        self._thread.start()
        subscribed.wait(timeout=10)  # publish nothing before this hub hears the channel

    def publish(self, event_id: int, frame: str) -> None:
        self._client.publish(self._channel, f"{event_id} {frame}")

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._client.close()

    def _listen(
        self, deliver: Deliver, on_connected: Callable[[], None], subscribed: threading.Event
    ) -> None:
        while not self._stopping.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                pubsub.get_message(timeout=5)  # the subscription's confirmation
                subscribed.set()
                on_connected()
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message["type"] != "message":
                        continue
                    event_id, _, frame = message["data"].decode().partition(" ")
                    deliver(int(event_id), frame)
            except Exception:  # Redis down or restarting: retry, then catch up from the database
                log.warning("hub: Redis subscription lost, retrying", exc_info=True)
                self._stopping.wait(self._retry_seconds)
            finally:
                with contextlib.suppress(Exception):
                    pubsub.close()
