"""A real order service, started from the application environment on a free loopback port, with the
sample orders and a staff user of each role; and helpers to run an action on a tracker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import urllib.request
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from devtools.stack import ROOT, wait_healthy
from tests.conftest import free_port

SERVICE_TOKEN = "action-server-test-credential-0123456789"
STAFF_PASSWORD = "a long staff password"


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="session")
def order_service_url(tmp_path_factory) -> str:
    var_dir = tmp_path_factory.mktemp("orders")
    port = free_port()
    env = dict(
        os.environ,
        ORDERBOT_VAR_DIR=str(var_dir),
        ORDERS_PORT=str(port),
        ORDERS_HOST="127.0.0.1",
        ORDERBOT_SCHEDULER="off",
        ORDERBOT_SERVICE_TOKEN=SERVICE_TOKEN,
    )
    env.pop("ORDERBOT_DATABASE_URL", None)
    python = str(ROOT / ".venv" / "bin" / "python")
    for role in ("warehouse", "finance", "operations"):
        subprocess.run(
            [python, "-m", "orders", "users", "add", role, "--role", role, "--password-stdin"],
            cwd=ROOT,
            env=env,
            input=STAFF_PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    log = (var_dir / "orders.log").open("w")
    process = subprocess.Popen(
        [python, "-m", "orders", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/health", 60, process)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def order_service(order_service_url, monkeypatch) -> str:
    monkeypatch.setenv("ORDER_SERVICE_URL", order_service_url)
    monkeypatch.setenv("ORDERBOT_SERVICE_TOKEN", SERVICE_TOKEN)
    return order_service_url


def sign_in_customer(url: str, order_id: str, email: str) -> str:
    return _post(f"{url}/api/v1/auth/customer", {"order_id": order_id, "email": email})["access_token"]


def sign_in_staff(url: str, role: str) -> str:
    return _post(f"{url}/api/v1/auth/token", {"username": role, "password": STAFF_PASSWORD})["access_token"]


def tracker(
    text: str,
    language: str = "en",
    entities: dict[str, str] | None = None,
    token: str | None = None,
    intent: str = "order_status",
    events: list[dict[str, Any]] | None = None,
    **slots: Any,
) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "test-conversation",
            "slots": {"language": language, **slots},
            "latest_message": {
                "text": text,
                "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
                "intent": {"name": intent},
                "intent_ranking": [],
                "metadata": {"token": token} if token else {},
            },
            "events": events or [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_input_channel": "rest",
        }
    )


def run(action, tracker_: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, {}))
    return dispatcher.messages, events


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
