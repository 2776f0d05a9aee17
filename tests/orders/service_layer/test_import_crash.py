"""The import crash test: kill `orderbot import` at a random point on PostgreSQL, run it again, and
compare what is stored with a clean import of the same file: identical, nothing lost or doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from orders.adapters import database
from orders.adapters.orm import imports, orders
from tests.orders.conftest import HEADER, order_row, postgres_database, write_csv

pytestmark = pytest.mark.postgres

ROWS = 40_000
# What an import decides; the time it wrote a row (updated_at) differs between any two runs.
COMPARED = [column for column in orders.c if column.name != "updated_at"]


def run_import(url: str, path, tmp_path) -> subprocess.Popen:
    env = dict(os.environ, ORDERBOT_DATABASE_URL=url, ORDERBOT_VAR_DIR=str(tmp_path))
    return subprocess.Popen(
        [sys.executable, "-m", "orders", "import", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its reader child dies with it
    )


def stored(url: str) -> list[tuple]:
    engine = database.make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(select(*COMPARED).order_by(orders.c.order_id))]
    finally:
        engine.dispose()


def import_records(url: str) -> list[dict]:
    engine = database.make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(imports.c.finished_at, imports.c.report).order_by(imports.c.id))
            return [{"finished": r.finished_at is not None, **r.report} for r in rows]
    finally:
        engine.dispose()


def wait_until_importing(url: str, process: subprocess.Popen) -> float:
    """When the import has begun (its record is there): the monotonic time then."""
    deadline = time.monotonic() + 60
    while not import_records(url):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.01)
    return time.monotonic()


@pytest.fixture
def two_databases():
    first, second = postgres_database(), postgres_database()
    urls = next(first), next(second)
    for url in urls:
        database.upgrade(url)
    yield urls
    next(first, None)
    next(second, None)


def test_an_import_killed_at_a_random_point_completes_on_rerun_identically(two_databases, tmp_path):
    crashed_url, clean_url = two_databases
    rows = [order_row(f"SO-{300000 + i}", amount=f"{i % 977}.{i % 100:02d}") for i in range(ROWS)]
    rows[ROWS // 3][5] = "not a number"  # a quarantined row too, on both sides
    path = write_csv(tmp_path / "export.csv", HEADER, rows)

    clean = run_import(clean_url, path, tmp_path)
    started = wait_until_importing(clean_url, clean)
    assert clean.wait(timeout=300) == 0, clean.stderr.read()
    full_run = time.monotonic() - started  # from the import's start to its end, without Python's start-up

    seed = random.randrange(1 << 30)
    kill_after = random.Random(seed).uniform(0.0, 1.0) * full_run
    crashed = run_import(crashed_url, path, tmp_path)
    wait_until_importing(crashed_url, crashed)
    time.sleep(kill_after)
    os.killpg(crashed.pid, signal.SIGKILL)
    crashed.wait(timeout=30)
    after_kill = import_records(crashed_url)
    part = len(stored(crashed_url))
    # What the killed import's record says is exactly what is stored: whole batches, nothing half-written.
    said = after_kill[0].get("inserted", 0) if after_kill else 0
    assert part == said, f"seed {seed}: {part} stored, the record says {said}"

    print(
        f"\ncrash test: seed {seed}, killed after {kill_after:.2f} s of {full_run:.2f} s, {part} rows stored"
    )
    again = run_import(crashed_url, path, tmp_path)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert stored(crashed_url) == stored(clean_url), f"seed {seed}, killed after {kill_after:.2f} s"
    assert len(stored(clean_url)) == ROWS - 1
    last = import_records(crashed_url)[-1]
    assert last["finished"] and last["inserted"] + last["unchanged"] + last["quarantined"] == ROWS
