"""Transitions per second through the REST API at 16 concurrent clients, against GET /health on the
same server (the HTTP stack's own ceiling on this machine), both measured in the same run.

Each transition is a confirm: a versioned UPDATE, an invoice, two audit records and three outbox
rows in one transaction.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from benchmarks.import_rate import generate
from benchmarks.table import percentile
from devtools.stack import ROOT, wait_healthy

CLIENTS = 16
ORDERS = int(os.environ.get("BENCH_TRANSITIONS", "3000"))
TIME_LIMIT_S = 60.0


def _drive(clients: int, jobs: queue.Queue, call) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT_S

    def client() -> None:
        nonlocal errors
        session = requests.Session()
        while time.monotonic() < deadline:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            ok = call(session, job)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - started), latencies, errors


def measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-") as tmp:
        tmp_path = Path(tmp)
        port = _free_port()
        env = dict(
            os.environ,
            ORDERBOT_VAR_DIR=tmp,
            ORDERS_PORT=str(port),
            ORDERBOT_SCHEDULER="off",
            ORDERBOT_SAMPLE_DATA="",
            ORDERBOT_DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", ""),
        )
        python = str(ROOT / ".venv" / "bin" / "python")
        csv_path = generate(tmp_path / "orders.csv", ORDERS)
        subprocess.run(
            [python, "-m", "orders", "import", str(csv_path)], env=env, check=True, capture_output=True
        )
        subprocess.run(
            [python, "-m", "orders", "users", "add", "bench", "--role", "operations", "--password-stdin"],
            env=env,
            input="bench-password\n",
            text=True,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [python, "-m", "orders", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(f"{url}/health", 60, server)
            token = requests.post(
                f"{url}/api/v1/auth/token",
                json={"username": "bench", "password": "bench-password"},
                timeout=10,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            def confirm(session: requests.Session, order_id: str) -> bool:
                response = session.post(
                    f"{url}/api/v1/orders/{order_id}/transitions",
                    json={"action": "confirm"},
                    headers=headers,
                    timeout=30,
                )
                return response.status_code == 200

            def health(session: requests.Session, _job: int) -> bool:
                return session.get(f"{url}/health", timeout=30).status_code == 200

            orders_queue: queue.Queue = queue.Queue()
            for i in range(ORDERS):
                orders_queue.put(f"SO-{100000 + i}")
            rate, latencies, errors = _drive(CLIENTS, orders_queue, confirm)
            health_queue: queue.Queue = queue.Queue()
            for i in range(len(latencies)):
                health_queue.put(i)
            anchor_rate, anchor_latencies, _ = _drive(CLIENTS, health_queue, health)
        finally:
            server.terminate()
            server.wait(20)
    return {
        "rate": rate,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "errors": errors,
        "anchor_rate": anchor_rate,
        "anchor_p50_ms": percentile(anchor_latencies, 50) * 1000,
        "anchor_p95_ms": percentile(anchor_latencies, 95) * 1000,
        "count": len(latencies),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
    sys.exit(0)
