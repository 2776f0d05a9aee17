"""Sign-in throttling over HTTP: N failures then 429 with a growing Retry-After, the right credentials
from another address still let in, chat users of the action server counted apart, and two order-service
servers sharing their tallies through the real Redis."""

from __future__ import annotations

import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

from orders.adapters.signin_tallies import InProcessTallies
from orders.bootstrap import bootstrap
from orders.domain.access import Role
from orders.entrypoints.flask_app import create_app
from orders.service_layer import users
from orders.service_layer.setup import import_from
from orders.service_layer.signin_throttle import SigninThrottle, ThrottleLimits
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import (
    HEADER,
    REDIS_URL,
    SERVICE_TOKEN,
    SHANGHAI,
    LiveServer,
    order_row,
    redis_client,
    settings_for,
    write_csv,
)

PASSWORD = "correct horse battery"
ATTACKER = "198.51.100.7"
CUSTOMER = "203.0.113.9"
STAFF = "/api/v1/auth/token"
CUSTOMERS = "/api/v1/auth/customer"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def load_sample(engine, tmp_path) -> None:
    """Order SO-1 of customer C-100 (c100@example.com, 13800000000) and the warehouse user wang."""
    csv = write_csv(tmp_path / "orders.csv", HEADER, [order_row("SO-1")])
    import_from(engine, csv, SHANGHAI)
    users.add_user(SqlAlchemyUnitOfWork(engine), "wang", PASSWORD, Role.WAREHOUSE)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(sqlite_engine, tmp_path, clock):
    load_sample(sqlite_engine, tmp_path)
    settings = settings_for(str(sqlite_engine.url), tmp_path)
    throttle = SigninThrottle(
        InProcessTallies(clock), ThrottleLimits(max_failures=3, max_wait_seconds=600), clock
    )
    return create_app(
        sqlite_engine, dependencies=bootstrap(settings, sqlite_engine, signin_throttle=throttle)
    )


def sign_in(app, path: str, body: dict, address: str, headers: dict | None = None):
    client = app.test_client()
    return client.post(path, json=body, headers=headers or {}, environ_base={"REMOTE_ADDR": address})


def wrong_staff(app, address: str = ATTACKER):
    return sign_in(app, STAFF, {"username": "wang", "password": "guess"}, address)


def right_staff(app, address: str):
    return sign_in(app, STAFF, {"username": "wang", "password": PASSWORD}, address)


def test_staff_failures_then_429_with_a_growing_retry_after(app, clock):
    assert [wrong_staff(app).status_code for _ in range(3)] == [401, 401, 401]
    waits = []
    for _ in range(4):
        refused = wrong_staff(app)
        assert refused.status_code == 429
        assert refused.json["error"]["code"] == "too_many_attempts"
        assert refused.json["error"]["retry_after_s"] == int(refused.headers["Retry-After"])
        waits.append(int(refused.headers["Retry-After"]))
        clock.now += waits[-1]
        assert wrong_staff(app).status_code == 401  # the wait is over: one more try, wrong again
    assert waits == [1, 2, 4, 8]
    refused = wrong_staff(app)
    assert refused.json["error"]["message"] == "Too many failed sign-ins. Try again in 16 seconds."
    for _ in range(6):  # 16, 32 ... 512 s
        clock.now += int(wrong_staff(app).headers["Retry-After"])
        assert wrong_staff(app).status_code == 401
    assert wrong_staff(app).headers["Retry-After"] == "600"  # 1024 s, capped


def test_the_right_password_from_the_attackers_address_is_refused_while_locked_but_not_elsewhere(app):
    for _ in range(3):
        wrong_staff(app)
    locked = right_staff(app, ATTACKER)
    assert locked.status_code == 429  # a right guess while locked tells nothing
    assert "access_token" not in locked.json
    assert right_staff(app, CUSTOMER).status_code == 200  # the real user, from another address


def test_customer_failures_then_429_and_the_right_proof_from_another_address_still_works(app, clock):
    guess = {"order_id": "SO-1", "phone": "13800000001"}
    assert [sign_in(app, CUSTOMERS, guess, ATTACKER).status_code for _ in range(3)] == [401] * 3
    refused = sign_in(app, CUSTOMERS, {"order_id": "so-1 ", "phone": "13800000002"}, ATTACKER)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"  # the same order
    right = {"order_id": "SO-1", "email": "c100@example.com"}
    assert sign_in(app, CUSTOMERS, right, ATTACKER).status_code == 429
    assert sign_in(app, CUSTOMERS, right, CUSTOMER).status_code == 200
    clock.now += 1
    assert sign_in(app, CUSTOMERS, guess, ATTACKER).status_code == 401
    assert sign_in(app, CUSTOMERS, guess, ATTACKER).headers["Retry-After"] == "2"


def test_a_chat_user_header_is_believed_on_the_action_servers_calls_only(app):
    guess = {"order_id": "SO-1", "email": "guess@example.com"}
    for n in range(3):  # an attacker naming a new "chat user" each time is still one address
        sign_in(app, CUSTOMERS, guess, ATTACKER, {"X-Orderbot-Chat-User": f"made-up-{n}"})
    assert sign_in(app, CUSTOMERS, guess, ATTACKER, {"X-Orderbot-Chat-User": "other"}).status_code == 429


def test_chat_users_of_the_action_server_are_throttled_one_by_one(app):
    """Every chat user comes from the action server's address: one guesser must not lock them all."""
    service = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    action_server = "10.0.0.5"
    guess = {"order_id": "SO-1", "email": "guess@example.com"}
    for _ in range(3):
        answer = sign_in(app, CUSTOMERS, guess, action_server, {**service, "X-Orderbot-Chat-User": "guesser"})
        assert answer.status_code == 401
    guesser = sign_in(app, CUSTOMERS, guess, action_server, {**service, "X-Orderbot-Chat-User": "guesser"})
    assert guesser.status_code == 429
    right = {"order_id": "SO-1", "email": "c100@example.com"}
    customer = sign_in(app, CUSTOMERS, right, action_server, {**service, "X-Orderbot-Chat-User": "li-na"})
    assert customer.status_code == 200
    bad = sign_in(app, CUSTOMERS, right, action_server, {**service, "X-Orderbot-Chat-User": "x\u0000"})
    assert bad.status_code == 400


def test_throttled_sign_ins_are_counted_and_documented(app):
    for _ in range(4):
        wrong_staff(app)
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith('orderbot_signin_throttled_total{kind="staff"}')
    ]
    assert counted and float(counted[0].split()[-1]) >= 1
    paths = app.test_client().get("/api/v1/openapi.json").json["paths"]
    for path in (STAFF, CUSTOMERS):
        assert "429" in paths[path]["post"]["responses"]


class FromAddress(HTTPAdapter):
    """Connections from a loopback address of our choosing (127.0.0.2): another client machine."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


@pytest.fixture
def redis_prefix():
    client = redis_client()
    prefix = f"orderbot-test:signin:{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_two_order_services_share_the_failures_through_redis(engine, database_url, tmp_path, redis_prefix):
    load_sample(engine, tmp_path)
    env = {
        "ORDERBOT_REDIS_URL": REDIS_URL,
        "ORDERBOT_REDIS_CHANNEL": f"orderbot-test:{uuid.uuid4().hex}",
        "ORDERBOT_SIGNIN_REDIS_PREFIX": redis_prefix,
        "ORDERBOT_SIGNIN_MAX_FAILURES": "4",
        "ORDERBOT_SIGNIN_FIRST_WAIT_SECONDS": "60",  # no lock runs out during the test
    }
    one = LiveServer(engine, settings_for(database_url, tmp_path, **env))
    two = LiveServer(engine, settings_for(database_url, tmp_path, **env))
    attacker, customer = session_from("127.0.0.1"), session_from("127.0.0.2")
    try:
        guess = {"username": "wang", "password": "guess"}
        answers = [attacker.post(f"{server.url}{STAFF}", json=guess, timeout=5) for server in (one, two) * 2]
        assert [answer.status_code for answer in answers] == [401] * 4
        for server in (one, two):
            refused = attacker.post(f"{server.url}{STAFF}", json=guess, timeout=5)
            assert refused.status_code == 429 and 59 <= int(refused.headers["Retry-After"]) <= 60
        right = {"username": "wang", "password": PASSWORD}
        assert attacker.post(f"{two.url}{STAFF}", json=right, timeout=5).status_code == 429
        assert customer.post(f"{two.url}{STAFF}", json=right, timeout=5).status_code == 200
        assert customer.post(f"{one.url}{STAFF}", json=right, timeout=5).status_code == 200
    finally:
        one.close()
        two.close()
