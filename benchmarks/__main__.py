"""Run every benchmark and print one table: measure, orderbot, anchor (same run), ratio, goal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from benchmarks import llm, phrasing
from benchmarks.import_rate import generate
from benchmarks.table import Row, render
from benchmarks.transitions import CLIENTS

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
POSTGRES_URL = os.environ.get(
    "ORDERBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def _last_json_line(module: str, *args: str) -> dict:
    """Run ``python -m module args`` (a benchmark in its own process) and read the JSON it ends with."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _measure(mode: str, url: str, csv_path: Path) -> dict:
    return _last_json_line("benchmarks.import_rate", mode, url, str(csv_path))


@contextmanager
def _postgres_database():
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"orderbot_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(
            f"PostgreSQL benchmark skipped: {POSTGRES_URL} unusable ({type(exc).__name__})", file=sys.stderr
        )
        yield None
        return
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def import_rows(workdir: Path) -> list[Row]:
    csv_path = generate(workdir / "orders.csv", IMPORT_ROWS)
    rows: list[Row] = []
    targets = [
        (
            "SQLite",
            lambda: _nullcontext(f"sqlite:///{workdir / 'bench.db'}"),
            lambda: _nullcontext(f"sqlite:///{workdir / 'anchor.db'}"),
        ),
        ("PostgreSQL", _postgres_database, _postgres_database),
    ]
    for label, orderbot_db, anchor_db in targets:
        with orderbot_db() as orderbot_url, anchor_db() as anchor_url:
            if orderbot_url is None or anchor_url is None:
                continue
            print(f"import {IMPORT_ROWS:,} rows into {label} ...", file=sys.stderr, flush=True)
            ours, anchor = (
                _measure("orderbot", orderbot_url, csv_path),
                _measure("anchor", anchor_url, csv_path),
            )
        rows.append(
            Row(
                f"import into {label} (anchor: Core executemany)",
                ours["rows_per_s"],
                anchor["rows_per_s"],
                "rows/s",
                ">= 0.5x anchor",
            )
        )
        rows.append(
            Row(
                f"import into {label}: peak RSS",
                ours["peak_rss_mb"],
                anchor["peak_rss_mb"],
                "MB",
                "< 500 MB",
                higher_is_better=False,
            )
        )
    return rows


@contextmanager
def _nullcontext(value):
    yield value


def transitions() -> list[Row]:
    print(f"transitions through the REST API at {CLIENTS} clients ...", file=sys.stderr, flush=True)
    result = _last_json_line("benchmarks.transitions")
    if result["errors"]:
        print(f"{result['errors']} transitions failed", file=sys.stderr)
    return [
        Row(
            f"confirm transitions, {CLIENTS} clients (anchor: GET /health)",
            result["rate"],
            result["anchor_rate"],
            "req/s",
            ">= 200 req/s",
        ),
        Row(
            "  p50 latency", result["p50_ms"], result["anchor_p50_ms"], "ms", "report", higher_is_better=False
        ),
        Row(
            "  p95 latency",
            result["p95_ms"],
            result["anchor_p95_ms"],
            "ms",
            "< 250 ms",
            higher_is_better=False,
        ),
    ]


def hub() -> list[Row]:
    result = _last_json_line("benchmarks.hub")
    ours, anchor = result["orderbot"], result["anchor"]
    clients, subscribers = result["clients"], result["subscribers"]
    if ours["lost"] or anchor["lost"]:
        print(f"hub: lost events: orderbot {ours['lost']}, anchor {anchor['lost']}", file=sys.stderr)
    return [
        Row(
            f"hub: WebSocket clients held by one process (anchor: bare websockets server), of {clients:,}",
            ours["held"],
            anchor["held"],
            "clients",
            f"{clients:,}",
        ),
        Row(
            f"  fan-out of one event to {subscribers:,} subscribers, p99 delivery",
            ours["p99_ms"],
            anchor["p99_ms"],
            "ms",
            "<= 1.5x anchor",
            higher_is_better=False,
        ),
        Row("  p50 delivery", ours["p50_ms"], anchor["p50_ms"], "ms", "report", higher_is_better=False),
        Row(
            "  first event after start (warm-up, not in the above), slowest delivery",
            ours["first_event_max_ms"],
            anchor["first_event_max_ms"],
            "ms",
            "report",
            higher_is_better=False,
        ),
        Row(
            f"  events lost of {(result['rounds'] + 1) * subscribers:,}",
            ours["lost"],
            anchor["lost"],
            "events",
            "0",
            higher_is_better=False,
        ),
        Row(
            "  server memory (RSS)",
            ours["server_rss_mb"],
            anchor["server_rss_mb"],
            "MB",
            "report",
            higher_is_better=False,
        ),
    ]


def assistant() -> list[Row]:
    result = _last_json_line("benchmarks.assistant")
    ours, phrased, anchor = result["orderbot"], result["orderbot_phrased"], result["anchor"]
    errors = ours["errors"] + ours["concurrent_errors"]
    return [
        Row(
            "assistant: order-status turn, 1 sender, p50 (anchor: rasa init + constant action)",
            ours["p50_ms"],
            anchor["p50_ms"],
            "ms",
            "<= 1.5x anchor",
            higher_is_better=False,
        ),
        Row("  p95", ours["p95_ms"], anchor["p95_ms"], "ms", "<= 150 ms", higher_is_better=False),
        Row(
            f"  turns/s at {result['concurrent']} concurrent senders",
            ours["concurrent_rate"],
            anchor["concurrent_rate"],
            "turns/s",
            ">= 0.8x anchor",
        ),
        Row(
            "  failed turns",
            errors,
            anchor["errors"] + anchor["concurrent_errors"],
            "turns",
            "0",
            higher_is_better=False,
        ),
        Row(
            "  phrased by the LLM server, 1 sender, p50",
            phrased["p50_ms"],
            anchor["p50_ms"],
            "ms",
            "report",
            higher_is_better=False,
        ),
    ]


def language_model() -> list[Row]:
    model_dir = ROOT / "models" / "llm"  # the default model (`make llm-model`, a prerequisite of bench)
    return llm.run(model_dir) + phrasing.rows(model_dir)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="orderbot-bench-") as tmp:
        rows = import_rows(Path(tmp))
    rows += transitions()
    rows += assistant()
    rows += hub()
    rows += language_model()
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
