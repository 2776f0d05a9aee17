"""A real order service, started from the application environment on a free loopback port."""

from __future__ import annotations

import os
import subprocess

import pytest

from devtools.stack import ROOT, wait_healthy
from tests.conftest import free_port


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
    )
    env.pop("ORDERBOT_DATABASE_URL", None)
    log = (var_dir / "orders.log").open("w")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "orders", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
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
    return order_service_url
