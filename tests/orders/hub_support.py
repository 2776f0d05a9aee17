"""Helpers for the notification hub tests: WebSocket clients, outbox events, real server processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
import websocket  # websocket-client: a plain synchronous client, nothing shared with the server

from orders.domain.access import Role
from orders.domain.notifications import Notification
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

ROOT = Path(__file__).resolve().parents[2]


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/ws/notifications"


class Client:
    """One WebSocket client of the hub, reading JSON frames with a timeout."""

    def __init__(self, http_url: str, query: str = "", rcvbuf: int | None = None) -> None:
        options = [(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)] if rcvbuf else ()
        self.ws = websocket.create_connection(ws_url(http_url) + query, timeout=10, sockopt=options)
        self.close_code: int | None = None

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def auth(self, token: str, after: int | None = None) -> dict:
        self.send({"type": "auth", "token": token, "after": after})
        ready = self.recv()
        assert ready["type"] == "ready", ready
        return ready

    def recv(self, timeout: float = 5.0) -> dict:
        """The next frame that is not a heartbeat; raises TimeoutError, or Closed with the code."""
        deadline = time.monotonic() + timeout
        while True:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                raise TimeoutError("no frame in time") from None
            except websocket.WebSocketConnectionClosedException:
                raise Closed(self.close_code) from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                raise Closed(self.close_code, data[2:].decode(errors="replace"))
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue
            frame = json.loads(data)
            if frame.get("type") != "ping":
                return frame

    def events(self, count: int, timeout: float = 5.0) -> list[dict]:
        return [self.recv(timeout) for _ in range(count)]

    def silent(self, seconds: float = 0.5) -> bool:
        """True when nothing but heartbeats arrives for ``seconds``."""
        try:
            frame = self.recv(seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected frame {frame}")

    def wait_closed(self, timeout: float = 10.0) -> tuple[int | None, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.recv(deadline - time.monotonic())
            except Closed as closed:
                return closed.code, closed.reason
            except TimeoutError:
                break
        raise AssertionError("the server did not close the connection")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


class Closed(Exception):
    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


def add_event(
    engine,
    recipient: Role,
    customer_id: str | None = None,
    order_id: str | None = "SO-1",
    event_type: str = "status_changed",
    data: dict | None = None,
) -> int:
    """Write one outbox row as the service layer does (own transaction); returns its id."""
    notification = Notification(
        recipient,
        event_type,
        order_id,
        customer_id,
        {"en": f"Order {order_id} changed.", "zh": f"订单 {order_id} 已更新。"},
        data or {},
    )
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.outbox.add(notification, datetime.now(timezone.utc))
        last_id = uow.session.execute(_max_id()).scalar()
        uow.commit()
    return last_id


def _max_id():
    from sqlalchemy import func, select

    from orders.adapters.orm import outbox

    return select(func.max(outbox.c.id))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """The order service as `python -m orders serve` runs it (gunicorn, its default worker)."""

    def __init__(self, database_url: str, var_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ORDERBOT_DATABASE_URL": database_url,
            "ORDERBOT_VAR_DIR": str(var_dir),
            "ORDERBOT_SAMPLE_DATA": "",
            "ORDERBOT_SCHEDULER": "off",
            "ORDERS_HOST": "127.0.0.1",
            "ORDERS_PORT": str(self.port),
            **env,
        }
        self.log_path = var_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orders", "serve"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # gunicorn's quick shutdown: open WebSockets would hold a graceful one for its whole timeout.
        os.killpg(self.process.pid, signal.SIGQUIT)  # its own session: the master and its worker
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
