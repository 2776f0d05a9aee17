import json
import os
import subprocess
import sys

from tests.orders.conftest import HEADER, order_row, write_csv


def orderbot(tmp_path, *args):
    env = dict(os.environ, ORDERBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    return subprocess.run(
        [sys.executable, "-m", "orders", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_import_prints_a_report_and_a_progress_bar(tmp_path):
    path = write_csv(tmp_path / "in.csv", HEADER, [order_row("SO-1"), order_row("SO-2", amount="?")])
    result = orderbot(tmp_path, "import", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["inserted"], report["quarantined"]) == (1, 1)
    assert report["problems"][0]["row"] == 3
    assert "100%" in result.stderr


def test_import_of_an_unreadable_file_says_why(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = orderbot(tmp_path, "import", str(path))
    assert result.returncode == 2
    assert "empty" in result.stderr
    assert "Traceback" not in result.stderr
