from decimal import Decimal

import pytest
from sqlalchemy import func, select

from orders.adapters.carriers_file import load_carriers
from orders.adapters.orm import audit_log, imports, invoices, orders, outbox
from orders.config import PROJECT_ROOT
from orders.domain.access import Actor, Role, Source
from orders.domain.erp_record import UnknownColumns
from orders.domain.model import Action, OrderStatus, PaymentStatus
from orders.service_layer import services
from orders.service_layer.setup import import_from, prepare_database
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import HEADER, SHANGHAI, order_row, write_csv


def stored(engine, order_id):
    with SqlAlchemyUnitOfWork(engine) as uow:
        order = uow.orders.get(order_id)
        uow.session.expunge(order)  # keep its loaded state readable after the transaction
        return order


def count_orders(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(orders)).scalar_one()


def test_import_inserts_new_orders(engine, tmp_path):
    path = write_csv(tmp_path / "a.csv", HEADER, [order_row("SO-2001", "1,280.5"), order_row("SO-2002")])
    report = import_from(engine, path, SHANGHAI)
    assert (report.rows, report.inserted, report.updated, report.unchanged, report.quarantined) == (
        2,
        2,
        0,
        0,
        0,
    )
    order = stored(engine, "SO-2001")
    assert order.amount == Decimal("1280.50")
    assert order.status is OrderStatus.PENDING_CONFIRMATION
    assert order.payment_status is PaymentStatus.UNPAID
    assert order.customer_name == "张三"
    assert order.created_at.utcoffset() is not None


def test_importing_the_same_file_twice_changes_nothing(engine, tmp_path):
    path = write_csv(tmp_path / "a.csv", HEADER, [order_row("SO-2001"), order_row("SO-2002")])
    import_from(engine, path, SHANGHAI)
    before = stored(engine, "SO-2001")
    report = import_from(engine, path, SHANGHAI)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 2)
    after = stored(engine, "SO-2001")
    assert (after.version, after.updated_at) == (before.version, before.updated_at)


def test_a_newer_export_updates_the_order_but_never_its_workflow_state(engine, tmp_path):
    first = write_csv(tmp_path / "a.csv", HEADER + ["status"], [order_row("SO-2001") + ["confirmed"]])
    import_from(engine, first, SHANGHAI)
    newer = write_csv(
        tmp_path / "b.csv",
        HEADER + ["status"],
        [order_row("SO-2001", amount="99.90", updated="2026-11-21 08:00:00") + ["cancelled"]],
    )
    report = import_from(engine, newer, SHANGHAI)
    assert report.updated == 1
    order = stored(engine, "SO-2001")
    assert order.amount == Decimal("99.90")
    assert order.status is OrderStatus.CONFIRMED
    assert order.version == 2


def test_an_older_export_does_not_overwrite_a_newer_one(engine, tmp_path):
    import_from(
        engine, write_csv(tmp_path / "new.csv", HEADER, [order_row(updated="2026-11-22 10:00")]), SHANGHAI
    )
    old = write_csv(tmp_path / "old.csv", HEADER, [order_row(amount="1.00", updated="2026-11-20 10:00")])
    report = import_from(engine, old, SHANGHAI)
    assert (report.updated, report.unchanged) == (0, 1)
    assert stored(engine, "SO-2001").amount == Decimal("100.00")


def test_duplicate_rows_in_one_file_keep_the_latest(engine, tmp_path):
    rows = [
        order_row("SO-2001", amount="1.00", updated="2026-11-20 10:00"),
        order_row("SO-2001", amount="3.00", updated="2026-11-22 10:00"),
        order_row("SO-2001", amount="2.00", updated="2026-11-21 10:00"),
    ]
    report = import_from(engine, write_csv(tmp_path / "d.csv", HEADER, rows), SHANGHAI, batch_size=2)
    assert stored(engine, "SO-2001").amount == Decimal("3.00")
    assert report.rows == 3 and report.inserted == 1 and report.quarantined == 0
    assert report.inserted + report.updated + report.unchanged == 3


def test_invalid_rows_are_counted_with_their_line_and_reason(engine, tmp_path):
    rows = [order_row("SO-2001"), order_row("SO-2002", amount="lots"), order_row("SO-2003")[:4]]
    report = import_from(engine, write_csv(tmp_path / "bad.csv", HEADER, rows), SHANGHAI)
    assert (report.inserted, report.quarantined) == (1, 2)
    assert [(p.row, p.reason.split(" ")[0]) for p in report.problems] == [(3, "amount"), (4, "row")]
    assert count_orders(engine) == 1


def test_a_file_without_a_required_column_imports_nothing(engine, tmp_path):
    path = write_csv(tmp_path / "h.csv", ["order_id", "customer_name"], [["SO-1", "x"]])
    with pytest.raises(UnknownColumns):
        import_from(engine, path, SHANGHAI)
    assert count_orders(engine) == 0


def test_batches_are_committed_one_by_one(engine, tmp_path):
    rows = [order_row(f"SO-{3000 + i}") for i in range(25)]
    reports = []
    import_from(
        engine,
        write_csv(tmp_path / "m.csv", HEADER, rows),
        SHANGHAI,
        batch_size=10,
        on_batch=lambda r: reports.append((r.rows, count_orders(engine))),
    )
    assert reports == [(10, 10), (20, 20), (25, 25)]


def test_the_sample_is_loaded_on_first_start_only(database_url, tmp_path):
    from orders.adapters.database import make_engine
    from orders.config import PROJECT_ROOT

    engine = make_engine(database_url)
    sample = PROJECT_ROOT / "data" / "samples" / "erp_orders.csv"
    first = prepare_database(database_url, engine, sample, SHANGHAI)
    assert first.inserted == 20 and first.quarantined == 0
    assert prepare_database(database_url, engine, sample, SHANGHAI) is None
    assert count_orders(engine) == 20
    engine.dispose()


def quarantined_rows(engine):
    from orders.adapters.orm import import_quarantine

    with engine.connect() as connection:
        return connection.execute(select(import_quarantine).order_by(import_quarantine.c.id)).mappings().all()


def test_invalid_rows_are_quarantined_with_source_row_and_reason(engine, tmp_path):
    rows = [
        order_row("SO-2001"),
        order_row("SO-2002", amount="lots"),
        order_row("SO-2003", updated="someday"),
    ]
    report = import_from(engine, write_csv(tmp_path / "q.csv", HEADER, rows), SHANGHAI)
    kept = quarantined_rows(engine)
    assert [(q["row_number"], q["reason"].split(" ")[0]) for q in kept] == [(3, "amount"), (4, "date")]
    assert kept[0]["raw"]["order_id"] == "SO-2002" and kept[0]["raw"]["amount"] == "lots"
    assert kept[0]["source"].endswith("q.csv") and kept[0]["import_id"] == report.import_id


def test_an_order_number_of_another_customer_is_quarantined_not_merged(engine, tmp_path):
    import_from(engine, write_csv(tmp_path / "a.csv", HEADER, [order_row("SO-2001")]), SHANGHAI)
    other = order_row("SO-2001", updated="2026-11-25 10:00")
    other[1] = "C-999"
    report = import_from(engine, write_csv(tmp_path / "b.csv", HEADER, [other]), SHANGHAI)
    assert (report.updated, report.quarantined) == (0, 1)
    assert "another customer" in report.problems[0].reason
    assert stored(engine, "SO-2001").customer_id == "C-100"


def test_gbk_export_with_chinese_headers(engine, tmp_path):
    header = ["订单号", "客户编号", "客户名称", "金额", "下单时间", "手机"]
    path = write_csv(
        tmp_path / "gbk.csv",
        header,
        [["SO-2001", "C-1", "王五", "￥1,234.5", "2026年11月20日 10:30", "138 0000 0000"]],
        "gbk",
    )
    report = import_from(engine, path, SHANGHAI)
    assert report.inserted == 1
    order = stored(engine, "SO-2001")
    assert (order.customer_name, order.amount, order.phone) == ("王五", Decimal("1234.50"), "13800000000")


def test_a_truncated_file_imports_its_whole_rows_and_quarantines_the_cut_one(engine, tmp_path):
    path = write_csv(tmp_path / "t.csv", HEADER, [order_row("SO-2001"), order_row("SO-2002")])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])
    report = import_from(engine, path, SHANGHAI)
    assert (report.inserted, report.quarantined) == (1, 1)


def test_json_jsonl_and_xlsx_sources(engine, tmp_path):
    import json

    from openpyxl import Workbook

    record = dict(zip(HEADER, order_row("SO-3001"), strict=True))
    (tmp_path / "a.json").write_text(json.dumps({"orders": [record]}), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(
        json.dumps({**record, "order_id": "SO-3002"}) + "\n\n", encoding="utf-8"
    )
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(order_row("SO-3003", amount="12.5"))
    book.save(tmp_path / "c.xlsx")
    for name in ("a.json", "b.jsonl", "c.xlsx"):
        assert import_from(engine, tmp_path / name, SHANGHAI).inserted == 1, name
    assert stored(engine, "SO-3003").amount == Decimal("12.50")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", b'[{"order_id": ', "not valid JSON"),
        ("bad.xlsx", b"PK not a workbook", "not a readable XLSX"),
        ("empty.json", b"", "empty"),
        ("none.json", b"[]", "holds no orders"),
    ],
)
def test_unreadable_files_are_refused_clearly(engine, tmp_path, name, content, message):
    from orders.adapters.erp_csv import UnreadableFile

    (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableFile, match=message):
        import_from(engine, tmp_path / name, SHANGHAI)
    assert count_orders(engine) == 0


def test_a_mapping_names_the_columns_of_another_erp(engine, tmp_path):
    header = ["单号", "cust", "name", "total", "date"]
    path = write_csv(tmp_path / "m.csv", header, [["SO-4001", "C-1", "n", "5", "2026-11-01"]])
    with pytest.raises(UnknownColumns):
        import_from(engine, path, SHANGHAI)
    mapping = {
        "order_id": "单号",
        "customer_id": "cust",
        "customer_name": ["name"],
        "amount": "total",
        "created_at": "date",
    }
    assert import_from(engine, path, SHANGHAI, mapping=mapping).inserted == 1


class ErpApi:
    """A paginated ERP API on a loopback port, failing the first request of page 2 to exercise retries."""

    def __init__(self, orders: list[dict]) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlparse

        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                page, size = int(query["page"][0]), int(query["page_size"][0])
                api.requests.append(f"{page}/{size}")
                if page == 2 and api.requests.count("2/2") == 1:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps({"data": orders[(page - 1) * size : page * size]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/orders"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_the_paginated_http_erp_source(engine):
    api_orders = [
        {
            "orderNo": f"SO-{5000 + i}",
            "customerId": "C-1",
            "customerName": "n",
            "total": "1.00",
            "createdAt": "2026-11-01T10:00:00+08:00",
        }
        for i in range(5)
    ]
    api = ErpApi(api_orders)
    sources = {
        "erp": {
            "type": "http",
            "url": api.url,
            "items": "data",
            "page_size": 2,
            "backoff": 0.01,
            "mapping": {
                "order_id": "orderNo",
                "customer_id": "customerId",
                "customer_name": "customerName",
                "amount": "total",
                "created_at": "createdAt",
            },
        }
    }
    try:
        report = import_from(engine, "erp", SHANGHAI, sources=sources)
    finally:
        api.close()
    assert report.inserted == 5
    assert api.requests == ["1/2", "2/2", "2/2", "3/2"]  # page 2 retried after the 503


def test_the_sql_source(engine, tmp_path):
    from sqlalchemy import create_engine, text

    legacy = tmp_path / "legacy.db"
    with create_engine(f"sqlite:///{legacy}").begin() as connection:
        connection.execute(text("CREATE TABLE erp (no TEXT, cust TEXT, nm TEXT, amt NUMERIC, ts TEXT)"))
        connection.execute(
            text("INSERT INTO erp VALUES ('SO-6001', 'C-1', '李四', 99.9, '2026-11-02 08:00')")
        )
    sources = {
        "legacy": {
            "type": "sql",
            "url": f"sqlite:///{legacy}",
            "query": "SELECT no AS order_id, cust AS customer_id, nm AS customer_name, amt AS amount,"
            " ts AS created_at FROM erp",
        }
    }
    assert import_from(engine, "legacy", SHANGHAI, sources=sources).inserted == 1
    assert stored(engine, "SO-6001").customer_name == "李四"


def test_an_unknown_source_is_named(engine):
    from orders.adapters.erp_sources import UnknownSource

    with pytest.raises(UnknownSource, match="neither a file nor a configured source"):
        import_from(engine, "nowhere", SHANGHAI, sources={})


# --- reading and cleaning in a child process, writing in this one ---------------------------------

IN_CHILD = pytest.mark.parametrize("in_child", [False, True], ids=["in-process", "child-process"])


@IN_CHILD
def test_both_ways_store_the_same_orders_and_report(engine, tmp_path, in_child):
    rows = [order_row(f"SO-{5000 + i}", amount=f"{i}.5") for i in range(23)]
    rows[4] = order_row("SO-5004", amount="lots")
    rows.append(order_row("SO-5001", amount="7.00", updated="2026-11-30 10:00"))  # a later duplicate
    path = write_csv(tmp_path / "c.csv", HEADER, rows)
    report = import_from(engine, path, SHANGHAI, batch_size=5, clean_in_child=in_child)
    assert (report.rows, report.inserted, report.quarantined) == (24, 22, 1)
    assert [(p.row, p.reason.split(" ")[0]) for p in report.problems] == [(6, "amount")]
    assert stored(engine, "SO-5001").amount == Decimal("7.00")
    assert stored(engine, "SO-5022").created_at.utcoffset() is not None
    again = import_from(engine, path, SHANGHAI, batch_size=5, clean_in_child=in_child)
    assert (again.inserted, again.updated, again.unchanged, again.quarantined) == (0, 0, 23, 1)


@IN_CHILD
def test_updates_and_conflicts_are_decided_the_same_way(engine, tmp_path, in_child):
    import_from(
        engine, write_csv(tmp_path / "a.csv", HEADER, [order_row("SO-1"), order_row("SO-2")]), SHANGHAI
    )
    other_customer = order_row("SO-2", updated="2026-11-25 10:00")
    other_customer[1] = "C-999"
    rows = [order_row("SO-1", amount="5.00", updated="2026-11-25 10:00"), other_customer]
    report = import_from(
        engine, write_csv(tmp_path / "b.csv", HEADER, rows), SHANGHAI, clean_in_child=in_child
    )
    assert (report.updated, report.quarantined) == (1, 1)
    assert "another customer" in report.problems[0].reason
    assert (stored(engine, "SO-1").amount, stored(engine, "SO-1").version) == (Decimal("5.00"), 2)
    assert quarantined_rows(engine)[-1]["raw"]["customer_id"] == "C-999"


@IN_CHILD
def test_progress_counts_the_whole_file_batch_by_batch(engine, tmp_path, in_child):
    # Past the reader's 1 MiB buffer, so the file is read in several pieces.
    rows = [order_row(f"SO-{100000 + i}") + ["x" * 80] for i in range(12_000)]
    path = write_csv(tmp_path / "p.csv", HEADER + ["remark"], rows)
    assert path.stat().st_size > 2 * 1024 * 1024
    seen = []
    report = import_from(
        engine, path, SHANGHAI, batch_size=3000, clean_in_child=in_child, on_bytes=seen.append
    )
    assert report.inserted == 12_000
    assert sum(seen) == path.stat().st_size
    assert len(seen) >= 2  # it moves during the import, not only at its end


@IN_CHILD
def test_undecodable_bytes_midway_quarantine_their_line_only(engine, tmp_path, in_child):
    # Past the 64 KiB the encoding is detected from: the bad bytes surface while rows are being read.
    path = write_csv(tmp_path / "b.csv", HEADER, [order_row(f"SO-{7000 + i}") for i in range(1200)])
    assert path.stat().st_size > 96 * 1024
    tail = write_csv(tmp_path / "tail.csv", HEADER, [order_row("SO-9001")]).read_bytes().split(b"\n", 1)[1]
    path.write_bytes(path.read_bytes() + b"SO-9,C-1,\xff\xfe\xfa bad bytes,1,2026-11-01\n" + tail)
    report = import_from(engine, path, SHANGHAI, batch_size=300, clean_in_child=in_child)
    assert (report.rows, report.inserted, report.quarantined) == (1202, 1201, 1)
    assert [(p.row, p.reason) for p in report.problems] == [(1202, "line 1202 is not valid utf-8 text")]
    [row] = quarantined_rows(engine)
    assert row["raw"]["customer_name"] == "\\udcff\\udcfe\\udcfa bad bytes"  # stored, escaped, to be seen
    assert count_orders(engine) == 1201


@IN_CHILD
def test_a_source_that_fails_midway_keeps_the_batches_before_and_says_where(engine, in_child):
    from orders.service_layer.importing import ImportStopped, import_orders

    def rows_then_a_lost_connection():
        for line in range(2, 1202):
            yield line, order_row(f"SO-{7000 + line}")
        raise ConnectionResetError("the ERP closed the connection")

    with pytest.raises(ImportStopped) as stopped:
        import_orders(
            SqlAlchemyUnitOfWork(engine),
            "erp",
            HEADER,
            rows_then_a_lost_connection(),
            SHANGHAI,
            batch_size=300,
            clean_in_child=in_child,
        )
    assert isinstance(stopped.value.__cause__, ConnectionResetError)
    assert count_orders(engine) == 1200  # every whole batch before the failure, nothing half-written
    report = stopped.value.report
    assert (report.stored_through_row, report.inserted) == (1201, 1200)
    assert "every row through row 1201 is stored (1200 inserted" in stopped.value.explanation()
    with SqlAlchemyUnitOfWork(engine) as uow:  # the import's own record says the same, for later readers
        [record] = uow.session.execute(select(imports.c.finished_at, imports.c.report)).all()
    assert record.finished_at is None
    assert record.report["stored_through_row"] == 1201
    assert record.report["stopped"] == "ConnectionResetError: the ERP closed the connection"


# --- orders that arrive confirmed or later come with their invoice (rule 5) ---------------------------


def invoices_by_order(engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {row.order_id: row._asdict() for row in connection.execute(select(invoices))}


def invoice_audit(engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_log).where(audit_log.c.action == "issue_invoice").order_by(audit_log.c.id)
        )
        return [row._asdict() for row in rows]


def with_states(*states: tuple[str, str]) -> list[list[str]]:
    return [order_row(order_id, amount="1,234.50") + [state] for order_id, state in states]


def test_an_order_imported_confirmed_or_later_comes_with_its_invoice_audited(engine, tmp_path):
    states = [
        ("SO-2001", "pending_confirmation"),
        ("SO-2002", "confirmed"),
        ("SO-2003", "awaiting_shipment"),
        ("SO-2004", "shipped"),
        ("SO-2005", "settled"),
        ("SO-2006", "cancelled"),
    ]
    path = write_csv(tmp_path / "a.csv", HEADER + ["status"], with_states(*states))
    import_from(engine, path, SHANGHAI, actor="erp-sync")

    issued = invoices_by_order(engine)
    assert sorted(issued) == ["SO-2002", "SO-2003", "SO-2004", "SO-2005"]
    for invoice in issued.values():
        assert invoice["number"] == f"INV-{invoice['issued_at'].year}-{invoice['id']:06d}"
        assert (invoice["customer_id"], invoice["customer_name"]) == ("C-100", "张三")
        assert (invoice["amount"], invoice["currency"]) == (Decimal("1234.50"), "CNY")
    audit = invoice_audit(engine)
    assert [(a["order_id"], a["to_value"], a["reason"]) for a in audit] == [
        (order_id, issued[order_id]["number"], f"imported as {state}") for order_id, state in states[1:5]
    ]
    assert {(a["actor"], a["actor_role"], a["source"]) for a in audit} == {
        ("erp-sync", "operations", "import")
    }
    assert audit[0]["details"]["invoice_number"] == issued["SO-2002"]["number"]
    assert audit[0]["details"]["amount"] == "1234.50"
    with engine.connect() as connection:  # an import announces nothing, its invoices included
        assert connection.execute(select(func.count()).select_from(outbox)).scalar_one() == 0

    # Imported again, newer: nothing is issued twice. Confirmed later, the pending one is numbered on.
    newer = [row[:7] + ["2026-11-21 08:00:00"] + row[8:] for row in with_states(*states)]
    report = import_from(engine, write_csv(tmp_path / "b.csv", HEADER + ["status"], newer), SHANGHAI)
    assert report.updated == 6 and invoices_by_order(engine) == issued
    confirmed = services.change_order(
        SqlAlchemyUnitOfWork(engine),
        "SO-2001",
        services.Change(Action.CONFIRM),
        Actor("olivia", Role.OPERATIONS, Source.REST),
        load_carriers(PROJECT_ROOT / "config" / "carriers.yml"),
    )
    assert confirmed.status is OrderStatus.CONFIRMED
    numbers = {invoice["number"] for invoice in invoices_by_order(engine).values()}
    assert len(numbers) == 5


def test_many_orders_imported_confirmed_get_one_distinct_invoice_each(engine, tmp_path):
    """More than one hand-over and more than one numbering statement, in batches of 700."""
    states = [(f"SO-{30000 + i}", "shipped" if i % 3 else "pending_confirmation") for i in range(1600)]
    path = write_csv(tmp_path / "many.csv", HEADER + ["status"], with_states(*states))
    report = import_from(engine, path, SHANGHAI, batch_size=700)
    assert report.inserted == 1600
    issued = invoices_by_order(engine)
    assert sorted(issued) == sorted(order_id for order_id, state in states if state == "shipped")
    assert len({invoice["number"] for invoice in issued.values()}) == len(issued)
    assert all(i["number"] == f"INV-{i['issued_at'].year}-{i['id']:06d}" for i in issued.values())
    assert sorted(a["order_id"] for a in invoice_audit(engine)) == sorted(issued)
