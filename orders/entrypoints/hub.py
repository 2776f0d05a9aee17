"""The notification hub: a WebSocket endpoint (flask-sock) that pushes outbox events to the clients
entitled to them.

Protocol (``/ws/notifications``), JSON text frames:

client -> ``{"type":"auth","token":"<JWT>","after":<last event id or null>}`` as the first message,
          within ``hub_auth_timeout_seconds``; a token anywhere else (query string, headers) is ignored.
server -> ``{"type":"ready","role":"<role>","after":<id>}``: the stream continues after that id.
          ``after: null`` means live events only, and ``ready.after`` is then the id to reconnect with.
          With an id, the events the client missed (from the database, younger than the retention)
          come first, then live ones: no gap, no reordering; a repeated id is the same event.
server -> ``{"type":"event","id":…,"event_type":…,"order_id":…,"customer_id":…,"time":"ISO-8601",
          "recipient_role":…,"message":{"en":…,"zh":…},"data":{…}}``
server -> ``{"type":"ping"}`` every ``hub_heartbeat_seconds``;
          client ``{"type":"ping"}`` -> server ``{"type":"pong"}``
server -> ``{"type":"error","code":…,"message":…}``: malformed JSON, unknown type, a second auth
          (the identity of a connection never changes): the connection stays open.
close codes: 4001 authentication failed or timed out, or the token expired (a connection lives no
longer than its token), 4008 client too slow (its buffer overflowed
while it was behind on reading: reconnect with the last id), 1009 message too big (closed by the
WebSocket layer, simple-websocket, before the message is read whole).

Scoping comes from the token only: a customer gets the customer events of its own customer id;
warehouse and finance get their role's events; operations gets every event.
"""

from __future__ import annotations

import contextlib
import json
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from sqlalchemy import Engine

from orders.adapters.fanout import FanOut, InProcessFanOut, RedisFanOut
from orders.config import Settings
from orders.domain.access import Role
from orders.entrypoints.auth import TokenSigner, Unauthenticated
from orders.entrypoints.http import dependencies
from orders.service_layer.dispatcher import (
    OutboxDispatcher,
    Scope,
    dispatched_between,
    dispatched_horizon,
    replay,
)

log = logging.getLogger(__name__)

PATH = "/ws/notifications"
CLOSE_AUTH_FAILED = 4001
CLOSE_TOO_SLOW = 4008
LAG_SECONDS = 1.0  # a client whose socket stays full this long while its queue overflows is too slow
REPLAY_ROUNDS = 5  # catch-up rounds from the database while live events outrun a replay


def _frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields}, ensure_ascii=False)


def _error(code: str, message: str) -> str:
    return _frame("error", code=code, message=message)


# --- one client --------------------------------------------------------------------------------------


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
        self._lock = contextlib.nullcontext() if _greenlets() else threading.Lock()
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


def _greenlets() -> bool:
    """Whether gevent has patched threading (the hub's server model): threads are greenlets."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("threading")


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame: what a server sends on a connection without extensions."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class GuardedSocket:
    """The connection's socket with whole, serialised and time-bounded writes.

    simple-websocket writes with ``sock.send`` from two threads (ours, and its reader answering pings)
    and ignores partial writes (gevent returns them); a client that stops reading would also block a
    plain send forever. Here every write is complete, one at a time, or fails after ``timeout``.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout
        self._lock = threading.Lock()
        self._cooperative = type(sock).__module__.startswith("gevent")
        # gevent's socket is non-blocking underneath: its real socket's send raises instead of
        # waiting, and calling it directly skips gevent's wrapper on the fan-out's hot path.
        raw = getattr(sock, "_sock", None) if self._cooperative else None
        self._raw_send = raw.send if raw is not None else None
        self.pending = b""  # the rest of a frame the fast path could only partly write
        self.longest_wait = 0.0  # for the client to make room, since the handler last reset it

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def client_lagged(self) -> bool:
        """Whether the client is behind on reading: a write waited long for it to make room (a
        client that reads only waits for a burst to drain, a few milliseconds)."""
        return self.longest_wait >= LAG_SECONDS

    def try_send(self, data: bytes) -> bool:
        """Write ``data`` now without waiting: True if the socket took it (a remainder stays in
        ``pending`` for the next write), False if nothing was written."""
        if self.pending or not self._lock.acquire(blocking=False):
            return False
        try:
            sent = self._send_now(memoryview(data))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False  # the handler finds out when it writes
        finally:
            self._lock.release()
        self.pending = data[sent:]
        return True

    def send(self, data: bytes) -> int:
        self.sendall(data)
        return len(data)

    def sendall(self, data: bytes) -> None:
        deadline = time.monotonic() + self._timeout
        if not self._lock.acquire(timeout=self._timeout):
            raise TimeoutError("the client does not read")
        try:
            view = memoryview(self.pending + data if self.pending else data)
            self.pending = b""
            while view:
                try:
                    view = view[self._send_now(view) :]
                except (BlockingIOError, InterruptedError):
                    waiting_since = time.monotonic()
                    writable = self._wait_writable(deadline - waiting_since)
                    self.longest_wait = max(self.longest_wait, time.monotonic() - waiting_since)
                    if not writable:
                        raise TimeoutError("the client does not read") from None
        finally:
            self._lock.release()

    def _send_now(self, view: memoryview) -> int:
        if self._raw_send is not None:
            return self._raw_send(view)
        if self._cooperative:
            return self._sock.send(view, 0, 0.0)  # gevent: timeout 0 raises instead of waiting
        return self._sock.send(view, socket.MSG_DONTWAIT)

    def _wait_writable(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        if self._cooperative:
            from gevent.socket import wait_write

            try:
                wait_write(self._sock.fileno(), timeout=timeout)
            except TimeoutError:
                return False
            return True
        with selectors.DefaultSelector() as selector:  # poll/epoll: descriptors beyond 1024 are fine
            selector.register(self._sock, selectors.EVENT_WRITE)
            return bool(selector.select(timeout))


# --- the hub: clients of this process, and what reaches them --------------------------------------


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


# --- the WebSocket endpoint ------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _parse(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise _Refused("malformed", "Send JSON text frames.")
    try:
        message = json.loads(raw)
    except ValueError:
        raise _Refused("malformed", "The message is not JSON.") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise _Refused("malformed", 'A message is a JSON object with a "type".')
    return message


def _authenticate(ws, signer: TokenSigner, timeout: float):
    """The first message must be a valid auth; returns (actor, after, the token's expiry), or raises
    _Refused."""
    raw = ws.receive(timeout=timeout)
    if raw is None:
        raise _Refused("auth_timeout", f"Send an auth message within {timeout:g} seconds.")
    message = _parse(raw)
    if message["type"] != "auth" or not isinstance(message.get("token"), str):
        raise _Refused("auth_required", 'The first message must be {"type":"auth","token":...}.')
    after = message.get("after")
    if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
        raise _Refused("invalid_after", '"after" must be the last event id received, or null.')
    try:
        actor = signer.actor(f"Bearer {message['token']}")
        expires_at = signer.expires_at(message["token"])
    except Unauthenticated as problem:
        raise _Refused("unauthenticated", str(problem)) from None
    return actor, after, expires_at


class _Connection:
    """One client from its first message to its close."""

    def __init__(self, ws, hub: Hub, signer: TokenSigner, settings: Settings) -> None:
        self.ws = ws
        self.hub = hub
        self.signer = signer
        self.settings = settings
        # One event wakes the handler for both a client message (simple-websocket sets ws.event) and
        # a queued event (the session sets it): a single thread per client, no extra ones.
        self.wake = threading.Event()
        ws.event = self.wake
        # Kernel memory per client is bounded too (autotuning grows it to megabytes): a client
        # that stops reading fills it soon, and is then found lagging.
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, settings.hub_socket_send_buffer_bytes)
        ws.sock = GuardedSocket(ws.sock, settings.hub_send_timeout_seconds)
        # Shared frames fit only a connection without extensions (permessage-deflate differs).
        connection = getattr(ws.ws, "connection", None)
        proto = getattr(connection, "_proto", None)
        self.plain = proto is not None and not getattr(proto, "extensions", True)

    def run(self) -> None:
        try:
            actor, after, self.expires_at = _authenticate(
                self.ws, self.signer, self.settings.hub_auth_timeout_seconds
            )
        except _Refused as refused:
            self.ws.send(_error(refused.code, str(refused)))
            self.ws.close(CLOSE_AUTH_FAILED, str(refused)[:120])
            return
        session = ClientSession(Scope.of(actor), self.settings.hub_buffer_events, self.wake)
        horizon = self.hub.register(session)  # subscribe first, then replay, then dedupe by id
        try:
            last_sent = horizon if after is None else min(after, horizon)
            self.ws.send(_frame("ready", role=actor.role.value, after=last_sent))
            last_sent = self._replay(session, last_sent, horizon)
            self._serve(session, last_sent)
        finally:
            self.hub.unregister(session)

    def _replay(self, session: ClientSession, last_sent: int, upto: int) -> int:
        """Send what the client missed, from the database. Live events queue meanwhile; if a long
        replay overflows the queue, everything up to the new horizon is in the database too, so
        replay on from there instead of dropping the client."""
        retention = timedelta(days=self.settings.hub_retention_days)
        for round_ in range(REPLAY_ROUNDS):
            missed = replay(self.hub.engine, session.scope, last_sent, upto, retention)
            last_sent = max(last_sent, self._send_events(missed, last_sent))
            if not session.overflowed or self.ws.sock.client_lagged() or round_ == REPLAY_ROUNDS - 1:
                # Done; or the client is the bottleneck (_serve closes it, 4008); or live events
                # still outrun us: the queue stays marked overflowed and _serve replays on from here.
                return last_sent
            upto = self._restart(session)
        return last_sent

    def _restart(self, session: ClientSession) -> int:
        """Empty an overflowed queue; returns the horizon to replay up to."""
        session.restart()
        self.ws.sock.longest_wait = 0.0
        return self.hub.horizon  # read after the restart: later events are queued again

    def _serve(self, session: ClientSession, last_sent: int) -> None:
        session.go_direct(self.ws.sock if self.plain else None, last_sent)
        heartbeat = self.settings.hub_heartbeat_seconds
        next_ping = time.monotonic() + heartbeat
        # The token's expiry on the monotonic clock: a connection lives no longer than its token.
        token_ends = time.monotonic() + (self.expires_at - time.time())
        while True:
            self.wake.wait(max(0.0, min(next_ping, token_ends) - time.monotonic()))
            self.wake.clear()
            if time.monotonic() >= token_ends:
                self.ws.send(_error("token_expired", "Your sign-in has expired: sign in again."))
                self.ws.close(CLOSE_AUTH_FAILED, "token expired: sign in again")
                return
            while (raw := self.ws.receive(timeout=0)) is not None:
                self._answer(raw)
            if session.overflowed:
                if not self.ws.sock.client_lagged():
                    # Perhaps a burst (a settlement run, a backlog after a restart) outran this
                    # handler, not the client: what the queue dropped is in the database.
                    last_sent = self._replay(session, session.last_sent, self._restart(session))
                    session.go_direct(self.ws.sock if self.plain else None, last_sent)
                    if not self.ws.sock.client_lagged():
                        continue
                # The client itself is behind on reading: it reconnects and replays from its last id.
                self.ws.close(CLOSE_TOO_SLOW, "client too slow: reconnect with your last event id")
                return
            for _event_id, frame in session.take():
                self.ws.send(frame)
            session.drained()
            if self.ws.sock.pending:
                self.ws.sock.sendall(b"")  # the rest of a frame the fast path began
            if time.monotonic() >= next_ping:
                self.ws.send(_frame("ping"))
                next_ping = time.monotonic() + heartbeat

    def _send_events(self, events: Iterable[tuple[int, str]], last_sent: int) -> int:
        for event_id, frame in events:
            if event_id > last_sent:  # replayed already, or delivered twice: same id, same event
                self.ws.send(frame)
                last_sent = event_id
        return last_sent

    def _answer(self, raw: Any) -> None:
        try:
            message = _parse(raw)
        except _Refused as refused:
            self.ws.send(_error(refused.code, str(refused)))
            return
        kind = message["type"]
        if kind == "ping":
            self.ws.send(_frame("pong"))
        elif kind == "auth":
            self.ws.send(_error("already_authenticated", "This connection is signed in already."))
        else:
            self.ws.send(_error("unknown_type", f"Unknown message type {kind[:40]!r}."))


def _abort(ws) -> None:
    """Cut a connection whose close frame cannot be sent; its reader thread ends with it."""
    ws.connected = False
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)


def register_hub(app: Flask, engine: Engine, settings: Settings, fanout: FanOut | None = None) -> Hub:
    """Add ``/ws/notifications`` to ``app``. The hub starts with the first connection, or at once
    when the server calls ``start()`` (gunicorn's worker does)."""
    hub = Hub(engine, settings, fanout)
    wired = dependencies.of(app)
    signer: TokenSigner = wired.signer
    wired.hub = hub
    options = app.config.setdefault("SOCK_SERVER_OPTIONS", {})
    options.setdefault("max_message_size", settings.hub_max_message_bytes)
    sock = Sock(app)

    @sock.route(PATH)
    def notifications_socket(ws) -> None:
        hub.start()
        try:
            _Connection(ws, hub, signer, settings).run()
        except ConnectionClosed:  # the client left
            pass
        except OSError:  # the client stopped reading (send timeout) or vanished: drop the connection
            _abort(ws)
        except Exception:
            log.exception("hub: client connection failed")
            _abort(ws)

    return hub
