"""Fault tests against the real servers of this machine: PostgreSQL restarted during writes, Redis
stopped under two hubs. They stop and start those servers (root and the Debian service scripts are
needed; otherwise they skip with the reason), always starting them again."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from orders.adapters import database
from orders.adapters.orm import handoffs, outbox
from orders.domain.access import Actor, Role, Source
from orders.entrypoints.auth import TokenSigner
from tests.orders.conftest import postgres_database
from tests.orders.hub_support import Client, ServerProcess

SECRET = "fault-test-secret-0123456789-0123456789-01"
REDIS_URL = os.environ.get("ORDERBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _may_control(command: str) -> None:
    if os.geteuid() != 0 or shutil.which(command) is None:
        pytest.skip(f"stopping the local servers needs root and {command}")


def _postgres_cluster() -> tuple[str, str]:
    _may_control("pg_ctlcluster")
    listed = subprocess.run(
        ["pg_lsclusters", "-h"], capture_output=True, text=True, check=True
    ).stdout.split()
    if len(listed) < 2:
        pytest.skip("no local PostgreSQL cluster")
    return listed[0], listed[1]  # version, name


def _token(role: Role = Role.OPERATIONS) -> str:
    return TokenSigner(SECRET, timedelta(hours=1), None).issue(Actor("ops", role, Source.REST))


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return True
        time.sleep(0.1)
    return False


class Writer(threading.Thread):
    """Opens handoff tickets (each one a change with its outbox event) as fast as answers come."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stopping = threading.Event()
        self.created: list[int] = []
        self.failures: list[str] = []  # clean failures: a JSON error or a refused connection
        self.unclean: list[str] = []

    def run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {_token()}"
        while not self.stopping.is_set():
            body = {"conversation_id": f"fault-{uuid.uuid4().hex}", "channel": "web", "message": "help"}
            try:
                response = session.post(f"{self.url}/api/v1/handoffs", json=body, timeout=10)
            except requests.RequestException as exc:
                self.failures.append(type(exc).__name__)
                time.sleep(0.1)
                continue
            if response.status_code == 201:
                self.created.append(response.json()["id"])
                continue
            # The server's trouble is a 5xx with a JSON error body, never a 4xx or an HTML page.
            clean = response.status_code >= 500 and response.headers.get("Content-Type", "").startswith(
                "application/json"
            )
            (self.failures if clean else self.unclean).append(f"{response.status_code} {response.text[:200]}")
            time.sleep(0.1)


class Subscriber(threading.Thread):
    """A client as the pages are: it reads all along, and when the hub closes it (a lag, a restart)
    reconnects with the last event id it has (``after``), so the replay fills the gap."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stopping = threading.Event()
        self.tickets: list[int] = []
        self.reconnects = 0
        self._last_id = 0

    def run(self) -> None:
        client = None
        while not self.stopping.is_set():
            try:
                if client is None:
                    client = Client(self.url)
                    client.auth(_token(), after=self._last_id)
                frame = client.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:  # closed by the hub, or its replay failed while PostgreSQL was down
                if client is not None:
                    client.close()
                    self.reconnects += 1
                client = None
                time.sleep(0.2)
                continue
            if frame.get("type") == "event":
                self.tickets.append(frame["data"]["ticket_id"])
                self._last_id = frame["id"]
        if client is not None:
            client.close()


def test_postgresql_restarted_during_writes(tmp_path):
    version, cluster = _postgres_cluster()
    with contextlib.contextmanager(postgres_database)() as url:
        database.upgrade(url)
        server = ServerProcess(url, tmp_path, ORDERBOT_JWT_SECRET=SECRET).start()
        subscriber = Subscriber(server.url)
        writer = Writer(server.url)
        try:  # the server goes whatever fails (a failed assertion left one running)
            try:
                subscriber.start()
                writer.start()
                assert _wait_for(lambda: len(writer.created) >= 5, 20)
                subprocess.run(["pg_ctlcluster", version, cluster, "stop", "-m", "fast"], check=True)
                try:
                    time.sleep(2)
                    failed_while_down = len(writer.failures)
                finally:
                    subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=True)
                assert failed_while_down > 0, "nothing failed while PostgreSQL was down?"
                before = len(writer.created)
                assert _wait_for(lambda: len(writer.created) >= before + 5, 30), "the service did not recover"
            finally:
                writer.stopping.set()
                writer.join(timeout=15)

            engine = database.make_engine(url)
            try:
                with engine.connect() as connection:
                    stored = set(connection.execute(select(handoffs.c.id)).scalars())
                    events = connection.execute(
                        select(func.count())
                        .select_from(outbox)
                        .where(outbox.c.event_type == "handoff_requested")
                    ).scalar_one()
            finally:
                engine.dispose()
            assert not writer.unclean, writer.unclean[:3]
            assert set(writer.created) <= stored  # every answered change is stored
            assert events == len(stored)  # each stored change has its event, and no event lacks its change
            arrived = _wait_for(lambda: set(subscriber.tickets) >= stored, 30)
            subscriber.stopping.set()
            subscriber.join(timeout=5)
            received = subscriber.tickets
            assert arrived, (
                f"{len(stored - set(received))} of {len(stored)} events never arrived "
                f"({subscriber.reconnects} reconnections)"
            )
            assert len(received) == len(set(received)), "an event was delivered twice"
        finally:
            subscriber.stopping.set()
            server.stop()


def test_redis_stopped_under_two_hubs(tmp_path):
    _may_control("service")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    with contextlib.contextmanager(postgres_database)() as url:
        database.upgrade(url)
        channel = f"orderbot:test:{uuid.uuid4().hex[:8]}"
        env = {
            "ORDERBOT_JWT_SECRET": SECRET,
            "ORDERBOT_REDIS_URL": REDIS_URL,
            "ORDERBOT_REDIS_CHANNEL": channel,
        }
        writer_side = ServerProcess(url, tmp_path, **env).start()
        reader_side = ServerProcess(url, tmp_path, **env).start()
        client = Client(reader_side.url)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {_token()}"

        def open_ticket() -> int:
            body = {"conversation_id": f"redis-{uuid.uuid4().hex}", "channel": "web", "message": "help"}
            response = session.post(f"{writer_side.url}/api/v1/handoffs", json=body, timeout=10)
            assert response.status_code == 201, response.text
            return response.json()["id"]

        try:
            client.auth(_token(), after=0)
            received: list[int] = []

            def got(ticket: int) -> bool:
                received.extend(e["data"]["ticket_id"] for e in client.events(1, timeout=0.5))
                return ticket in received

            first = open_ticket()
            assert _wait_for(lambda: got(first), 10)  # through Redis, from the other process
            subprocess.run(["service", "redis-server", "stop"], check=True, capture_output=True)
            try:
                during = [open_ticket() for _ in range(3)]  # the API keeps working without Redis
            finally:
                subprocess.run(["service", "redis-server", "start"], check=True, capture_output=True)
            assert _wait_for(lambda: redis.Redis.from_url(REDIS_URL).ping(), 20)
            after = open_ticket()
            # What was written while Redis was away comes from the database when the hub resubscribes.
            assert _wait_for(lambda: got(after) and set(during) <= set(received), 30), (
                f"received {received}, expected {during + [after]}"
            )
            assert len(received) == len(set(received))
        finally:
            client.close()
            writer_side.stop()
            reader_side.stop()
