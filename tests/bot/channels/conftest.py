"""Rasa with the Slack and DingTalk channels, the action server and the order service, on free loopback
ports, with every platform URL pointed at a recorder: started once per test session (Rasa takes a
while), as the Procfile starts them. The order service's chat bridge posts to the recorder too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port
from tests.platform_recorder import Recorder

ROOT = Path(__file__).resolve().parents[3]
SLACK_SECRET = "slack-signing-secret-for-tests-0123"
DINGTALK_SECRET = "dingtalk-app-secret-for-tests-0123456789"
ROBOT_SECRET = "SEC-dingtalk-group-robot-secret-0123"
SERVICE_TOKEN = "service-token-for-channel-tests-0123456789"
STAFF_PASSWORD = "warehouse password"
SLACK_USER, DINGTALK_USER = "U0WANG", "032615015535634423"


@dataclass
class Platforms:
    env: dict[str, str]
    recorder: Recorder
    rasa: str
    orders: str
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    # --- Slack ---------------------------------------------------------------------------------------

    def slack_post(
        self,
        payload: dict | bytes,
        secret: str = SLACK_SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        signed_body: bytes | None = None,
    ) -> requests.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(
            secret.encode(), b"v0:" + stamp.encode() + b":" + (signed_body or body), hashlib.sha256
        ).hexdigest()
        sent = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}",
        }
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        return requests.post(f"{self.rasa}/webhooks/slack/webhook", data=body, headers=sent, timeout=30)

    # --- DingTalk ------------------------------------------------------------------------------------

    def dingtalk_post(
        self,
        payload: dict | bytes,
        secret: str = DINGTALK_SECRET,
        timestamp_ms: int | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> requests.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        stamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
        sign = base64.b64encode(
            hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        sent = {"Content-Type": "application/json; charset=utf-8", "timestamp": stamp, "sign": sign}
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        return requests.post(f"{self.rasa}/webhooks/dingtalk/webhook", data=body, headers=sent, timeout=30)

    # --- the order service ---------------------------------------------------------------------------

    def staff_token(self) -> str:
        answer = requests.post(
            f"{self.orders}/api/v1/auth/token",
            json={"username": "wang", "password": STAFF_PASSWORD},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["access_token"]

    def order_status(self, order_id: str) -> str:
        answer = requests.get(
            f"{self.orders}/api/v1/orders/{order_id}",
            headers={"Authorization": f"Bearer {self.staff_token()}"},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["status"]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "orders", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def platforms(tmp_path_factory):
    model = Path(os.environ.get("RASA_MODEL", ROOT / "models" / "orderbot.tar.gz"))
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run the tests through `make test`")
    var_dir = tmp_path_factory.mktemp("channels")
    recorder = Recorder()
    ports = {name: free_port() for name in ("orders", "actions", "rasa")}
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(var_dir)),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "ORDERBOT_VAR_DIR": str(var_dir),
        "ORDERS_HOST": "127.0.0.1",
        "ORDERS_PORT": str(ports["orders"]),
        "ACTIONS_PORT": str(ports["actions"]),
        "SANIC_HOST": "127.0.0.1",
        "ORDER_SERVICE_URL": f"http://127.0.0.1:{ports['orders']}",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
        "RASA_TRACKER_DB": str(var_dir / "rasa_tracker.db"),
        "ORDERBOT_SERVICE_TOKEN": SERVICE_TOKEN,
        "ORDERBOT_SCHEDULER": "off",
        "ORDERS_THREADS": "4",
        "LLM_PHRASING": "off",  # the templates word for word
        "LLM_BASE_URL": "http://127.0.0.1:9/v1",
        # inbound channels
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-test-bot-token",
        "SLACK_API_URL": f"{recorder.url}/api/",
        "DINGTALK_APP_SECRET": DINGTALK_SECRET,
        "DINGTALK_API_URL": recorder.url,
        # outbound bridge: warehouse -> a DingTalk group robot, finance -> a Slack channel
        "ORDERBOT_DINGTALK_WAREHOUSE_WEBHOOK": f"{recorder.url}/robot/send?access_token=warehouse",
        "ORDERBOT_DINGTALK_WAREHOUSE_SECRET": ROBOT_SECRET,
        "SLACK_FINANCE_CHANNEL": "C0FINANCE",
        "ORDERBOT_BRIDGE_POLL_SECONDS": "0.2",
    }
    commands = {
        "orders": [str(ROOT / ".venv" / "bin" / "python"), "-m", "orders", "serve"],
        "actions": [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "actions.server"],
        "rasa": [
            str(ROOT / ".venv-rasa" / "bin" / "rasa"),
            "run",
            "--model",
            str(model),
            "--interface",
            "127.0.0.1",
            "--port",
            str(ports["rasa"]),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
        ],
    }
    health = {
        "orders": f"http://127.0.0.1:{ports['orders']}/health",
        "actions": f"http://127.0.0.1:{ports['actions']}/health",
        "rasa": f"http://127.0.0.1:{ports['rasa']}/",
    }
    running = Platforms(
        env, recorder, f"http://127.0.0.1:{ports['rasa']}", f"http://127.0.0.1:{ports['orders']}", var_dir
    )
    try:
        for name, command in commands.items():
            log = (var_dir / f"{name}.log").open("w")
            running.processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        deadline = time.monotonic() + float(os.environ.get("ORDERBOT_START_TIMEOUT", "300"))
        for name, url in health.items():
            while not _healthy(url):
                dead = [p for p in running.processes if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    tail = (var_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                    pytest.fail(f"{name} did not start:\n{tail}")
                time.sleep(0.5)
        _cli(
            env,
            "users",
            "add",
            "wang",
            "--role",
            "warehouse",
            "--password-stdin",
            stdin=STAFF_PASSWORD + "\n",
        )
        _cli(env, "users", "link", "wang", "--platform", "slack", "--id", SLACK_USER)
        _cli(env, "users", "link", "wang", "--platform", "dingtalk", "--id", DINGTALK_USER)
        yield running
    finally:
        for process in reversed(running.processes):
            process.terminate()
        for process in running.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        recorder.close()
