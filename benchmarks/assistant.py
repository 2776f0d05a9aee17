"""A full order-status turn over Rasa's REST channel, against Rasa's own starter bot in the same run.

orderbot: the whole stack as `make run` starts it (SQLite tracker store, the order service and its
database behind the action), a signed-in customer asking "where is SO-1003?": NLU, policies, the
custom action, the order service, the reply. Phrasing is off here (the LLM server has its own rows);
the phrased turn is reported beside it.

Anchor: `rasa init`'s starter project (copied from the rasa package, trained here) with one custom
action that returns a constant sentence, answering "are you a bot?" through it, REST channel, its
own action server.

Both: one sender at a time (p50, p95 over TURNS turns, in conversations of CONVERSATION_TURNS) and 16
concurrent senders of one such conversation each (turns/s, errors).

    python -m benchmarks.assistant     -> prints one JSON line
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

from benchmarks.table import percentile
from devtools.stack import ROOT, Stack, stack_environment, wait_healthy
from tests.conftest import free_port

TURNS = int(os.environ.get("BENCH_ASSISTANT_TURNS", "200"))
# Turns per conversation: a chat about an order is a handful of turns, and Rasa reads a conversation's
# whole session from its tracker store on every turn, so one 200-turn conversation would measure the
# tracker store's growth more than a turn (orderbot's SQLite store slows down with it; the anchor
# keeps trackers in memory). Both sides get the same conversations.
CONVERSATION_TURNS = 10
CONCURRENT = 16
CONCURRENT_TURNS = int(os.environ.get("BENCH_ASSISTANT_CONCURRENT_TURNS", "10"))  # per sender
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

CONSTANT_ACTION = """
from rasa_sdk import Action


class ActionConstant(Action):
    def name(self):
        return "action_constant"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="I am a bot, powered by Rasa.")
        return []
"""

Turn = Callable[[requests.Session, str], bool]  # (session, sender) -> the reply was the right one


def measure(url: str, message: str, metadata: dict, expected: str) -> dict:
    """p50/p95 of one sender's turns, then turns/s of CONCURRENT senders, against ``url``."""

    def turn(session: requests.Session, sender: str) -> bool:
        response = session.post(
            f"{url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, "metadata": metadata},
            timeout=30,
        )
        return response.ok and any(expected in (m.get("text") or "") for m in response.json())

    with requests.Session() as session:
        for _ in range(10):  # warm-up: model, connections, caches
            turn(session, "bench-warm-up")
        latencies, errors = [], 0
        for index in range(TURNS):
            if index % CONVERSATION_TURNS == 0:
                sender = f"bench-{uuid.uuid4().hex}"
            started = time.perf_counter()
            errors += not turn(session, sender)
            latencies.append(time.perf_counter() - started)
    rate, concurrent_errors = _concurrent(turn)
    return {
        "p50_ms": percentile(latencies, 50, "inclusive") * 1000,
        "p95_ms": percentile(latencies, 95, "inclusive") * 1000,
        "errors": errors,
        "concurrent_rate": rate,
        "concurrent_errors": concurrent_errors,
    }


def _concurrent(turn: Turn) -> tuple[float, int]:
    errors = 0
    lock = threading.Lock()

    def sender() -> None:
        nonlocal errors
        name = f"bench-{uuid.uuid4().hex}"
        with requests.Session() as session:
            for _ in range(CONCURRENT_TURNS):
                try:
                    ok = turn(session, name)
                except requests.RequestException:
                    ok = False
                if not ok:
                    with lock:
                        errors += 1

    threads = [threading.Thread(target=sender) for _ in range(CONCURRENT)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return CONCURRENT * CONCURRENT_TURNS / (time.perf_counter() - started), errors


def orderbot(workdir: Path, phrasing: str) -> dict:
    env = stack_environment(
        {
            "PATH": os.environ["PATH"],
            "ORDERBOT_VAR_DIR": str(workdir / f"stack-{phrasing}"),
            "ORDERS_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "RASA_PORT": str(free_port()),
            "LLM_PORT": str(free_port()),
            "LLM_PHRASING": phrasing,
            "ORDERBOT_SCHEDULER": "off",
        }
    )
    stack = Stack(env)
    stack.start(timeout_s=300)
    try:
        urls = stack.urls()
        token = requests.post(
            f"{urls['orders']}/api/v1/auth/customer",
            json={"order_id": "SO-1003", "email": "li.na@example.cn"},
            timeout=10,
        ).json()["access_token"]
        return measure(urls["rasa"], "where is SO-1003?", {"token": token}, "SO-1003")
    finally:
        stack.stop()


def starter_project(directory: Path) -> Path:
    """`rasa init`'s project (from the rasa package of .venv-rasa) with one custom action answering the
    bot challenge, trained."""
    locate = "import os, rasa.cli as c; print(os.path.join(os.path.dirname(c.__file__), 'initial_project'))"
    source = subprocess.run(
        [str(RASA_PYTHON), "-c", locate], capture_output=True, text=True, check=True
    ).stdout.strip()
    shutil.copytree(source, directory, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    (directory / "actions" / "actions.py").write_text(CONSTANT_ACTION, encoding="utf-8")
    domain = (directory / "domain.yml").read_text(encoding="utf-8")
    (directory / "domain.yml").write_text(domain + "\nactions:\n  - action_constant\n", encoding="utf-8")
    rules_file = directory / "data" / "rules.yml"
    rules = rules_file.read_text(encoding="utf-8")
    challenge = "  - intent: bot_challenge\n  - action: "
    if challenge + "utter_iamabot" not in rules:
        raise RuntimeError(f"rasa's starter rules changed: {rules_file}")
    rules_file.write_text(rules.replace(challenge + "utter_iamabot", challenge + "action_constant"))
    print("assistant: training the rasa init anchor ...", file=sys.stderr, flush=True)
    subprocess.run(
        [str(RASA), "train", "--fixed-model-name", "anchor", "--out", "models"],
        cwd=directory,
        env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        check=True,
    )
    return directory


def anchor(workdir: Path) -> dict:
    project = starter_project(workdir / "starter")
    actions_port, rasa_port = free_port(), free_port()
    (project / "endpoints.yml").write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n", encoding="utf-8"
    )
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2", "SANIC_HOST": "127.0.0.1"}
    with (workdir / "anchor.log").open("w") as log:
        processes = [
            subprocess.Popen(
                [str(RASA_PYTHON), "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
                cwd=project,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [str(RASA), "run", "--model", "models/anchor.tar.gz", "--interface", "127.0.0.1"]
                + ["--port", str(rasa_port), "--endpoints", "endpoints.yml"],
                cwd=project,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
        ]
        try:
            wait_healthy(f"http://127.0.0.1:{actions_port}/health", 120, processes[0])
            wait_healthy(f"http://127.0.0.1:{rasa_port}/", 300, processes[1])
            return measure(f"http://127.0.0.1:{rasa_port}", "are you a bot?", {}, "I am a bot")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-assistant-") as tmp:
        workdir = Path(tmp)
        print("assistant: orderbot's order-status turn ...", file=sys.stderr, flush=True)
        result = {"turns": TURNS, "concurrent": CONCURRENT, "orderbot": orderbot(workdir, "off")}
        print("assistant: the same turn, phrased by the LLM server ...", file=sys.stderr, flush=True)
        result["orderbot_phrased"] = orderbot(workdir, "on")
        result["anchor"] = anchor(workdir)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
