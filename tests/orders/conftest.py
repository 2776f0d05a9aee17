"""Databases for the order service tests: a SQLite file, and the real PostgreSQL when it is reachable."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from orders.adapters import database
from orders.config import Settings
from orders.domain.access import Actor, Role, Source
from orders.entrypoints.flask_app import create_app
from orders.entrypoints.http import dependencies

SHANGHAI = ZoneInfo("Asia/Shanghai")
SERVICE_TOKEN = "action-server-test-credential-0123456789"
POSTGRES_URL = os.environ.get(
    "ORDERBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


REDIS_URL = os.environ.get("ORDERBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_client():
    """A client of the real Redis at REDIS_URL; the test is skipped, saying why, when it is unreachable."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return client


def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as connection:
            name = f"orderbot_test_{uuid.uuid4().hex[:12]}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server, missing rights: say why and skip
        admin.dispose()
        pytest.skip(
            f"PostgreSQL at {POSTGRES_URL} is not usable: {type(exc).__name__}: {exc}".splitlines()[0]
        )
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'orders.db'}"
    else:
        yield from postgres_database()


@pytest.fixture
def engine(database_url: str):
    database.upgrade(database_url)
    engine = database.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    database.upgrade(url)
    engine = database.make_engine(url)
    yield engine
    engine.dispose()


def settings_for(database_url: str, var_dir: Path, **overrides) -> Settings:
    env = {
        "ORDERBOT_DATABASE_URL": database_url,
        "ORDERBOT_VAR_DIR": str(var_dir),
        "ORDERBOT_SAMPLE_DATA": "",
        "ORDERBOT_SOURCES": str(var_dir / "sources.yml"),
        "ORDERBOT_SERVICE_TOKEN": SERVICE_TOKEN,
        **overrides,
    }
    return Settings.from_env(env)


class LiveServer:
    """The API served by a real HTTP server on a loopback port, in a thread."""

    def __init__(self, engine, settings: Settings) -> None:
        self.app = create_app(engine, settings)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, name: str = "ops", role: Role = Role.OPERATIONS, customer_id: str | None = None) -> str:
        return dependencies.of(self.app).signer.issue(Actor(name, role, Source.REST, customer_id))

    def as_(self, role: Role | str, customer_id: str | None = None) -> requests.Session:
        """A client session signed in with ``role`` (a customer needs ``customer_id``)."""
        role = Role(role)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token(role.value, role, customer_id)}"
        return session

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def live_server(engine, database_url, tmp_path):
    server = LiveServer(engine, settings_for(database_url, tmp_path))
    yield server
    server.close()


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


HEADER = ["order_id", "customer_id", "customer_name", "email", "phone", "amount", "created_at", "updated_at"]


def order_row(
    order_id: str = "SO-2001",
    amount: str = "100.00",
    updated: str = "2026-11-20 10:00:00",
    name: str = "张三",
) -> list[str]:
    return [
        order_id,
        "C-100",
        name,
        "c100@example.com",
        "13800000000",
        amount,
        "2026-11-20 09:00:00",
        updated,
    ]
