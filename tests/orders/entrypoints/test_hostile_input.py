"""Issue 19's findings, each over a real HTTP server on SQLite and on the real PostgreSQL: hostile text,
half-written imports, settlements of days to come, and concurrent repeats of one Idempotency-Key."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from orders.adapters.orm import import_quarantine, orders
from tests.orders.conftest import HEADER, order_row, write_csv
from tests.orders.entrypoints.conftest import load, row


def stored_ids(engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(orders.c.order_id)).scalars())


def upload(api, path, name="export.csv"):
    with path.open("rb") as f:
        return api.as_("operations").post(f"{api.url}/api/v1/imports", files={"file": (name, f)}, timeout=120)


# --- text no database takes -----------------------------------------------------------------------------


def test_a_lone_surrogate_in_json_is_a_400_never_a_500(api):
    # "\ud800" is valid JSON text, but no UTF-8 encoder (the database driver's) can write what it means.
    for path, body in [
        ("/api/v1/auth/token", '{"username": "ops\\ud800", "password": "x"}'),
        ("/api/v1/auth/customer", '{"order_id": "SO-1\\udfff", "email": "a@example.cn"}'),
        ("/api/v1/orders/SO-1/transitions", '{"action": "cancel", "reason": "\\ud83d"}'),
    ]:
        response = api.as_("operations").post(
            f"{api.url}{path}", data=body, headers={"Content-Type": "application/json"}, timeout=5
        )
        assert response.status_code == 400, (path, response.text)
        assert "lone surrogate (U+D" in response.json()["error"]["message"]


def test_a_control_character_in_the_idempotency_key_is_a_400(api):
    response = api.as_("operations").post(
        f"{api.url}/api/v1/orders/SO-1/transitions",
        json={"action": "confirm"},
        headers={"Idempotency-Key": "key\x01one"},
        timeout=5,
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["message"]


# --- imports: every bad cell quarantined, every line accounted for ---------------------------------------


def test_a_nul_in_one_cell_quarantines_that_row_and_stores_the_rest(api, engine, tmp_path):
    # Finding 2: on PostgreSQL this answered 500 and left 10,000 of 25,000 rows stored.
    rows = [order_row(f"SO-{100000 + i}") for i in range(25_000)]
    rows[14_999][2] = "Zhang\x00San"  # line 15,001 of the file
    report = upload(api, write_csv(tmp_path / "nul.csv", HEADER, rows))
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["inserted"], body["quarantined"]) == (25_000, 24_999, 1)
    assert body["problems"] == [
        {"row": 15_001, "reason": "customer_name contains a control character (U+0000)"}
    ]
    assert body["stored_through_row"] == 25_001 and body["stopped"] is None
    assert len(stored_ids(engine)) == 24_999 + 3  # the api fixture's three orders
    with engine.connect() as connection:
        raw = connection.execute(select(import_quarantine.c.raw)).scalar_one()
    assert raw["customer_name"] == "Zhang\\x00San"  # kept to be seen, as an escape


def test_a_quote_that_never_closes_loses_only_its_own_line(api, engine, tmp_path):
    # Finding 5: the open quote swallowed the rows after it, and the report said 3 rows for 5.
    lines = [",".join(HEADER)] + [",".join(order_row(f"SO-{500 + i}")) for i in range(5)]
    lines[3] = lines[3].replace("张三", '"张三')  # row 3 (line 4) opens a quote and never closes it
    path = tmp_path / "quote.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    body = upload(api, path).json()
    assert (body["rows"], body["inserted"], body["quarantined"]) == (5, 4, 1)
    assert body["problems"] == [
        {"row": 4, "reason": "a quoted field begins on line 4 and is never closed (unbalanced quotes)"}
    ]
    assert {"SO-500", "SO-501", "SO-503", "SO-504"} <= stored_ids(engine)
    assert "SO-502" not in stored_ids(engine)


def test_undecodable_bytes_and_surrogates_in_cells_are_quarantined(api, engine, tmp_path):
    path = write_csv(tmp_path / "bytes.csv", HEADER, [order_row(f"SO-{600 + i}") for i in range(20)])
    path.write_bytes(path.read_bytes().replace("张三".encode(), b"\xff\xfe", 1))
    body = upload(api, path).json()
    assert (body["inserted"], body["quarantined"]) == (19, 1)
    assert body["problems"] == [{"row": 2, "reason": "line 2 is not valid utf-8 text"}]
    records = [dict(zip(HEADER, order_row("SO-699"), strict=True))]
    records[0]["customer_name"] = "\ud800"
    (tmp_path / "s.jsonl").write_text(
        json.dumps(records[0]) + "\n", encoding="utf-8"
    )  # "\\ud800": valid JSON
    body = upload(api, tmp_path / "s.jsonl", "s.jsonl").json()
    assert (body["inserted"], body["quarantined"]) == (0, 1)
    assert body["problems"][0]["reason"] == "customer_name contains a lone surrogate (U+D800)"


def test_a_file_unreadable_part_way_says_what_is_stored(api, engine, tmp_path):
    rows = [dict(zip(HEADER, order_row(f"SO-{200000 + i}"), strict=True)) for i in range(12_000)]
    text = json.dumps(rows, ensure_ascii=False)
    (tmp_path / "cut.json").write_text(text[: len(text) - 2000], encoding="utf-8")  # an array cut short
    answer = upload(api, tmp_path / "cut.json", "cut.json")
    assert answer.status_code == 422
    problem = answer.json()["error"]
    assert problem["code"] == "import_stopped"
    assert "every row through row 10000 is stored (10000 inserted" in problem["message"]
    assert problem["report"]["stored_through_row"] == 10_000 and problem["report"]["inserted"] == 10_000
    assert len(stored_ids(engine)) == 10_000 + 3


def test_a_file_name_with_a_control_character_is_a_400(api, tmp_path):
    response = upload(api, write_csv(tmp_path / "a.csv", HEADER, [order_row("SO-701")]), "a\x01.csv")
    assert response.status_code == 400 and "file name" in response.json()["error"]["message"]


# --- settlement of a day that has not ended --------------------------------------------------------------


def test_a_manual_settlement_of_a_day_that_has_not_ended_is_a_422(api, engine, tmp_path):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    load(engine, tmp_path, row("SO-801", "shipped", due=(today + timedelta(days=3)).isoformat()))
    finance = api.as_("finance")
    for day in (today + timedelta(days=10), today):
        refused = finance.post(f"{api.url}/api/v1/settlements", json={"date": day.isoformat()}, timeout=10)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "day_not_over"
        assert f"{day.isoformat()} has not ended yet" in refused.json()["error"]["message"]
    yesterday = finance.post(
        f"{api.url}/api/v1/settlements", json={"date": (today - timedelta(days=1)).isoformat()}, timeout=10
    )
    assert yesterday.status_code == 200 and "SO-801" not in yesterday.json()["settled"]
    with engine.connect() as connection:  # its due day has not come: nothing settled it
        status = connection.execute(select(orders.c.status).where(orders.c.order_id == "SO-801")).scalar_one()
    assert status == "shipped"
    # the warehouse still hears "not allowed" before anything about the day
    warehouse = api.as_("warehouse").post(
        f"{api.url}/api/v1/settlements", json={"date": (today + timedelta(days=10)).isoformat()}, timeout=10
    )
    assert warehouse.status_code == 403


# --- Idempotency-Key under concurrent repeats -------------------------------------------------------------


def test_concurrent_repeats_of_one_key_all_get_the_first_answer(api, engine):
    # Finding: on PostgreSQL 7 of 8 concurrent repeats answered 409 concurrent_update.
    key = uuid.uuid4().hex
    token = api.token()
    start = threading.Barrier(8)
    answers: list[requests.Response] = []

    def confirm() -> None:
        start.wait()
        answers.append(
            requests.post(
                f"{api.url}/api/v1/orders/SO-1/transitions",
                json={"action": "confirm"},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                timeout=60,
            )
        )

    threads = [threading.Thread(target=confirm) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1  # one answer, given eight times
    assert sorted(a.headers.get("Idempotent-Replayed", "false") for a in answers) == ["false"] + ["true"] * 7
    with engine.connect() as connection:
        version = connection.execute(select(orders.c.version).where(orders.c.order_id == "SO-1")).scalar_one()
        count = connection.execute(select(func.count()).select_from(orders)).scalar_one()
    assert version == 2 and count == 3  # confirmed once
