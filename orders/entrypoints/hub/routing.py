"""Who gets which event: one client's session, and the hub that routes each published event to the
sessions allowed to see it and replays what a reconnecting client missed."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque

from sqlalchemy import Engine

from orders.adapters.fanout import FanOut, InProcessFanOut, RedisFanOut
from orders.config import Settings
from orders.domain.access import Role
from orders.entrypoints.hub.transport import GuardedSocket, greenlets, text_frame
from orders.service_layer.dispatcher import (
    OutboxDispatcher,
    Scope,
    dispatched_between,
    dispatched_horizon,
)

log = logging.getLogger(__name__)


class ClientSession:
    """What reaches one signed-in client: written straight to its socket when that is free (the
    fan-out's fast path, like a broadcast), else queued for its handler, in order either way.

    The queue is bounded. Full, it is dropped (memory stays bounded, the fan-out never waits): if the
    client is behind on reading, the handler closes it with 4008 and it reconnects and replays; if a
    burst merely outran the handler, the handler replays the dropped events from the database.
    """

    def __init__(self, scope: Scope, capacity: int, wake: threading.Event) -> None:
        self.scope = scope
        self.capacity = capacity
        self.wake = wake
        self.overflowed = False
        self.last_sent = 0  # the highest event id handed to the socket
        self._queue: deque[tuple[int, str]] = deque()
        # Under gevent no method here can switch greenlets (none blocks), so they are atomic
        # already; the lock is for real threads (a threaded server), and costs the fan-out time.
        self._lock = contextlib.nullcontext() if greenlets() else threading.Lock()
        self._direct: GuardedSocket | None = None  # set once the replay is done
        self._draining = False  # the handler is sending what it took from the queue

    def routing_key(self) -> tuple[str, ...]:
        if self.scope.role is Role.OPERATIONS:
            return ("all",)
        if self.scope.role is Role.CUSTOMER:
            return ("customer", self.scope.customer_id or "")
        return ("role", self.scope.role.value)

    def offer(self, event_id: int, frame: str, wire: bytes) -> None:
        """``wire`` is ``frame`` as a complete WebSocket frame (the same bytes for every client)."""
        with self._lock:
            if self.overflowed or event_id <= self.last_sent:
                return
            direct = self._direct
            if direct is not None and not self._queue and not self._draining and direct.try_send(wire):
                self.last_sent = event_id
                if direct.pending:
                    self.wake.set()  # the handler sends the rest of the frame
                return
            if len(self._queue) >= self.capacity:
                self.overflowed = True
                self._queue.clear()
            else:
                self._queue.append((event_id, frame))
        self.wake.set()

    def go_direct(self, sock: GuardedSocket | None, last_sent: int) -> None:
        """The replay is done: later events may go straight to ``sock`` (None: always queue)."""
        with self._lock:
            self.last_sent = max(self.last_sent, last_sent)
            self._direct = sock

    def restart(self) -> None:
        """Forget an overflow and stop the fast path; the caller replays what was dropped."""
        with self._lock:
            self._queue.clear()
            self.overflowed = False
            self._direct = None

    def take(self) -> list[tuple[int, str]]:
        """Queued events newer than the last sent, in order; call ``drained()`` once they are sent."""
        with self._lock:
            taken = [(event_id, frame) for event_id, frame in self._queue if event_id > self.last_sent]
            self._queue.clear()
            if taken:
                self.last_sent = taken[-1][0]
                self._draining = True
        return taken

    def drained(self) -> None:
        with self._lock:
            self._draining = False


class Hub:
    """Routes each published event to the sessions allowed to see it, and tracks the horizon: the
    highest event id this process has passed on, up to which a reconnecting client is replayed."""

    def __init__(self, engine: Engine, settings: Settings, fanout: FanOut | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.fanout = fanout
        self.dispatcher: OutboxDispatcher | None = None
        self.started = False
        self._start_lock = threading.Lock()
        self._lock: threading.Lock | None = None
        self._sessions: dict[tuple[str, ...], set[ClientSession]] = {}
        self._horizon = 0

    def start(self) -> None:
        """Begin dispatching and delivering. Called in the serving process (after fork, and after
        gevent's patching, so its locks and threads are the cooperative ones)."""
        if self.started:
            return
        with self._start_lock:
            if self.started:
                return
            self._lock = threading.Lock()
            self._horizon = dispatched_horizon(self.engine)
            if self.fanout is None:
                url = self.settings.redis_url
                channel = self.settings.redis_channel
                self.fanout = RedisFanOut(url, channel) if url else InProcessFanOut()
            self.fanout.start(self.deliver, self.catch_up)
            self.dispatcher = OutboxDispatcher(self.engine, self.fanout, self.settings.hub_poll_seconds)
            self.dispatcher.start()  # undispatched rows (a restart, another process's writes) go now
            self.started = True

    def stop(self) -> None:
        if not self.started:
            return
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.fanout is not None:
            self.fanout.stop()
        self.started = False

    @property
    def horizon(self) -> int:
        return self._horizon

    def client_count(self) -> int:
        assert self._lock is not None
        with self._lock:
            return sum(len(group) for group in self._sessions.values())

    def client_counts(self) -> dict[str, int]:
        """Connected clients of this process by role (for metrics)."""
        assert self._lock is not None
        counts: dict[str, int] = {}
        with self._lock:
            for group in self._sessions.values():
                for session in group:
                    role = session.scope.role.value
                    counts[role] = counts.get(role, 0) + 1
        return counts

    def register(self, session: ClientSession) -> int:
        """Add ``session``; returns the horizon: every later event reaches the session live."""
        assert self._lock is not None
        with self._lock:
            self._sessions.setdefault(session.routing_key(), set()).add(session)
            return self._horizon

    def unregister(self, session: ClientSession) -> None:
        assert self._lock is not None
        with self._lock:
            group = self._sessions.get(session.routing_key())
            if group is not None:
                group.discard(session)
                if not group:
                    del self._sessions[session.routing_key()]

    def deliver(self, event_id: int, frame: str) -> None:
        """Called by the fan-out, in publication order, from one thread."""
        assert self._lock is not None
        head = json.loads(frame)
        wire = text_frame(frame.encode())  # framed once for every client of this process
        keys = [("all",)]
        if head["recipient_role"] == Role.CUSTOMER.value:
            if head.get("customer_id"):
                keys.append(("customer", head["customer_id"]))
        else:
            keys.append(("role", head["recipient_role"]))
        with self._lock:
            self._horizon = max(self._horizon, event_id)
            targets = [s for key in keys for s in self._sessions.get(key, ())]
        role, customer_id = head["recipient_role"], head.get("customer_id")
        for session in targets:
            if session.scope.allows(role, customer_id):  # belt and braces
                session.offer(event_id, frame, wire)

    def catch_up(self) -> None:
        """After a (re)subscription: pass on what other processes dispatched while we did not listen."""
        while True:
            missed = dispatched_between(self.engine, self._horizon)
            if not missed:
                return
            for event_id, frame in missed:
                self.deliver(event_id, frame)
