"""Import rate: `orderbot import` of a generated CSV against a raw SQLAlchemy Core executemany insert.

Each side runs in its own process on a fresh database, so its peak RSS (with its children's) is its own.
    python -m benchmarks.import_rate {orderbot|anchor} DATABASE_URL CSV_PATH   -> prints JSON
"""

from __future__ import annotations

import csv
import json
import resource
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

HEADER = [
    "order_id",
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "amount",
    "currency",
    "created_at",
    "updated_at",
    "paid_at",
    "due_date",
]


def generate(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            day = 1 + i % 28
            writer.writerow(
                [
                    f"SO-{100000 + i}",
                    f"C-{i % 5000}",
                    f"客户{i % 977} Customer",
                    f"c{i}@example.com",
                    f"138{i:08d}",
                    f"{(i % 100000) / 7:.2f}",
                    "CNY",
                    f"2026-10-{day:02d} 09:{i % 60:02d}:00",
                    f"2026-11-{day:02d} 10:00:00",
                    "" if i % 3 else f"2026-11-{day:02d} 11:00:00",
                    f"2026-12-{day:02d}",
                ]
            )
    return path


def run_orderbot(url: str, path: Path) -> int:
    from orders.adapters.database import make_engine, upgrade
    from orders.service_layer.setup import import_from

    upgrade(url)
    engine = make_engine(url)
    report = import_from(engine, path, ZoneInfo("Asia/Shanghai"))
    assert report.inserted == report.rows, report.summary()
    return report.inserted


def run_anchor(url: str, path: Path) -> int:
    """The same rows, as read by csv, inserted by Core executemany into an equivalent plain table."""
    from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, MetaData, String, Table, insert

    from orders.adapters.database import make_engine

    metadata = MetaData()
    table = Table(
        "anchor_orders",
        metadata,
        Column("order_id", String(64), primary_key=True),
        Column("customer_id", String(64)),
        Column("customer_name", String(200)),
        Column("email", String(254)),
        Column("phone", String(32)),
        Column("amount", String(32)),
        Column("currency", String(3)),
        Column("created_at", String(32)),
        Column("updated_at", String(32)),
        Column("paid_at", String(32)),
        Column("due_date", String(32)),
        Column("n1", BigInteger),
        Column("n2", Integer),
        Column("d", Date),
        Column("t", DateTime),
    )
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    total = 0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        batch: list[dict] = []
        with engine.begin() as connection:
            for cells in reader:
                batch.append(dict(zip(HEADER, cells, strict=True)))
                if len(batch) == 2000:
                    connection.execute(insert(table), batch)
                    total += len(batch)
                    batch = []
            if batch:
                connection.execute(insert(table), batch)
                total += len(batch)
    return total


def main(argv: list[str]) -> int:
    mode, url, path = argv[0], argv[1], Path(argv[2])
    # Python's loading of each side's modules is not import work: load them before the clock starts.
    import sqlalchemy  # noqa: F401

    if mode == "orderbot":
        import orders.adapters.database  # noqa: F401
        import orders.service_layer.setup  # noqa: F401
    started = time.perf_counter()
    rows = (run_orderbot if mode == "orderbot" else run_anchor)(url, path)
    elapsed = time.perf_counter() - started
    # orderbot reads and cleans in a child process: its peak counts too (as if both peaked at once)
    peak_kb = sum(
        resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    peak_mb = peak_kb / 1024
    print(
        json.dumps({"rows": rows, "seconds": elapsed, "rows_per_s": rows / elapsed, "peak_rss_mb": peak_mb})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
