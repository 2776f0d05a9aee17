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


def read(path):
    with open_csv(path) as export:
        return [(line, list(cells), getattr(cells, "reason", None)) for line, cells in export.rows]


def test_a_quote_open_to_the_end_of_the_file_loses_only_its_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('a,b,c\n1,2,3\n4,5,"6\n7,8,9\n10,11,12\n', encoding="utf-8")
    assert read(path) == [
        (2, ["1", "2", "3"], None),
        (3, ["4", "5", "6\n"], "a quoted field begins on line 3 and is never closed (unbalanced quotes)"),
        (4, ["7", "8", "9"], None),
        (5, ["10", "11", "12"], None),
    ]


def test_a_quoted_line_break_that_closes_is_one_row(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('a,b,c\n1,"two\nlines",3\n4,5,6\n', encoding="utf-8")
    assert read(path) == [(2, ["1", "two\nlines", "3"], None), (4, ["4", "5", "6"], None)]


def test_an_open_quote_past_the_field_size_limit_does_not_stop_the_file(tmp_path):
    # Each line is short, but the open quote makes one field of the rest of the file: over csv's limit.
    path = tmp_path / "big.csv"
    body = "".join(f"{i},x{i},{'y' * 100}\n" for i in range(3000))
    path.write_text(f'a,b,c\nfirst,"open,1\n{body}', encoding="utf-8")
    rows = read(path)
    assert rows[0][0] == 2 and rows[0][2].startswith("a quoted field begins on line 2")
    assert [line for line, _, _ in rows[1:]] == list(range(3, 3003))  # every other line read as a row
    assert all(reason is None for _, _, reason in rows[1:])


def test_a_few_damaged_bytes_in_the_first_lines_quarantine_those_lines(tmp_path):
    rows = [order_row("SO-1"), order_row("SO-2", name="李四")] + [order_row(f"SO-{i}") for i in range(3, 20)]
    path = write_csv(tmp_path / "d.csv", HEADER, rows)
    path.write_bytes(path.read_bytes().replace("李四".encode(), b"\xe6\x9d"))  # a character cut in two
    first, second, *rest = read(path)
    assert first == (2, order_row("SO-1"), None)  # UTF-8 still, not GB18030's reading of the whole file
    assert second[0] == 3 and second[2] == "line 3 is not valid utf-8 text"
    assert [cells for _, cells, _ in rest] == rows[2:]
