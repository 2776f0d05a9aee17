"""The prod profile (`make run-prod`) against this machine's PostgreSQL, Redis and RabbitMQ.

devtools/stack.py starts what `make run-prod` starts, once for this module (Rasa's start-up is slow), on
free loopback ports: two Rasa replicas sharing a PostgreSQL tracker store and a Redis lock store and
publishing to RabbitMQ, two order-service processes on one PostgreSQL database (hubs through Redis),
the action server and the LLM server. Everything of this run has its own names (databases, lock keys,
pub/sub channel, queue and exchange), removed afterwards. Without one of the servers the module is
skipped, and the reason names it.

- Conversations that alternate between the replicas stay whole: 8 concurrent senders, 200 turns.
- A killed action server: the customer hears "temporarily unavailable"; after a restart the same
  conversation goes on.
- A killed LLM server: replies fall back to the templates at once, none lost.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devtools.stack import Stack, StackError, check_backing_servers, stack_environment
from tests.conftest import free_port

POSTGRES = os.environ.get("ORDERBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("ORDERBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379")
RABBITMQ = os.environ.get("ORDERBOT_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
TAG = uuid.uuid4().hex[:10]
TOKEN = f"e2e-prod-{TAG}"
SENDERS, TURNS = 8, 25  # 200 turns
SCRIPT = ["hello", "where is my order SO-1003?", "thanks", "what can you do?", "我的订单SO-1003到哪了", "bye"]
UNAVAILABLE = {
    "en": "Sorry, I am temporarily unavailable. Please try again in a minute.",
    "zh": "抱歉，服务暂时不可用，请稍后再试。",
}
TEMPLATE = {
    "en": "Order SO-1003 is stocked in and awaiting shipment.",
    "zh": "订单 SO-1003 当前状态：已入库，等待发货。",
}


# --- the profile's settings (no server needed) --------------------------------------------------------


def test_the_prod_profile_adds_second_replicas_and_the_local_servers():
    env = stack_environment({"ORDERBOT_PROFILE": "prod", "RASA_PORT": "6005", "ORDERS_PORT": "9080"})
    assert (env["RASA_2_PORT"], env["ORDERS_2_PORT"]) == ("6006", "9081")
    assert env["ORDERBOT_DATABASE_URL"] == "postgresql+psycopg2://postgres@127.0.0.1:5432/orderbot"
    assert env["RASA_TRACKER_URL"] == "postgresql://postgres@127.0.0.1:5432/rasa"
    assert env["RASA_LOCK_URL"] == "redis://127.0.0.1:6379/1"
    assert env["ORDERBOT_REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert env["RASA_BROKER_URL"] == "amqp://guest:guest@127.0.0.1:5672/"
    # Compose's parts instead of a URL: no default URL that would win over them.
    parts = stack_environment({"ORDERBOT_PROFILE": "prod", "RASA_TRACKER_HOST": "db", "RASA_LOCK_HOST": "r"})
    assert "RASA_TRACKER_URL" not in parts and "RASA_LOCK_URL" not in parts
    # The dev profile names no server at all.
    dev = stack_environment({})
    assert not {"RASA_TRACKER_URL", "RASA_LOCK_URL", "RASA_BROKER_URL", "ORDERBOT_REDIS_URL"} & set(dev)
    with pytest.raises(StackError, match="ORDERBOT_PROFILE"):
        stack_environment({"ORDERBOT_PROFILE": "staging"})


def test_the_prod_profiles_processes():
    from devtools.stack import processes_for

    env = stack_environment({"ORDERBOT_PROFILE": "prod"})
    processes = {p.name: p for p in processes_for(env)}
    assert list(processes) == ["orders-1", "orders-2", "actions", "rasa-1", "rasa-2", "llm"]
    assert [processes[n].url(env) for n in ("rasa-1", "rasa-2")] == [
        "http://127.0.0.1:5005",
        "http://127.0.0.1:5006",
    ]
    second = processes["orders-2"]
    assert second.url(env) == "http://127.0.0.1:8081" and second.after == "orders-1"
    assert second.overrides["ORDERBOT_SCHEDULER"] == "off"  # one settlement run, not two
    assert second.overrides["RASA_PUBLIC_URL"] == "http://127.0.0.1:5006"  # its pages talk to replica 2
    assert "RASA_PUBLIC_URL" not in processes["orders-1"].overrides  # replica 1 is the default already
    proxied = stack_environment({"ORDERBOT_PROFILE": "prod", "RASA_PUBLIC_URL": "https://chat.example"})
    assert "RASA_PUBLIC_URL" not in {p.name: p for p in processes_for(proxied)}["orders-2"].overrides
    assert [p.name for p in processes_for(stack_environment({}))] == ["orders", "actions", "rasa", "llm"]


def test_a_taken_port_of_a_second_replica_is_named_with_its_variable(unused_port):
    import socket

    from devtools.stack import check_ports

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", unused_port))
        taken.listen()
        env = stack_environment(
            {"ORDERBOT_PROFILE": "prod", "RASA_2_PORT": str(unused_port)}
            | {v: str(free_port()) for v in ("ORDERS_PORT", "ORDERS_2_PORT", "ACTIONS_PORT", "RASA_PORT")}
            | {"LLM_PORT": str(free_port())}
        )
        with pytest.raises(StackError, match=f"port {unused_port} \\(Rasa server 2\\).*RASA_2_PORT"):
            check_ports(env)


def test_an_unreachable_server_is_named_before_anything_starts():
    dead = free_port()  # nothing listens there
    env = stack_environment(
        {"ORDERBOT_PROFILE": "prod", "RASA_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{dead}/"}
    )
    env = {**env, "ORDERBOT_DATABASE_URL": "sqlite:///x.db", "RASA_TRACKER_URL": "", "RASA_LOCK_URL": ""}
    env["ORDERBOT_REDIS_URL"] = ""
    with pytest.raises(StackError) as problem:
        check_backing_servers(env)
    message = str(problem.value)
    assert f"RabbitMQ (Rasa's event broker) at 127.0.0.1:{dead} (RASA_BROKER_URL) is not reachable" in message
    assert "docs/production.md" in message and "guest:guest" not in message


# --- against the real servers -------------------------------------------------------------------------


def server_url(base: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    env = stack_environment(
        {
            "PATH": os.environ["PATH"],
            "ORDERBOT_PROFILE": "prod",
            "ORDERBOT_VAR_DIR": str(tmp_path_factory.mktemp("prod")),
            **{
                variable: str(free_port())
                for variable in ("ORDERS_PORT", "ORDERS_2_PORT", "ACTIONS_PORT", "RASA_PORT", "RASA_2_PORT")
                + ("LLM_PORT",)
            },
            "ORDERBOT_DATABASE_URL": server_url(POSTGRES, f"orderbot_e2e_{TAG}"),
            "RASA_TRACKER_URL": server_url(POSTGRES, f"rasa_e2e_{TAG}").replace("+psycopg2", ""),
            "ORDERBOT_REDIS_URL": f"{REDIS}/0",
            "ORDERBOT_REDIS_CHANNEL": f"orderbot:e2e:{TAG}",
            "RASA_LOCK_URL": f"{REDIS}/1",
            "RASA_LOCK_KEY_PREFIX": f"e2e{TAG}",
            "RASA_BROKER_URL": RABBITMQ,
            "RASA_BROKER_QUEUE": f"orderbot_e2e_{TAG}",
            "RASA_BROKER_EXCHANGE": f"orderbot-e2e-{TAG}",
            "RASA_AUTH_TOKEN": TOKEN,
            "ORDERBOT_SCHEDULER": "off",
            "LLM_PHRASING": "on",
            # Far above a turn's time here: a reply that waited for the LLM would show.
            "LLM_TIMEOUT": "5",
        }
    )
    try:
        check_backing_servers(env)
    except StackError as problem:
        pytest.skip(str(problem))
    stack = Stack(env)
    try:
        stack.start(timeout_s=240)
        yield stack
    finally:
        stack.stop()
        _remove_what_this_run_made(env)


def _remove_what_this_run_made(env: dict[str, str]) -> None:
    import pika
    import sqlalchemy as sa

    admin = sa.create_engine(server_url(POSTGRES, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for database in (f"orderbot_e2e_{TAG}", f"rasa_e2e_{TAG}"):
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ))
    channel = connection.channel()
    channel.queue_delete(env["RASA_BROKER_QUEUE"])
    channel.exchange_delete(env["RASA_BROKER_EXCHANGE"])
    connection.close()


@pytest.fixture(scope="module")
def li_na(prod) -> str:
    """A customer signed in at the second order service: the sample orders are in the shared database."""
    response = requests.post(
        f"{prod.urls()['orders-2']}/api/v1/auth/customer",
        json={"order_id": "SO-1003", "email": "li.na@example.cn"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def say(prod, replica: str, sender: str, text: str, token: str, turn: int | None = None) -> list[str]:
    metadata = {"token": token, **({"turn": turn} if turn is not None else {})}
    response = requests.post(
        f"{prod.urls()[replica]}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, "metadata": metadata},
        timeout=60,
    )
    response.raise_for_status()
    return [message.get("text", "") for message in response.json()]


def turns_of(prod, replica: str, sender: str) -> list[tuple[dict, list[str]]]:
    """The conversation as Rasa keeps it (read through ``replica``): each user event, then the bot's
    messages up to the next one."""
    response = requests.get(
        f"{prod.urls()[replica]}/conversations/{sender}/tracker",
        params={"token": TOKEN},
        timeout=30,
    )
    response.raise_for_status()
    turns: list[tuple[dict, list[str]]] = []
    for event in response.json()["events"]:
        if event["event"] == "user":
            turns.append((event, []))
        elif event["event"] == "bot":
            assert turns, f"a bot message before any user message: {event}"
            turns[-1][1].append(event.get("text") or "")
    return turns


def test_the_replicas_share_one_conversation_store_under_concurrent_senders(prod, li_na):
    def converse(index: int) -> tuple[str, list[tuple[str, list[str]]]]:
        sender = f"e2e-prod-{TAG}-{index}"
        sent = []
        for turn in range(TURNS):
            replica = ("rasa-1", "rasa-2")[(turn + index) % 2]
            text = SCRIPT[turn % len(SCRIPT)]
            sent.append((text, say(prod, replica, sender, text, li_na, turn)))
        return sender, sent

    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        conversations = list(pool.map(converse, range(SENDERS)))
    elapsed = time.monotonic() - started
    assert sum(len(sent) for _, sent in conversations) == SENDERS * TURNS
    for index, (sender, sent) in enumerate(conversations):
        assert all(replies for _, replies in sent), f"{sender}: a turn went unanswered"
        # Read back through the replica that did not take the last turn.
        kept = turns_of(prod, ("rasa-2", "rasa-1")[(TURNS - 1 + index) % 2], sender)
        assert [event["text"] for event, _ in kept] == [text for text, _ in sent], sender
        assert [event["metadata"]["turn"] for event, _ in kept] == list(range(TURNS)), sender
        # Each turn's bot messages are exactly what the replica answered: none lost, none twice.
        assert [bot for _, bot in kept] == [replies for _, replies in sent], sender
    # In PostgreSQL itself (not a file each replica could keep apart), and every event published.
    import sqlalchemy as sa

    engine = sa.create_engine(server_url(POSTGRES, f"rasa_e2e_{TAG}"))
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' AND sender_id LIKE :tag "
                "GROUP BY sender_id"
            ),
            {"tag": f"e2e-prod-{TAG}-%"},
        ).all()
    engine.dispose()
    assert dict(rows) == {sender: TURNS for sender, _ in conversations}
    # Every event went through RabbitMQ to the order services: the console's figures count the turns.
    from datetime import timedelta
    from pathlib import Path

    from orders.domain.access import Actor, Role, Source
    from orders.entrypoints.auth import TokenSigner

    secret = (
        prod.env.get("ORDERBOT_JWT_SECRET") or (Path(prod.env["ORDERBOT_VAR_DIR"]) / "jwt_secret").read_text()
    )
    signer = TokenSigner(secret.strip(), timedelta(hours=1), None)
    operations = {"Authorization": f"Bearer {signer.issue(Actor('e2e-ops', Role.OPERATIONS, Source.REST))}"}

    def turns_counted() -> int:
        url = f"{prod.urls()['orders']}/api/v1/stats/conversations?days=2"
        return sum(
            item["turns"] for item in requests.get(url, headers=operations, timeout=10).json()["items"]
        )

    deadline = time.monotonic() + 30
    while turns_counted() < SENDERS * TURNS and time.monotonic() < deadline:
        time.sleep(0.5)
    assert turns_counted() >= SENDERS * TURNS
    print(f"\n{SENDERS * TURNS} turns in {elapsed:.1f} s over two replicas")


def test_a_killed_action_server_is_announced_and_the_conversation_goes_on_after_a_restart(prod, li_na):
    sender = f"e2e-prod-{TAG}-actions"
    (before,) = say(prod, "rasa-1", sender, "where is my order SO-1003?", li_na)
    assert "SO-1003" in before
    prod.kill("actions")
    assert say(prod, "rasa-2", sender, "where is my order SO-1003?", li_na) == [UNAVAILABLE["en"]]
    assert say(prod, "rasa-1", sender, "我的订单SO-1003到哪了", li_na) == [UNAVAILABLE["zh"]]
    # What Rasa answers by itself still works.
    (greeting,) = say(prod, "rasa-2", sender, "hello", li_na)
    assert greeting.startswith("Hello!")
    prod.restart("actions")
    (after,) = say(prod, "rasa-1", sender, "where is SO-1003 now?", li_na)
    assert "SO-1003" in after and after not in UNAVAILABLE.values()
    kept = turns_of(prod, "rasa-2", sender)
    assert [event["text"] for event, _ in kept] == [
        "where is my order SO-1003?",
        "where is my order SO-1003?",
        "我的订单SO-1003到哪了",
        "hello",
        "where is SO-1003 now?",
    ]
    assert [bot for _, bot in kept] == [
        [before],
        [UNAVAILABLE["en"]],
        [UNAVAILABLE["zh"]],
        [greeting],
        [after],
    ]


def phrasing_outcomes(prod) -> dict[str, float]:
    text = requests.get(f"{prod.urls()['actions']}/metrics", timeout=10).text
    return {
        match["outcome"]: float(match["value"])
        for match in re.finditer(
            r'^orderbot_phrasing_total\{outcome="(?P<outcome>\w+)"\} (?P<value>\S+)$', text, re.M
        )
    }


def test_a_killed_llm_server_leaves_the_templates_at_once(prod, li_na):
    sender = f"e2e-prod-{TAG}-llm"
    assert "SO-1003" in say(prod, "rasa-1", sender, "where is my order SO-1003?", li_na)[0]
    prod.kill("llm")
    before = phrasing_outcomes(prod)
    asked = [("en", "where is my order SO-1003?"), ("zh", "我的订单SO-1003到哪了")] * 5
    for turn, (language, text) in enumerate(asked):
        started = time.monotonic()
        replies = say(prod, ("rasa-2", "rasa-1")[turn % 2], sender, text, li_na)
        took = time.monotonic() - started
        assert replies == [TEMPLATE[language]], (turn, replies)
        assert took < 2.5, f"turn {turn} took {took:.1f} s: it waited for the LLM (LLM_TIMEOUT=5)"
    after = phrasing_outcomes(prod)
    assert after.get("error", 0) - before.get("error", 0) == len(asked)  # refused at once...
    assert after.get("timeout", 0) == before.get("timeout", 0)  # ...never waited for
    kept = turns_of(prod, "rasa-2", sender)
    assert [event["text"] for event, _ in kept][1:] == [text for _, text in asked]
    assert all(len(bot) == 1 for _, bot in kept)
