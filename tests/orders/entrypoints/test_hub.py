"""The notification hub over real WebSocket connections on loopback: scoping, authentication,
replay without gaps, slow clients, bad frames, restarts, and Redis fan-out between two processes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select, update

from orders.adapters.fanout import InProcessFanOut
from orders.adapters.orm import outbox
from orders.domain.access import Actor, Role, Source
from orders.entrypoints.auth import TokenSigner
from orders.entrypoints.http import dependencies
from orders.entrypoints.hub import LAG_SECONDS
from orders.service_layer.dispatcher import OutboxDispatcher
from orders.service_layer.setup import import_from
from tests.orders.conftest import (
    HEADER,
    REDIS_URL,
    SHANGHAI,
    LiveServer,
    order_row,
    redis_client,
    settings_for,
    write_csv,
)
from tests.orders.hub_support import Client, Closed, ServerProcess, add_event, ws_url

HUB_ENV = {
    "ORDERBOT_HUB_AUTH_TIMEOUT_SECONDS": "1",
    "ORDERBOT_HUB_HEARTBEAT_SECONDS": "0.3",
    "ORDERBOT_HUB_BUFFER_EVENTS": "20",
    "ORDERBOT_HUB_SEND_TIMEOUT_SECONDS": "10",
    "ORDERBOT_HUB_MAX_MESSAGE_BYTES": "2048",
    "ORDERBOT_HUB_POLL_SECONDS": "0.2",
    "ORDERBOT_HUB_SOCKET_SEND_BUFFER_BYTES": "16384",
}
SECRET = "hub-test-secret-0123456789-0123456789-abcdef"


class HubServer(LiveServer):
    """The API and the hub in this process (werkzeug, a thread per connection)."""

    def __init__(self, engine, settings) -> None:
        super().__init__(engine, settings)
        self.hub = dependencies.of(self.app).hub
        self.clients: list[Client] = []

    def client(self, role: Role = Role.OPERATIONS, customer_id: str | None = None, after=None) -> Client:
        client = self.connect()
        client.ready = client.auth(self.token(role.value, role, customer_id), after)
        return client

    def connect(self, **options) -> Client:
        client = Client(self.url, **options)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.hub.stop()
        super().close()


@pytest.fixture
def hub_server(engine, database_url, tmp_path):
    server = HubServer(engine, settings_for(database_url, tmp_path, **HUB_ENV))
    yield server
    server.close()


@pytest.fixture
def sqlite_hub(sqlite_engine, tmp_path):
    url = str(sqlite_engine.url)
    server = HubServer(sqlite_engine, settings_for(url, tmp_path, **HUB_ENV))
    yield server
    server.close()


def ids(frames: list[dict]) -> list[int]:
    return [frame["id"] for frame in frames]


# --- scoping -----------------------------------------------------------------------------------------


def test_each_role_receives_exactly_its_events(hub_server, engine):
    alice = hub_server.client(Role.CUSTOMER, "C-A")
    bob = hub_server.client(Role.CUSTOMER, "C-B")
    warehouse = hub_server.client(Role.WAREHOUSE)
    finance = hub_server.client(Role.FINANCE)
    operations = hub_server.client(Role.OPERATIONS)

    for_alice = add_event(engine, Role.CUSTOMER, "C-A", "SO-A")
    for_bob = add_event(engine, Role.CUSTOMER, "C-B", "SO-B")
    for_warehouse = add_event(engine, Role.WAREHOUSE, "C-A", "SO-A")
    for_finance = add_event(engine, Role.FINANCE, "C-B", "SO-B", "invoice_issued")

    event = alice.recv()
    assert event["id"] == for_alice and event["customer_id"] == "C-A"
    assert event["order_id"] == "SO-A" and event["recipient_role"] == "customer"
    assert event["message"] == {"en": "Order SO-A changed.", "zh": "订单 SO-A 已更新。"}
    assert datetime.fromisoformat(event["time"]).tzinfo is not None
    assert ids([bob.recv()]) == [for_bob]
    assert ids([warehouse.recv()]) == [for_warehouse]
    assert ids([finance.recv()]) == [for_finance]
    assert ids(operations.events(4)) == [for_alice, for_bob, for_warehouse, for_finance]
    for client in (alice, bob, warehouse, finance):
        assert client.silent(0.5)


def test_a_customer_never_gets_another_customers_event_whatever_it_sends(hub_server, engine):
    alice = hub_server.client(Role.CUSTOMER, "C-A")
    attempts = [
        {"type": "auth", "token": hub_server.token("bob", Role.CUSTOMER, "C-B"), "after": 0},
        {"type": "auth", "token": hub_server.token("ops", Role.OPERATIONS), "after": 0},
        {"type": "subscribe", "customer_id": "C-B"},
        {"type": "ping", "customer_id": "C-B", "role": "operations"},
        {"type": "event", "id": 999, "customer_id": "C-B", "recipient_role": "customer"},
    ]
    answers = []
    for attempt in attempts:
        alice.send(attempt)
        answers.append(alice.recv())
    assert [a.get("code", a["type"]) for a in answers] == [
        "already_authenticated",
        "already_authenticated",
        "unknown_type",
        "pong",
        "unknown_type",
    ]
    add_event(engine, Role.CUSTOMER, "C-B", "SO-B")
    add_event(engine, Role.OPERATIONS, None, None, "handoff_opened")
    add_event(engine, Role.WAREHOUSE, "C-A", "SO-A")
    mine = add_event(engine, Role.CUSTOMER, "C-A", "SO-A")
    assert ids([alice.recv()]) == [mine]  # the only one it ever sees
    assert alice.silent(0.5)

    # Replaying from the very beginning is scoped the same way.
    again = hub_server.client(Role.CUSTOMER, "C-A", after=0)
    assert ids([again.recv()]) == [mine] and again.silent(0.5)


def test_a_customer_token_without_a_customer_id_is_refused(sqlite_hub):
    signer = dependencies.of(sqlite_hub.app).signer
    claims_without_customer = signer.issue(Actor("nobody", Role.CUSTOMER, Source.REST, None))
    client = sqlite_hub.connect()
    client.send({"type": "auth", "token": claims_without_customer, "after": None})
    assert client.recv()["code"] == "unauthenticated"
    assert client.wait_closed()[0] == 4001


# --- authentication ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_message",
    [
        {"type": "ping"},
        {"type": "auth"},
        {"type": "auth", "token": "not-a-jwt"},
        {"type": "auth", "token": 42},
        "not json at all",
        "[1, 2]",
    ],
)
def test_the_first_message_must_authenticate_or_the_connection_closes_with_4001(sqlite_hub, first_message):
    client = sqlite_hub.connect()
    client.send(first_message)
    assert client.recv()["type"] == "error"
    assert client.wait_closed()[0] == 4001


def test_a_token_signed_elsewhere_or_expired_is_refused(sqlite_hub):
    other = TokenSigner("another-secret-0123456789-0123456789-xyz", timedelta(minutes=5), None)
    own_secret = dependencies.of(sqlite_hub.app).signer.secret
    expired = TokenSigner(own_secret, timedelta(seconds=-10), None)
    for token in (
        other.issue(Actor("ops", Role.OPERATIONS, Source.REST)),
        expired.issue(Actor("x", Role.FINANCE, Source.REST)),
    ):
        client = sqlite_hub.connect()
        client.send({"type": "auth", "token": token, "after": None})
        assert client.recv()["code"] == "unauthenticated"
        assert client.wait_closed()[0] == 4001


def test_a_token_in_the_query_string_is_ignored_and_silence_times_out(sqlite_hub, sqlite_engine):
    client = sqlite_hub.connect(query=f"?token={sqlite_hub.token()}")
    add_event(sqlite_engine, Role.OPERATIONS)
    started = time.monotonic()
    error = client.recv(timeout=5)
    assert error["code"] == "auth_timeout"
    assert client.wait_closed()[0] == 4001
    assert 0.8 < time.monotonic() - started < 4


def test_after_must_be_an_event_id_or_null(sqlite_hub):
    client = sqlite_hub.connect()
    client.send({"type": "auth", "token": sqlite_hub.token(), "after": "yesterday"})
    assert client.recv()["code"] == "invalid_after"
    assert client.wait_closed()[0] == 4001


def test_a_client_with_permessage_deflate_gets_its_events_too(sqlite_hub, sqlite_engine):
    from websockets.sync.client import connect

    with connect(ws_url(sqlite_hub.url)) as ws:  # offers permessage-deflate, as browsers do
        assert ws.protocol.extensions  # so the hub cannot send it the shared, uncompressed frames
        ws.send(json.dumps({"type": "auth", "token": sqlite_hub.token(), "after": None}))
        assert json.loads(ws.recv(5))["type"] == "ready"
        sent = [add_event(sqlite_engine, Role.FINANCE) for _ in range(3)]
        assert [json.loads(ws.recv(5))["id"] for _ in sent] == sent


# --- bad frames, heartbeats ----------------------------------------------------------------------------


def test_malformed_frames_get_an_error_and_the_connection_stays(sqlite_hub, sqlite_engine):
    client = sqlite_hub.client()
    for bad, code in [
        ("{not json", "malformed"),
        ("[]", "malformed"),
        ('{"no": "type"}', "malformed"),
        ('{"type": 7}', "malformed"),
        ('{"type": "dance"}', "unknown_type"),
        ("[" * 1000, "malformed"),  # nesting is refused before the parser recurses
        ('{"type": "ping", "x": "\\u0000"}', "malformed"),  # NUL, as a JSON escape
        ('{"type": "ping", "x": "\\ud800"}', "malformed"),  # a lone surrogate
    ]:
        client.send(bad)
        assert client.recv()["code"] == code
    client.ws.send_binary(b"\x00\x01")
    assert client.recv()["code"] == "malformed"
    client.send({"type": "ping"})
    assert client.recv() == {"type": "pong"}
    event_id = add_event(sqlite_engine, Role.FINANCE)
    assert ids([client.recv()]) == [event_id]


def test_an_oversized_message_closes_with_1009(sqlite_hub):
    client = sqlite_hub.client()
    client.send({"type": "ping", "padding": "x" * 5000})
    assert client.wait_closed()[0] == 1009
    healthy = sqlite_hub.client()  # the hub itself is fine
    healthy.send({"type": "ping"})
    assert healthy.recv() == {"type": "pong"}


def test_an_oversized_first_message_closes_with_1009(sqlite_hub):
    client = sqlite_hub.connect()
    client.send({"type": "auth", "token": "x" * 100_000})
    assert client.wait_closed()[0] == 1009


def test_the_server_sends_heartbeats(sqlite_hub):
    client = sqlite_hub.client()
    client.ws.settimeout(3)
    pings = 0
    deadline = time.monotonic() + 2
    while pings < 2 and time.monotonic() < deadline:
        if client.ws.recv() == '{"type": "ping"}':
            pings += 1
    assert pings == 2


# --- nothing lost: replay, then live -------------------------------------------------------------------


def test_a_reconnecting_client_gets_what_it_missed_then_live_events(hub_server, engine):
    first = hub_server.client(Role.CUSTOMER, "C-A", after=0)
    early = [add_event(engine, Role.CUSTOMER, "C-A") for _ in range(3)]
    seen = ids(first.events(3))
    assert seen == early
    first.close()

    missed = [add_event(engine, Role.CUSTOMER, "C-A") for _ in range(4)]
    add_event(engine, Role.CUSTOMER, "C-B")
    again = hub_server.client(Role.CUSTOMER, "C-A", after=seen[-1])
    assert again.ready == {"type": "ready", "role": "customer", "after": seen[-1]}
    assert ids(again.events(4)) == missed
    live = add_event(engine, Role.CUSTOMER, "C-A")
    assert ids([again.recv()]) == [live]
    assert again.silent(0.3)


def wait_dispatched(hub, event_id: int) -> None:
    hub.start()
    deadline = time.monotonic() + 5
    while hub.horizon < event_id and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.horizon >= event_id


def test_after_null_means_live_events_only_and_ready_tells_where_to_resume(hub_server, engine):
    old = add_event(engine, Role.WAREHOUSE)
    wait_dispatched(hub_server.hub, old)
    client = hub_server.client(Role.WAREHOUSE, after=None)
    assert client.ready["after"] == old
    assert client.silent(0.3)
    new = add_event(engine, Role.WAREHOUSE)
    assert ids([client.recv()]) == [new]


def test_replay_and_live_events_meet_without_gap_duplicate_or_reordering(hub_server, engine):
    """Events keep coming while clients reconnect from older and older ids."""
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        while not stop.is_set():
            written.append(add_event(engine, Role.OPERATIONS, None, None, "tick"))
            time.sleep(0.005)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.3)
        for after in (0, 5, 15):
            client = hub_server.client(Role.OPERATIONS, after=after)
            time.sleep(0.2)
            got = []
            while not got or got[-1] < written[-1] - 3:
                got.append(client.recv()["id"])
            expected = list(range(after + 1, got[-1] + 1))
            assert got == expected  # strictly increasing, contiguous, each once
            client.close()
    finally:
        stop.set()
        writer.join()


def test_replay_respects_the_retention(hub_server, engine):
    ancient = add_event(engine, Role.FINANCE)
    recent = add_event(engine, Role.FINANCE)
    wait_dispatched(hub_server.hub, recent)  # an old row never dispatched would still go out live
    with engine.begin() as connection:
        connection.execute(
            update(outbox)
            .where(outbox.c.id == ancient)
            .values(created_at=datetime.now(timezone.utc) - timedelta(days=30))
        )
    client = hub_server.client(Role.FINANCE, after=0)
    assert ids([client.recv()]) == [recent]
    assert client.silent(0.3)


# --- slow clients ------------------------------------------------------------------------------------


def test_a_slow_client_is_closed_with_4008_while_a_fast_one_keeps_receiving(sqlite_hub, sqlite_engine):
    slow = sqlite_hub.connect(rcvbuf=4096)
    slow.auth(sqlite_hub.token())
    fast = sqlite_hub.client()
    received: list[int] = []
    events = 3000

    def read_fast() -> None:  # the only reader of ``fast`` until it has everything
        while len(received) < events:
            try:
                received.append(fast.recv(timeout=10)["id"])
            except (TimeoutError, Closed):
                return

    reader = threading.Thread(target=read_fast)
    reader.start()
    with sqlite_engine.begin() as connection:  # one transaction: the dispatcher sends them in a burst
        now = datetime.now(timezone.utc)
        first = (connection.execute(select(func.max(outbox.c.id))).scalar() or 0) + 1
        connection.execute(
            outbox.insert(),
            [
                {
                    "created_at": now,
                    "recipient_role": "warehouse",
                    "event_type": "tick",
                    "message_en": "x" * 200,
                    "message_zh": "仓" * 100,
                    "data": {"n": n},
                }
                for n in range(events)
            ],
        )
    deadline = time.monotonic() + 30
    while len(received) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received == list(range(first, first + events))  # the fast client missed nothing

    # Slow means not reading for a while: a client that falls behind only for a moment catches up.
    time.sleep(LAG_SECONDS * 1.5)
    code, reason = slow.wait_closed(timeout=20)  # reads what was sent before the close
    assert code == 4008 and "too slow" in reason
    reader.join()
    fast.close()


# --- the dispatcher ----------------------------------------------------------------------------------


class RecordingFanOut(InProcessFanOut):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[int] = []
        self.lock = threading.Lock()

    def publish(self, event_id: int, frame: str) -> None:
        with self.lock:
            self.published.append(event_id)


def test_only_one_of_several_dispatchers_claims_each_row(engine):
    fanouts = [RecordingFanOut() for _ in range(3)]
    dispatchers = [OutboxDispatcher(engine, f, poll_seconds=0.01, batch=25) for f in fanouts]
    for d in dispatchers:
        d.start()
    try:
        written = [add_event(engine, Role.WAREHOUSE) for _ in range(150)]
        deadline = time.monotonic() + 20
        while sum(len(f.published) for f in fanouts) < len(written) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        for d in dispatchers:
            d.stop()
    everything = sorted(i for f in fanouts for i in f.published)
    assert everything == written  # each row exactly once
    for f in fanouts:
        assert f.published == sorted(f.published)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).where(outbox.c.dispatched_at.is_(None))).scalar() == 0


def test_rows_behind_a_hole_wait_for_it_until_the_grace_runs_out():
    now = [100.0]
    dispatcher = OutboxDispatcher(None, InProcessFanOut(), hole_grace_seconds=3, clock=lambda: now[0])
    assert dispatcher._in_order([5, 6], last=4) == [5, 6]
    assert dispatcher._in_order([7, 8], last=5) == []  # 6 may still commit
    now[0] += 1
    assert dispatcher._in_order([6, 7, 8], last=5) == [6, 7, 8]  # it did
    assert dispatcher._in_order([11], last=8) == []
    now[0] += 3.5
    assert dispatcher._in_order([11, 12], last=8) == [11, 12]  # 9 and 10 were rolled back


# --- real server processes -----------------------------------------------------------------------------


def _signer() -> TokenSigner:
    return TokenSigner(SECRET, timedelta(minutes=30), None)


def _token(role: Role, customer_id: str | None = None) -> str:
    return _signer().issue(Actor(role.value, role, Source.REST, customer_id))


def _load_order(engine, tmp_path, order_id: str = "SO-7", customer_id: str = "C-100") -> None:
    cells = order_row(order_id) + ["pending_confirmation", "2026-11-30"]
    cells[1] = customer_id
    path = write_csv(tmp_path / f"{uuid.uuid4().hex}.csv", HEADER + ["status", "due_date"], [cells])
    import_from(engine, path, SHANGHAI)


def _process(database_url: str, tmp_path, **env) -> ServerProcess:
    return ServerProcess(database_url, tmp_path, ORDERBOT_JWT_SECRET=SECRET, **{**HUB_ENV, **env})


def _confirm(server: ServerProcess, order_id: str, customer_id: str) -> None:
    response = requests.post(
        f"{server.url}/api/v1/orders/{order_id}/transitions",
        json={"action": "confirm"},
        headers={"Authorization": f"Bearer {_token(Role.CUSTOMER, customer_id)}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("worker", ["gevent", "gthread"])
def test_a_rest_change_reaches_the_client_well_under_a_second(engine, database_url, tmp_path, worker):
    _load_order(engine, tmp_path)
    server = _process(database_url, tmp_path, ORDERS_WORKER=worker, ORDERBOT_HUB_POLL_SECONDS="5").start()
    try:
        customer = Client(server.url)
        customer.auth(_token(Role.CUSTOMER, "C-100"))
        started = time.monotonic()
        _confirm(server, "SO-7", "C-100")
        event = customer.recv(timeout=5)
        elapsed = time.monotonic() - started
        assert event["order_id"] == "SO-7" and event["event_type"] == "status_changed"
        assert elapsed < 0.5  # the commit wakes the dispatcher; the 5 s poll never comes into it
        customer.close()
    finally:
        server.stop()


def test_a_hub_restart_loses_nothing(engine, database_url, tmp_path):
    server = _process(database_url, tmp_path).start()
    try:
        client = Client(server.url)
        client.auth(_token(Role.WAREHOUSE))
        first = add_event(engine, Role.WAREHOUSE)
        assert ids([client.recv()]) == [first]
    finally:
        server.stop()
    with pytest.raises(Closed):
        client.recv(timeout=5)

    while_down = [add_event(engine, Role.WAREHOUSE) for _ in range(3)]
    with engine.connect() as connection:
        waiting = connection.execute(select(func.count()).where(outbox.c.dispatched_at.is_(None))).scalar()
    assert waiting == 3  # nobody dispatched them

    restarted = _process(database_url, tmp_path).start()
    try:
        deadline = time.monotonic() + 5
        while waiting and time.monotonic() < deadline:  # picked up at start, with no client connected
            time.sleep(0.05)
            with engine.connect() as connection:
                waiting = connection.execute(
                    select(func.count()).where(outbox.c.dispatched_at.is_(None))
                ).scalar()
        assert waiting == 0
        again = Client(restarted.url)
        again.auth(_token(Role.WAREHOUSE), after=first)
        assert ids(again.events(3)) == while_down
        live = add_event(engine, Role.WAREHOUSE)
        assert ids([again.recv()]) == [live]
        again.close()
    finally:
        restarted.stop()


@pytest.fixture
def redis_channel():
    redis_client()  # skips, saying why, without a Redis
    return REDIS_URL


def test_events_made_in_one_process_reach_clients_of_another_through_redis(
    engine, database_url, tmp_path, redis_channel
):
    _load_order(engine, tmp_path, "SO-8", "C-300")
    env = {
        "ORDERBOT_REDIS_URL": redis_channel,
        "ORDERBOT_REDIS_CHANNEL": f"orderbot-test:{uuid.uuid4().hex}",  # not another run's events
        "ORDERBOT_HUB_POLL_SECONDS": "5",
    }
    one = _process(database_url, tmp_path, **env).start()
    two = _process(database_url, tmp_path, **env).start()
    try:
        customer_on_two = Client(two.url)
        customer_on_two.auth(_token(Role.CUSTOMER, "C-300"))
        other_customer_on_one = Client(one.url)
        other_customer_on_one.auth(_token(Role.CUSTOMER, "C-999"))
        warehouse_on_one = Client(one.url)
        warehouse_on_one.auth(_token(Role.WAREHOUSE))

        started = time.monotonic()
        _confirm(one, "SO-8", "C-300")  # the change and its outbox rows are made in process one
        event = customer_on_two.recv(timeout=5)
        assert time.monotonic() - started < 0.5  # pushed through Redis, not found by a poll
        assert (event["order_id"], event["customer_id"]) == ("SO-8", "C-300")
        assert warehouse_on_one.recv()["recipient_role"] == "warehouse"
        assert customer_on_two.silent(0.5) and other_customer_on_one.silent(0.1)
        for client in (customer_on_two, other_customer_on_one, warehouse_on_one):
            client.close()
    finally:
        one.stop()
        two.stop()


def test_a_connection_lives_no_longer_than_its_token(hub_server):
    from datetime import timedelta as _timedelta

    signer = dependencies.of(hub_server.app).signer
    short = TokenSigner(signer.secret, _timedelta(seconds=2), None)
    client = hub_server.connect()
    token = short.issue(Actor("ops", Role.OPERATIONS, Source.REST))
    expires_at = short.expires_at(token)  # whole seconds, so 1 to 2 s from now
    client.auth(token)
    code, reason = client.wait_closed(timeout=10)  # heartbeats keep it busy meanwhile
    closed_at = time.time()
    assert code == 4001 and "expired" in reason
    # not before the token expired (the clocks are the same machine's), and soon after it
    assert expires_at - 0.2 <= closed_at <= expires_at + 4.0
