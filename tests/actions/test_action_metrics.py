"""The action server as the Procfile starts it (``python -m actions.server``), called over its HTTP
webhook as Rasa calls it: /metrics times each action and counts the failed runs, and each run's request
id is in the JSON log lines of both the action server and the order service it called."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.stack import ROOT, wait_healthy
from tests.actions.conftest import SERVICE_TOKEN, sign_in_customer, tracker
from tests.conftest import free_port


class Service:
    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, health: str) -> None:
        self.log_path = log_path
        self.url = health.rsplit("/", 1)[0]
        self.log = log_path.open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(health, 90, self.process)
        except Exception:
            self.stop()
            raise

    def json_lines(self) -> list[dict[str, Any]]:
        self.log.flush()
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines() if line]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def orders(tmp_path_factory):
    """An order service of its own, with the sample orders and JSON logs."""
    var_dir = tmp_path_factory.mktemp("orders-json")
    port = free_port()
    env = dict(
        os.environ,
        ORDERBOT_VAR_DIR=str(var_dir),
        ORDERS_HOST="127.0.0.1",
        ORDERS_PORT=str(port),
        ORDERBOT_SCHEDULER="off",
        ORDERBOT_SERVICE_TOKEN=SERVICE_TOKEN,
        LOG_FORMAT="json",
    )
    env.pop("ORDERBOT_DATABASE_URL", None)
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "orders", "serve"]
    service = Service(command, env, var_dir / "orders.log", f"http://127.0.0.1:{port}/health")
    yield service
    service.stop()


def start_action_server(log_path: Path, order_service_url: str) -> Service:
    port = free_port()
    env = dict(
        os.environ,
        ACTIONS_PORT=str(port),
        SANIC_HOST="127.0.0.1",
        ORDER_SERVICE_URL=order_service_url,
        ORDER_SERVICE_TIMEOUT="2",
        ORDERBOT_SERVICE_TOKEN=SERVICE_TOKEN,
        LLM_PHRASING="off",
        LOG_FORMAT="json",
    )
    command = [sys.executable, "-m", "actions.server"]
    return Service(command, env, log_path, f"http://127.0.0.1:{port}/health")


@pytest.fixture(scope="module")
def actions(orders, tmp_path_factory):
    service = start_action_server(tmp_path_factory.mktemp("actions") / "actions.log", orders.url)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def actions_without_orders(tmp_path_factory):
    """An action server whose order service does not answer (nothing listens on its port)."""
    log_path = tmp_path_factory.mktemp("actions-alone") / "actions.log"
    service = start_action_server(log_path, f"http://127.0.0.1:{free_port()}")
    yield service
    service.stop()


def call_action(server: Service, action: str, token: str | None, headers: dict[str, str] | None = None):
    """POST /webhook as Rasa does; returns (status, body, X-Request-ID of the answer)."""
    state = tracker("where is SO-1003?", entities={"order_id": "SO-1003"}, token=token).current_state()
    state["latest_message"]["message_id"] = "message-7"
    body = {"next_action": action, "sender_id": state["sender_id"], "tracker": state, "domain": {}}
    request = urllib.request.Request(
        f"{server.url}/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer), answer.headers["X-Request-ID"]
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused), refused.headers["X-Request-ID"]


def scrape(server: Service) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def runs(samples, action: str) -> tuple[float, float]:
    """(runs timed, runs failed) of ``action``."""
    labels = frozenset({"action": action}.items())
    return (
        samples.get(("orderbot_action_duration_seconds_count", labels), 0.0),
        samples.get(("orderbot_action_errors_total", labels), 0.0),
    )


def test_an_action_run_is_timed_and_its_request_id_reaches_the_order_service(orders, actions):
    token = sign_in_customer(orders.url, "SO-1003", "li.na@example.cn")
    before = runs(scrape(actions), "action_order_status")
    status, answer, request_id = call_action(actions, "action_order_status", token)
    assert status == 200
    assert answer["responses"][0]["order_id"] == "SO-1003"  # the template, with the facts (no LLM here)
    assert len(request_id) == 32 and int(request_id, 16) >= 0  # a new uuid4 hex per run
    timed, failed = runs(scrape(actions), "action_order_status")
    assert (timed - before[0], failed - before[1]) == (1, 0)

    # The order service logged the call under the run's id...
    (access,) = [line for line in orders.json_lines() if line["request_id"] == request_id]
    assert access["logger"] == "orders.access" and access["route"] == "/api/v1/orders/<order_id>"
    assert access["status"] == 200
    # ... and so did the action server, naming the conversation and the message.
    own = [line for line in actions.json_lines() if line["request_id"] == request_id]
    assert [line["message"] for line in own][0] == (
        f"action action_order_status for sender test-conversation, message message-7, request id {request_id}"
    )
    assert own[-1]["status"] == 200 and own[-1]["action"] == "action_order_status"


def test_a_request_id_given_to_the_webhook_is_the_runs_id(orders, actions):
    token = sign_in_customer(orders.url, "SO-1003", "li.na@example.cn")
    given = {"X-Request-ID": "rasa-turn-9"}
    status, _, request_id = call_action(actions, "action_order_status", token, given)
    assert (status, request_id) == (200, "rasa-turn-9")
    assert [line["route"] for line in orders.json_lines() if line["request_id"] == "rasa-turn-9"] == [
        "/api/v1/orders/<order_id>"
    ]


def test_a_run_that_meets_a_failing_order_service_counts_as_an_error(actions_without_orders):
    before = runs(scrape(actions_without_orders), "action_order_status")
    status, answer, request_id = call_action(actions_without_orders, "action_order_status", "some-token")
    assert status == 200  # the customer still gets the polite sentence
    assert answer["responses"][0]["response"] == "utter_order_service_unavailable"
    timed, failed = runs(scrape(actions_without_orders), "action_order_status")
    assert (timed - before[0], failed - before[1]) == (1, 1)
    lines = [line for line in actions_without_orders.json_lines() if line["request_id"] == request_id]
    warnings = [line["message"] for line in lines if line["level"] == "WARNING"]
    assert any("order service unavailable" in warning for warning in warnings)


def test_an_unknown_action_is_an_error_labelled_unknown(actions):
    before = runs(scrape(actions), "unknown")
    status, _, _ = call_action(actions, "action_that_does_not_exist", None)
    assert status == 404
    samples = scrape(actions)
    timed, failed = runs(samples, "unknown")
    assert (timed - before[0], failed - before[1]) == (1, 1)
    assert not any(dict(labels).get("action") == "action_that_does_not_exist" for _, labels in samples)
