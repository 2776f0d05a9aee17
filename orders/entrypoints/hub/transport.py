"""Writing to a client's socket: whole frames, one at a time, bounded in time, under gevent or threads."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from typing import Any

from orders.entrypoints.hub.protocol import LAG_SECONDS

log = logging.getLogger(__name__)


def greenlets() -> bool:
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


def abort(ws) -> None:
    """Cut a connection whose close frame cannot be sent; its reader thread ends with it."""
    ws.connected = False
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)
