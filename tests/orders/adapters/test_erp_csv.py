import pytest

from orders.adapters.erp_csv import UnreadableFile, open_csv
from tests.orders.conftest import HEADER, order_row, write_csv


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(tmp_path, encoding):
    path = write_csv(tmp_path / "e.csv", HEADER, [order_row(name="张三丰")], encoding)
    with open_csv(path) as export:
        assert export.header[0] == "order_id"  # no BOM left on the first header
        rows = list(export.rows)
    assert rows == [(2, order_row(name="张三丰"))]


def test_progress_follows_the_bytes_read(tmp_path):
    path = write_csv(tmp_path / "p.csv", HEADER, [order_row(f"SO-{i}") for i in range(3000)])
    seen = []
    with open_csv(path, on_bytes=seen.append) as export:
        assert sum(1 for _ in export.rows) == 3000
    assert sum(seen) == path.stat().st_size


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFile, match="empty"), open_csv(path):
        pass


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(UnreadableFile, match="does not exist"), open_csv(tmp_path / "nope.csv"):
        pass


def test_binary_garbage_is_refused(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(128, 256)) * 10)
    with pytest.raises(UnreadableFile, match="neither UTF-8 nor GBK"), open_csv(path):
        pass


def test_blank_lines_are_skipped_and_line_numbers_kept(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text(",".join(HEADER) + "\n\n" + ",".join(order_row()) + "\n", encoding="utf-8")
    with open_csv(path) as export:
        assert [line for line, _ in export.rows] == [3]
