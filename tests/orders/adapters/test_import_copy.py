"""The import's COPY on PostgreSQL: its text format, and that it stores what an INSERT stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.orm import Session

from orders.adapters import database
from orders.adapters.orm import orders
from orders.adapters.repositories import SqlAlchemyOrderRepository
from orders.adapters.repositories.import_rows import (
    IMPORTED_COLUMNS,
    CopyText,
    ImportedRows,
    copy_field,
    copy_lines,
)
from orders.domain.erp_record import OrderRecord
from orders.domain.model import OrderStatus
from tests.orders.conftest import SHANGHAI, postgres_database

WRITTEN = datetime(2026, 11, 4, 1, 0, 0, 654321, tzinfo=timezone.utc)
SOURCE_UPDATED = IMPORTED_COLUMNS.index("source_updated_at")

# Text that COPY's format must carry through: its delimiter, row end and escape characters, its NULL
# marker and end-of-data marker as data, quotes, and characters outside the Basic Multilingual Plane.
TRICKY_TEXT = [
    "back\\slash",
    "ends with a backslash\\",
    "tab\there",
    "new\nline",
    "carriage\rreturn\r\n",
    "\\N",
    "\\.",
    ".",
    "a\\tb is not a tab",
    "NULL",
    "quotes \"double\" and 'single', comma, semicolon;",
    "李娜 客户",
    "emoji 🎉👍🏽 and 𠀋",
    "\\\t\n\r all \\\\ at once",
]


def _record(n: int, name: str, **changes) -> OrderRecord:
    fields = {
        "order_id": f"SO-{n:04d}",
        "customer_id": f"C-{n}",
        "customer_name": name,
        "amount": Decimal("1234.50") + n,
        "currency": "CNY",
        "created_at": datetime(2026, 11, 3, 8, 5, 9, n, tzinfo=SHANGHAI),
        "updated_at": datetime(2026, 11, 3, 23, 59, 59, tzinfo=SHANGHAI) + timedelta(minutes=n),
        "email": f"c{n}@example.com",
        "phone": None,
        "paid_at": None,
        "due_date": None,
        "status": None,
    }
    return OrderRecord(**(fields | changes))


def _records() -> list[OrderRecord]:
    records = [_record(n, name) for n, name in enumerate(TRICKY_TEXT)]
    records += [
        _record(
            100,
            "paid, with every optional field",
            phone="+8613800000000",
            paid_at=datetime(2026, 11, 5, 12, 30, 0, 5, tzinfo=SHANGHAI),
            due_date=date(2026, 12, 31),
            status=OrderStatus.CONFIRMED,
            amount=Decimal("-0.01"),
        ),
        _record(101, "an empty e-mail is not a missing one", email=""),
        _record(102, "large amount, early date", amount=Decimal("99999999999.99"), due_date=date(1, 1, 1)),
        _record(103, "the email itself\tescaped", email="odd\\mail@example.com"),
    ]
    return records


def _core_values(record: OrderRecord) -> dict:
    """The order as SQLAlchemy's own insert takes it: the reference for what an import must store."""
    return {
        "order_id": record.order_id,
        "customer_id": record.customer_id,
        "customer_name": record.customer_name,
        "email": record.email,
        "phone": record.phone,
        "amount": record.amount,
        "currency": record.currency,
        "status": record.status or OrderStatus.PENDING_CONFIRMATION,
        "payment_status": "paid" if record.paid_at else "unpaid",
        "created_at": record.created_at,
        "updated_at": record.updated_at,  # the ERP's last change, not the import's time
        "paid_at": record.paid_at,
        "due_date": record.due_date,
        "source_updated_at": record.updated_at,
        "match_key": record.match_key,
        "version": 1,
    }


def _stored(engine: Engine) -> dict[str, tuple]:
    """Every stored order, every column, as the types read them (aware times, Decimal amounts)."""
    return {row.order_id: tuple(row) for row in _stored_orders(engine)}


def _stored_orders(engine: Engine) -> list:
    with engine.connect() as connection:
        return list(connection.execute(select(orders)))


def _stored_raw(engine: Engine) -> dict[str, tuple]:
    """Every stored order, every column, as the driver returns it (no type converts it)."""
    names = ", ".join(column.name for column in orders.columns)
    with engine.connect() as connection:
        return {row[0]: tuple(row) for row in connection.execute(text(f"SELECT {names} FROM orders"))}


def _import(engine: Engine, records: list[OrderRecord]) -> None:
    with Session(engine) as session:
        SqlAlchemyOrderRepository(session).insert_imported(ImportedRows(engine.dialect)(records))
        session.commit()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    databases = postgres_database()
    url = next(databases)  # skips the test, saying why, when the server is unreachable
    database.upgrade(url)
    engine = database.make_engine(url)
    yield engine
    engine.dispose()
    next(databases, None)  # drops the database


# --- the text format -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (None, "\\N"),
        ("plain 李娜 🎉", "plain 李娜 🎉"),
        ("back\\slash", "back\\\\slash"),
        ("tab\tnew\nline\rreturn", "tab\\tnew\\nline\\rreturn"),
        ("\\N", "\\\\N"),
        ("", ""),
        ("vertical\x0btab", "vertical\x0btab"),  # no escape in COPY's text: read as it is
        (-123456789012, "-123456789012"),
        (datetime(2026, 11, 3, 0, 5, 9, 120), "2026-11-03 00:05:09.000120"),
        (datetime(2026, 11, 3, 0, 5, 9), "2026-11-03 00:05:09"),
        (date(2026, 12, 31), "2026-12-31"),
    ],
)
def test_each_driver_value_has_its_copy_text(value, encoded):
    assert copy_field(value) == encoded


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 11, 3, tzinfo=timezone.utc), 1.5, True, Decimal("1.50"), b"bytes", "N\x00L"],
    ids=["aware datetime", "float", "bool", "Decimal", "bytes", "NUL"],
)
def test_values_copy_could_misread_are_refused(value):
    with pytest.raises((TypeError, ValueError)):
        copy_field(value)


def test_rows_become_one_line_each_with_a_tab_between_columns():
    rows = [("a\tb", None, 7), ("c\nd", "\\", 0)]
    assert copy_lines(rows) == "a\\tb\t\\N\t7\nc\\nd\t\\\\\t0\n"
    # the inline text case and copy_field agree
    assert copy_lines(rows) == "".join("\t".join(map(copy_field, row)) + "\n" for row in rows)


def test_copy_text_is_read_a_slice_of_rows_at_a_time(monkeypatch):
    monkeypatch.setattr(CopyText, "ROWS_PER_READ", 2)
    source = CopyText([(str(n),) for n in range(5)])
    reads = iter(lambda: source.read(8192), "")
    assert list(reads) == ["0\n1\n", "2\n3\n", "4\n"]
    assert source.read(8192) == ""


# --- what is stored ------------------------------------------------------------------------------


def test_an_import_stores_what_sqlalchemys_insert_stores(engine):
    """Both databases; on PostgreSQL through COPY. Compared as stored (raw) and as read (typed)."""
    records = _records()
    with engine.begin() as connection:
        connection.execute(insert(orders), [_core_values(r) for r in records])
    inserted_raw, inserted = _stored_raw(engine), _stored(engine)
    with engine.begin() as connection:
        connection.execute(delete(orders))

    _import(engine, records)

    assert _stored_raw(engine) == inserted_raw
    assert _stored(engine) == inserted
    stored = {r.order_id: r for r in _stored_orders(engine)}
    for record in records:
        assert stored[record.order_id].customer_name == record.customer_name
        assert stored[record.order_id].email == record.email
        assert stored[record.order_id].created_at == record.created_at
        assert stored[record.order_id].amount == record.amount


@pytest.mark.postgres
def test_postgresql_stores_every_column_as_sqlite_does(postgres_engine, sqlite_engine):
    records = _records()
    for engine in (postgres_engine, sqlite_engine):
        _import(engine, records)
    assert _stored(postgres_engine) == _stored(sqlite_engine)
    assert len(_stored(postgres_engine)) == len(records)


@pytest.mark.postgres
def test_copy_streams_more_rows_than_one_read_holds(postgres_engine, monkeypatch):
    monkeypatch.setattr(CopyText, "ROWS_PER_READ", 7)
    records = [_record(n, f"客户 {n}\t#{n}") for n in range(50)]
    _import(postgres_engine, records)
    stored = _stored(postgres_engine)
    assert sorted(stored) == sorted(r.order_id for r in records)
    assert stored["SO-0049"][2] == "客户 49\t#49"


def test_stored_versions_compare_equal_with_the_rows_of_the_same_times(engine):
    """An unchanged order must read as unchanged: what source_versions returns for a stored order
    equals what ImportedRows makes of the same record, to the microsecond and with none."""
    on_the_second = _record(1, "x", updated_at=datetime(2026, 11, 3, 8, 0, 0, tzinfo=SHANGHAI))
    with_micros = _record(2, "y", updated_at=datetime(2026, 11, 3, 8, 0, 0, 1, tzinfo=SHANGHAI))
    _import(engine, [on_the_second, with_micros])
    rows = ImportedRows(engine.dialect)([on_the_second, with_micros])
    with Session(engine) as session:
        versions = SqlAlchemyOrderRepository(session).source_versions(["SO-0001", "SO-0002", "SO-9999"])
    assert sorted(versions) == ["SO-0001", "SO-0002"]
    assert versions["SO-0001"] == (rows[0][SOURCE_UPDATED], on_the_second.match_key)
    assert versions["SO-0002"] == (rows[1][SOURCE_UPDATED], with_micros.match_key)
    assert versions["SO-0001"][0] < versions["SO-0002"][0]  # they order as the times


def test_updates_in_two_batches_of_one_transaction_apply_each_once(engine):
    """On PostgreSQL each batch goes through a temporary table: the second must not re-apply the first,
    and the table must be there again in the next transaction."""
    records = _records()
    _import(engine, records)
    first, second = records[:5], records[5:]

    def changed(record: OrderRecord, name: str) -> OrderRecord:
        return _record(
            int(record.order_id[3:]),
            name,
            amount=record.amount + 1,
            updated_at=record.updated_at + timedelta(days=1),
            paid_at=datetime(2026, 11, 6, 9, 0, 0, 7, tzinfo=SHANGHAI),
            due_date=date(2027, 1, 1),
            email=None,
            status=OrderStatus.CANCELLED,  # never applied: an import does not change the workflow state
        )

    with Session(engine) as session:
        repository = SqlAlchemyOrderRepository(session)
        make_rows = ImportedRows(engine.dialect)
        repository.update_imported(make_rows([changed(r, f"first {r.customer_name}") for r in first]))
        repository.update_imported(make_rows([changed(r, f"second {r.customer_name}") for r in second]))
        session.commit()
    with Session(engine) as session:  # a new transaction: the temporary table is made again
        SqlAlchemyOrderRepository(session).update_imported(
            ImportedRows(engine.dialect)([changed(records[0], "third")])
        )
        session.commit()

    stored = {row.order_id: row for row in _stored_orders(engine)}
    expected_names = {r.order_id: f"first {r.customer_name}" for r in first[1:]}
    expected_names |= {r.order_id: f"second {r.customer_name}" for r in second}
    expected_names[records[0].order_id] = "third"
    for record in records:
        row = stored[record.order_id]
        assert row.customer_name == expected_names[record.order_id]
        assert row.version == (3 if record is records[0] else 2)
        assert (row.amount, row.email, row.due_date) == (record.amount + 1, None, date(2027, 1, 1))
        assert row.paid_at == datetime(2026, 11, 6, 1, 0, 0, 7, tzinfo=timezone.utc)
        assert row.payment_status == "paid"
        assert row.status == (record.status or OrderStatus.PENDING_CONFIRMATION)
        assert row.source_updated_at == record.updated_at + timedelta(days=1)
        # changed last by the ERP's update: the order's update time is the ERP's
        assert (row.updated_at, row.created_at) == (record.updated_at + timedelta(days=1), record.created_at)
