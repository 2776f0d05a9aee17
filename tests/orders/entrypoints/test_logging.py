"""LOG_FORMAT=json and the request id, over real HTTP: the id echoed as X-Request-ID and in every JSON
line of its request; under gunicorn's gevent worker, two requests served at once keep their own ids."""

from __future__ import annotations

import io
import json
import logging
import socket
import time

import pytest
import requests
from sqlalchemy import text

from orders.domain.access import Role
from orders.logging_setup import log_handler
from tests.orders.conftest import LiveServer, settings_for
from tests.orders.hub_support import ServerProcess


class JsonLines:
    """Every log record of this process, through the service's own JSON handler, read back."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = log_handler("json", self.stream)
        self.root = logging.getLogger()
        self.level = self.root.level

    def __enter__(self) -> JsonLines:
        self.root.addHandler(self.handler)
        self.root.setLevel(logging.INFO)
        return self

    def __exit__(self, *_exc) -> None:
        self.root.removeHandler(self.handler)
        self.root.setLevel(self.level)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def of(self, request_id: str) -> list[dict]:
        return [line for line in self.lines() if line["request_id"] == request_id]


@pytest.fixture
def json_server(engine, database_url, tmp_path):
    server = LiveServer(engine, settings_for(database_url, tmp_path, LOG_FORMAT="json"))
    yield server
    server.close()


def test_the_request_id_is_echoed_and_in_the_json_lines_of_its_request(json_server):
    ops = json_server.as_(Role.OPERATIONS)
    with JsonLines() as logs:
        given = ops.get(f"{json_server.url}/api/v1/orders/SO-9001", headers={"X-Request-ID": "req-42.a:b"})
        made = ops.get(f"{json_server.url}/api/v1/orders/SO-9002")
        refused = ops.get(f"{json_server.url}/api/v1/orders/SO-9003", headers={"X-Request-ID": "two words"})
    assert given.status_code == made.status_code == 404
    assert given.headers["X-Request-ID"] == "req-42.a:b"
    generated = made.headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0  # a uuid4 hex
    replaced = refused.headers["X-Request-ID"]  # not a plain token: a fresh id instead
    assert replaced != "two words" and len(replaced) == 32

    for request_id, order_id in (("req-42.a:b", "SO-9001"), (generated, "SO-9002"), (replaced, "SO-9003")):
        (access,) = [line for line in logs.of(request_id) if line["logger"] == "orders.access"]
        assert {"time", "level", "logger", "message", "request_id"} <= set(access)
        assert access["level"] == "INFO" and "exc_info" not in access
        assert access["route"] == "/api/v1/orders/<order_id>"
        assert access["path"] == f"/api/v1/orders/{order_id}"
        assert access["status"] == 404 and access["duration_ms"] >= 0
        assert access["message"] == f"GET /api/v1/orders/{order_id} 404"


def test_an_unhandled_error_is_logged_with_its_traceback_and_request_id(json_server, engine):
    with engine.begin() as connection:
        # The next handoff query fails in the database (its messages first: they refer to it).
        connection.execute(text("DROP TABLE handoff_messages"))
        connection.execute(text("DROP TABLE handoffs"))
    with JsonLines() as logs:
        answer = json_server.as_(Role.OPERATIONS).get(
            f"{json_server.url}/api/v1/handoffs", headers={"X-Request-ID": "broken-1"}
        )
    assert answer.status_code == 500
    assert answer.headers["X-Request-ID"] == "broken-1"
    lines = logs.of("broken-1")
    (failure,) = [line for line in lines if line["level"] == "ERROR"]
    assert failure["logger"] == "orders.entrypoints.http.errors" and failure["message"] == "unhandled error"
    assert "Traceback" in failure["exc_info"] and "handoffs" in failure["exc_info"]
    assert [line["status"] for line in lines if line["logger"] == "orders.access"] == [500]


def test_outside_a_request_a_line_has_no_request_id():
    with JsonLines() as logs:
        logging.getLogger("orders.test").warning("between requests: %s", "nothing to tie it to")
    (line,) = logs.lines()
    assert line["request_id"] is None and line["message"] == "between requests: nothing to tie it to"
    assert line["level"] == "WARNING" and line["logger"] == "orders.test"


def _slow_request(port: int, request_id: str, body: bytes) -> socket.socket:
    """Open a request to /api/v1/carriers/check and send its headers and half its body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        "POST /api/v1/carriers/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Request-ID: {request_id}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def test_under_gevent_two_requests_served_at_once_keep_their_own_ids(sqlite_engine, tmp_path):
    server = ServerProcess(str(sqlite_engine.url), tmp_path, LOG_FORMAT="json").start()
    try:
        body = json.dumps({"carrier": "SF Express", "tracking_number": "SF1234567890123"}).encode()
        # A's greenlet has set its id and waits for the rest of its body; B is served meanwhile.
        slow = _slow_request(server.port, "request-a", body)
        time.sleep(0.3)
        fast = requests.post(
            f"{server.url}/api/v1/carriers/check",
            data=body,
            headers={"X-Request-ID": "request-b", "Content-Type": "application/json"},
            timeout=10,
        )
        assert fast.headers["X-Request-ID"] == "request-b"
        slow.sendall(body[len(body) // 2 :])
        answer = _read_all(slow)
        assert b"\r\nX-Request-ID: request-a\r\n" in answer
    finally:
        server.stop()
    # One JSON object per line, up to the quick shutdown (gevent prints the exit of its hub raw).
    logged = server.log_path.read_text(encoding="utf-8").splitlines()
    lines = []
    for line in logged:
        lines.append(json.loads(line))
        if lines[-1]["message"] == "Handling signal: quit":
            break
    access = {
        line["request_id"]: line
        for line in lines
        if line["logger"] == "orders.access" and line["path"] == "/api/v1/carriers/check"
    }
    assert set(access) == {"request-a", "request-b"}
    # A's id was set before it waited for its body, and B ran in that wait (the sleep above)
    assert access["request-a"]["duration_ms"] >= 250 > access["request-b"]["duration_ms"]
    assert access["request-a"]["status"] == access["request-b"]["status"] == fast.status_code == 200
    assert any(line["logger"].startswith("gunicorn") for line in lines)  # gunicorn's own lines are JSON too
