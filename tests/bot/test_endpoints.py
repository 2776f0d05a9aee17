"""endpoints.yml's stores and event broker, chosen from the environment (bot/endpoints.py).

The selection is checked as data first (no server needed), then through Rasa's own factories as Rasa
calls them, then against the real PostgreSQL, Redis and RabbitMQ of this machine (each skipped with the
reason when it is unreachable).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.endpoint_settings import (
    describe_tracker_store,
    event_broker_settings,
    lock_store_settings,
    redact,
    tracker_store_settings,
)
from bot.endpoints import EnvEventBroker
from bot.event_broker import ThreadedPikaEventBroker

ROOT = Path(__file__).resolve().parents[2]
SERVER_VARIABLES = [
    f"RASA_{part}_{name}"
    for part, names in {
        "TRACKER": ("URL", "HOST", "PORT", "DATABASE", "USER", "PASSWORD", "DIALECT", "DB"),
        "LOCK": ("URL", "HOST", "PORT", "DB", "USER", "PASSWORD", "KEY_PREFIX"),
        "BROKER": ("URL", "HOST", "PORT", "USER", "PASSWORD", "QUEUE", "EXCHANGE"),
    }.items()
    for name in names
]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No store variable from the calling shell; the SQLite fallback inside tmp_path."""
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "var" / "rasa_tracker.db"))
    return monkeypatch


# --- the selection as data ----------------------------------------------------------------------------


def test_without_variables_the_tracker_store_is_the_sqlite_file_of_make_run():
    assert tracker_store_settings({}) == {"dialect": "sqlite", "db": "var/rasa_tracker.db"}
    assert tracker_store_settings({"RASA_TRACKER_DB": "/tmp/t.db"}) == {
        "dialect": "sqlite",
        "db": "/tmp/t.db",
    }


def test_a_tracker_url_is_handed_to_rasa_whole():
    url = "postgresql://rasa:s3cret@db.example:5433/rasa"
    assert tracker_store_settings({"RASA_TRACKER_URL": url, "RASA_TRACKER_DB": "x.db"}) == {"host": url}
    heroku = tracker_store_settings({"RASA_TRACKER_URL": "postgres://u@h/d"})
    assert heroku == {"host": "postgresql://u@h/d"}
    assert describe_tracker_store({"host": url}) == "postgresql://rasa:***@db.example:5433/rasa"


def test_the_compose_files_tracker_variables_name_a_postgresql_server():
    env = {
        "RASA_TRACKER_HOST": "postgres",
        "RASA_TRACKER_PORT": "5432",
        "RASA_TRACKER_DATABASE": "rasa",
        "RASA_TRACKER_USER": "rasa",
        "RASA_TRACKER_PASSWORD": "pw",
    }
    assert tracker_store_settings(env) == {
        "dialect": "postgresql",
        "host": "postgres",
        "port": 5432,
        "db": "rasa",
        "username": "rasa",
        "password": "pw",
    }
    defaults = tracker_store_settings({"RASA_TRACKER_HOST": "db"})
    assert (defaults["port"], defaults["db"], defaults["username"]) == (5432, "rasa", None)
    # The URL wins over the parts; an empty variable (Compose's ${VAR:-}) counts as unset.
    assert tracker_store_settings({"RASA_TRACKER_URL": "postgresql://a/b", **env}) == {
        "host": "postgresql://a/b"
    }
    assert tracker_store_settings({"RASA_TRACKER_URL": "", "RASA_TRACKER_HOST": ""})["dialect"] == "sqlite"
    with pytest.raises(ValueError, match="RASA_TRACKER_PORT"):
        tracker_store_settings({"RASA_TRACKER_HOST": "db", "RASA_TRACKER_PORT": "fivefour"})


def test_keys_in_the_file_are_defaults_and_others_reach_rasa():
    options = {"db": "from_file", "login_db": "postgres", "url": "ignored"}
    settings = tracker_store_settings({"RASA_TRACKER_HOST": "db"}, options)
    assert settings["db"] == "from_file" and settings["login_db"] == "postgres" and "url" not in settings
    assert (
        tracker_store_settings({"RASA_TRACKER_HOST": "db", "RASA_TRACKER_DATABASE": "env"}, options)["db"]
        == "env"
    )
    # The SQLite fallback takes no server options.
    assert tracker_store_settings({}, options) == {"dialect": "sqlite", "db": "from_file"}


def test_the_lock_store_is_in_memory_unless_a_redis_is_named():
    assert lock_store_settings({}) is None
    assert (
        lock_store_settings({"RASA_LOCK_URL": "", "RASA_LOCK_HOST": ""}, {"key_prefix": "orderbot"}) is None
    )


def test_a_redis_url_for_the_lock_store():
    settings = lock_store_settings(
        {"RASA_LOCK_URL": "redis://:p%40ss@cache:6380/2"}, {"key_prefix": "orderbot"}
    )
    assert settings == {
        "host": "cache",
        "port": 6380,
        "db": 2,
        "username": None,
        "password": "p@ss",
        "key_prefix": "orderbot",
    }
    plain = lock_store_settings({"RASA_LOCK_URL": "rediss://user:pw@cache"})
    assert (plain["port"], plain["db"], plain["username"], plain["use_ssl"]) == (6379, 1, "user", True)
    with pytest.raises(ValueError, match="RASA_LOCK_URL"):
        lock_store_settings({"RASA_LOCK_URL": "http://cache"})


def test_the_compose_files_lock_variables_and_the_key_prefix():
    env = {
        "RASA_LOCK_HOST": "redis",
        "RASA_LOCK_PORT": "6379",
        "RASA_LOCK_DB": "1",
        "RASA_LOCK_PASSWORD": "pw",
    }
    settings = lock_store_settings(env, {"key_prefix": "orderbot"})
    assert settings == {
        "host": "redis",
        "port": 6379,
        "db": 1,
        "username": None,
        "password": "pw",
        "key_prefix": "orderbot",
    }
    assert lock_store_settings({**env, "RASA_LOCK_KEY_PREFIX": "e2e42"})["key_prefix"] == "e2e42"
    with pytest.raises(ValueError, match="alphanumeric"):
        lock_store_settings({**env, "RASA_LOCK_KEY_PREFIX": "not-alnum"})


def test_no_event_broker_unless_a_rabbitmq_is_named():
    assert event_broker_settings({}) is None
    assert event_broker_settings({"RASA_BROKER_URL": "", "RASA_BROKER_QUEUE": "q"}) is None


def test_a_broker_url_on_the_default_virtual_host_reaches_rasa_as_parts():
    settings = event_broker_settings({"RASA_BROKER_URL": "amqp://orderbot:p%40ss@mq:5673/"})
    assert settings == {
        "url": "mq",  # so that Rasa's debug log of the "host" shows no password
        "username": "orderbot",
        "password": "p@ss",
        "port": 5673,
        "queues": ["rasa_events"],
        "exchange_name": "rasa-exchange",
    }
    assert event_broker_settings({"RASA_BROKER_URL": "amqp://mq"})["username"] == "guest"


def test_a_broker_url_with_a_virtual_host_is_handed_to_rasa_whole():
    settings = event_broker_settings(
        {"RASA_BROKER_URL": "amqp://u:pw@mq/orderbot", "RASA_BROKER_QUEUE": "ev"}
    )
    assert (settings["url"], settings["username"], settings["password"]) == (
        "amqp://u:pw@mq/orderbot",
        "u",
        "pw",
    )
    assert settings["queues"] == ["ev"]
    with pytest.raises(ValueError, match="RASA_BROKER_URL") as problem:
        event_broker_settings({"RASA_BROKER_URL": "mq://u:secret@mq"})
    assert "secret" not in str(problem.value)


def test_the_compose_files_broker_variables():
    env = {
        "RASA_BROKER_HOST": "rabbitmq",
        "RASA_BROKER_USER": "orderbot",
        "RASA_BROKER_PASSWORD": "pw",
        "RASA_BROKER_QUEUE": "rasa_events",
    }
    assert event_broker_settings(env, {"connection_attempts": 3}) == {
        "url": "rabbitmq",
        "username": "orderbot",
        "password": "pw",
        "port": 5672,
        "queues": ["rasa_events"],
        "exchange_name": "rasa-exchange",
        "connection_attempts": 3,
    }
    assert event_broker_settings({**env, "RASA_BROKER_EXCHANGE": "mine"})["exchange_name"] == "mine"


def test_redact_hides_only_the_password():
    assert redact("amqp://u:secret@h:1/") == "amqp://u:***@h:1/"
    assert redact("redis://h:6379/0") == "redis://h:6379/0"


# --- through Rasa's own factories ---------------------------------------------------------------------


def rasas_endpoints() -> AvailableEndpoints:
    return AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))


def test_endpoints_yml_needs_only_the_action_endpoint_from_the_environment(clean_env):
    clean_env.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    endpoints = rasas_endpoints()
    assert endpoints.action.url == "http://127.0.0.1:5055/webhook"
    assert endpoints.tracker_store.type == "bot.endpoints.EnvTrackerStore"
    assert endpoints.lock_store.type == "bot.endpoints.EnvLockStore"
    assert endpoints.event_broker.type == "bot.endpoints.EnvEventBroker"


def test_without_variables_rasa_gets_the_embedded_stores(clean_env, tmp_path):
    clean_env.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    endpoints = rasas_endpoints()
    store = TrackerStore.create(endpoints.tracker_store)
    assert type(store) is SQLTrackerStore and store.engine.url.drivername == "sqlite"
    assert Path(store.engine.url.database) == tmp_path / "var" / "rasa_tracker.db"  # its folder is created
    assert type(LockStore.create(endpoints.lock_store)) is InMemoryLockStore
    assert asyncio.run(EventBroker.create(endpoints.event_broker)) is None


def test_with_variables_rasa_gets_redis_locks_and_a_rabbitmq_broker(clean_env, monkeypatch):
    clean_env.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    clean_env.setenv("RASA_LOCK_HOST", "127.0.0.1")
    clean_env.setenv("RASA_LOCK_DB", "3")
    clean_env.setenv("RASA_BROKER_URL", "amqp://u:pw@127.0.0.1:5672/")
    clean_env.setenv("RASA_BROKER_QUEUE", "q1")
    connected = []

    async def no_network(self) -> None:
        connected.append(self)

    monkeypatch.setattr(PikaEventBroker, "connect", no_network)
    endpoints = rasas_endpoints()
    locks = LockStore.create(endpoints.lock_store)  # RedisLockStore connects lazily
    assert type(locks) is RedisLockStore and locks.key_prefix == "orderbot:lock:"
    assert locks.red.connection_pool.connection_kwargs["db"] == 3
    threaded = asyncio.run(EventBroker.create(endpoints.event_broker))
    try:
        broker = threaded.broker  # Rasa's own, on a loop of its own (tests/bot/test_event_broker.py)
        assert type(threaded) is ThreadedPikaEventBroker and type(broker) is PikaEventBroker
        assert connected == [broker]
        assert (broker.host, broker.port, broker.username, broker.password) == ("127.0.0.1", 5672, "u", "pw")
        assert broker.queues == ["q1"] and broker.exchange_name == "rasa-exchange"
        assert EnvEventBroker in EventBroker.__subclasses__()
    finally:
        asyncio.run(threaded.close())


# --- against the real servers -------------------------------------------------------------------------

POSTGRES = os.environ.get("ORDERBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_database():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy as sa

    url = sa.engine.make_url(POSTGRES)
    if not reachable(url.host or "127.0.0.1", url.port or 5432):
        pytest.skip(
            f"PostgreSQL at {url.host}:{url.port or 5432} is unreachable (ORDERBOT_TEST_POSTGRES_URL)"
        )
    name = f"orderbot_rasa_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(drivername="postgresql", database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgresql_tracker_store_keeps_a_conversation(clean_env, postgres_database):
    clean_env.setenv("RASA_TRACKER_URL", postgres_database.render_as_string(hide_password=False))
    config = EndpointConfig(type="bot.endpoints.EnvTrackerStore")
    domain = Domain.empty()
    writer, reader = TrackerStore.create(config, domain), TrackerStore.create(config, domain)  # two replicas
    assert writer.engine.url.database == postgres_database.database
    tracker = DialogueStateTracker("alice", [])
    tracker.update(UserUttered("hello"))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered("Hello!"))

    async def round_trip():
        await writer.save(tracker)
        return await reader.retrieve("alice")

    stored = asyncio.run(round_trip())
    assert [e.text for e in stored.events if isinstance(e, (UserUttered, BotUttered))] == ["hello", "Hello!"]
    writer.engine.dispose()
    reader.engine.dispose()


def test_redis_lock_store_serialises_a_conversation(clean_env):
    if not reachable("127.0.0.1", 6379):
        pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
    prefix = f"test{uuid.uuid4().hex[:10]}"
    clean_env.setenv("RASA_LOCK_URL", "redis://127.0.0.1:6379/1")
    clean_env.setenv("RASA_LOCK_KEY_PREFIX", prefix)
    one = LockStore.create(EndpointConfig(type="bot.endpoints.EnvLockStore"))
    two = LockStore.create(EndpointConfig(type="bot.endpoints.EnvLockStore"))

    async def both_replicas():
        async with one.lock("alice"):
            # The other replica sees the conversation as taken while the first holds it.
            assert two.is_someone_waiting("alice")
            assert one.red.exists(f"{prefix}:lock:alice")
        assert not two.red.exists(f"{prefix}:lock:alice")

    asyncio.run(both_replicas())


def test_rabbitmq_event_broker_publishes_tracker_events(clean_env):
    if not reachable("127.0.0.1", 5672):
        pytest.skip("RabbitMQ at 127.0.0.1:5672 is unreachable")
    import aio_pika

    name = f"orderbot_test_{uuid.uuid4().hex[:10]}"
    clean_env.setenv("RASA_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
    clean_env.setenv("RASA_BROKER_QUEUE", name)
    clean_env.setenv("RASA_BROKER_EXCHANGE", name)

    async def publish_and_read():
        broker = await EventBroker.create(EndpointConfig(type="bot.endpoints.EnvEventBroker"))
        try:
            broker.publish({"event": "user", "sender_id": "alice", "text": "hello"})
            connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672/")
            async with connection:
                channel = await connection.channel()
                queue = await channel.declare_queue(name, durable=True, passive=True)
                message = None
                for _ in range(50):
                    message = await queue.get(no_ack=True, fail=False)
                    if message:
                        break
                    await asyncio.sleep(0.1)
                await queue.delete(if_unused=False, if_empty=False)
                await channel.exchange_delete(name)
                return message
        finally:
            await broker.close()

    message = asyncio.run(publish_and_read())
    assert message is not None and b'"sender_id": "alice"' in message.body
