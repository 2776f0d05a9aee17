import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.orders.conftest import HEADER, order_row, write_csv


def orderbot(tmp_path, *args, stdin: str | None = None):
    env = dict(
        os.environ,
        ORDERBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        ORDERBOT_VAR_DIR=str(tmp_path),
        ORDERBOT_SOURCES=str(tmp_path / "sources.yml"),
    )
    return subprocess.run(
        [sys.executable, "-m", "orders", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        input=stdin,
    )


def test_import_prints_a_report_and_a_progress_bar(tmp_path):
    path = write_csv(tmp_path / "in.csv", HEADER, [order_row("SO-1"), order_row("SO-2", amount="?")])
    result = orderbot(tmp_path, "import", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["inserted"], report["quarantined"]) == (1, 1)
    assert report["problems"][0]["row"] == 3
    assert "100%" in result.stderr


def test_import_with_a_mapping_file(tmp_path):
    path = write_csv(
        tmp_path / "m.csv",
        ["单号", "cust", "name", "total", "date"],
        [["SO-1", "C-1", "n", "5", "2026-11-01"]],
    )
    mapping = tmp_path / "map.yml"
    mapping.write_text(
        "fields:\n  order_id: 单号\n  customer_id: cust\n  customer_name: name\n  amount: total\n"
        "  created_at: date\n",
        encoding="utf-8",
    )
    result = orderbot(tmp_path, "import", str(path), "--mapping", str(mapping))
    assert result.returncode == 0, result.stderr
    assert "1 inserted" in result.stdout


def test_import_of_an_unreadable_file_says_why(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = orderbot(tmp_path, "import", str(path))
    assert result.returncode == 2
    assert "empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_settle_by_hand(tmp_path):
    path = write_csv(
        tmp_path / "s.csv", HEADER + ["status", "due_date"], [order_row("SO-1") + ["shipped", "2026-11-01"]]
    )
    assert orderbot(tmp_path, "import", str(path)).returncode == 0
    first = orderbot(tmp_path, "settle", "--date", "2026-11-30")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["settled"] == ["SO-1"]
    assert json.loads(orderbot(tmp_path, "settle", "--date", "2026-11-30").stdout)["settled"] == []
    bad = orderbot(tmp_path, "settle", "--date", "tomorrow")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    later = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=10)).date().isoformat()
    early = orderbot(tmp_path, "settle", "--date", later)
    assert early.returncode == 2 and f"{later} has not ended yet" in early.stderr


def test_an_import_that_stops_part_way_says_what_is_stored(tmp_path):
    # Bad bytes past the part the encoding is detected from quarantine their line; a file that cannot
    # be read further (a JSON array cut short) stops the import: the batches before it are stored.
    rows = [dict(zip(HEADER, order_row(f"SO-{i}"), strict=True)) for i in range(12_000)]
    text = json.dumps(rows, ensure_ascii=False)
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) - 2000], encoding="utf-8")
    result = orderbot(tmp_path, "import", str(path))
    assert result.returncode == 2, result.stderr
    assert "the import stopped part-way" in result.stderr and "Traceback" not in result.stderr
    assert "every row through row 10000 is stored (10000 inserted" in result.stderr
    again = orderbot(tmp_path, "import", str(path))  # the same file again: nothing stored twice
    assert again.returncode == 2
    assert "every row through row 10000 is stored (0 inserted, 0 updated, 0 quarantined)" in again.stderr


def test_users_add_and_link(tmp_path):
    added = orderbot(
        tmp_path, "users", "add", "wang", "--role", "warehouse", "--password-stdin", stdin="a long password\n"
    )
    assert added.returncode == 0, added.stderr
    again = orderbot(
        tmp_path, "users", "add", "wang", "--role", "warehouse", "--password-stdin", stdin="x" * 9
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    short = orderbot(tmp_path, "users", "add", "li", "--role", "finance", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "8 characters" in short.stderr
    linked = orderbot(tmp_path, "users", "link", "wang", "--platform", "slack", "--id", "U123")
    assert linked.returncode == 0, linked.stderr
    missing = orderbot(tmp_path, "users", "link", "nobody", "--platform", "slack", "--id", "U9")
    assert missing.returncode == 2 and "No user nobody" in missing.stderr
