"""The hub's WebSocket endpoint (flask-sock) at ``/ws/notifications``: one connection from its first
message to its close, and registering the endpoint on the app."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from sqlalchemy import Engine

from orders.adapters.fanout import FanOut
from orders.config import Settings
from orders.entrypoints.auth import TokenSigner
from orders.entrypoints.http import dependencies
from orders.entrypoints.hub.protocol import (
    CLOSE_AUTH_FAILED,
    CLOSE_TOO_SLOW,
    PATH,
    REPLAY_ROUNDS,
    Refused,
    authenticate,
    error_frame,
    message_frame,
    parse,
)
from orders.entrypoints.hub.routing import ClientSession, Hub
from orders.entrypoints.hub.transport import GuardedSocket, abort
from orders.service_layer.dispatcher import (
    Scope,
    replay,
)

log = logging.getLogger(__name__)


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
            actor, after, self.expires_at = authenticate(
                self.ws, self.signer, self.settings.hub_auth_timeout_seconds
            )
        except Refused as refused:
            self.ws.send(error_frame(refused.code, str(refused)))
            self.ws.close(CLOSE_AUTH_FAILED, str(refused)[:120])
            return
        session = ClientSession(Scope.of(actor), self.settings.hub_buffer_events, self.wake)
        horizon = self.hub.register(session)  # subscribe first, then replay, then dedupe by id
        try:
            last_sent = horizon if after is None else min(after, horizon)
            self.ws.send(message_frame("ready", role=actor.role.value, after=last_sent))
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
                self.ws.send(error_frame("token_expired", "Your sign-in has expired: sign in again."))
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
                self.ws.send(message_frame("ping"))
                next_ping = time.monotonic() + heartbeat

    def _send_events(self, events: Iterable[tuple[int, str]], last_sent: int) -> int:
        for event_id, frame in events:
            if event_id > last_sent:  # replayed already, or delivered twice: same id, same event
                self.ws.send(frame)
                last_sent = event_id
        return last_sent

    def _answer(self, raw: Any) -> None:
        try:
            message = parse(raw)
        except Refused as refused:
            self.ws.send(error_frame(refused.code, str(refused)))
            return
        kind = message["type"]
        if kind == "ping":
            self.ws.send(message_frame("pong"))
        elif kind == "auth":
            self.ws.send(error_frame("already_authenticated", "This connection is signed in already."))
        else:
            self.ws.send(error_frame("unknown_type", f"Unknown message type {kind[:40]!r}."))


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
            abort(ws)
        except Exception:
            log.exception("hub: client connection failed")
            abort(ws)

    return hub
