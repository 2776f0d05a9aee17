from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from orders.domain.erp_record import (
    InvalidRecord,
    UnknownColumns,
    clean_record,
    normalise_email,
    normalise_phone,
    parse_amount,
    parse_datetime,
    resolve_header,
)
from orders.domain.model import OrderStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1280", "1280.00"),
        ("1,234.5", "1234.50"),
        ("¥99.999", "100.00"),
        ("12.345 元", "12.35"),
        ("0", "0.00"),
    ],
)
def test_amounts_become_decimals_with_two_places(text, expected):
    assert parse_amount(text) == Decimal(expected)
    assert str(parse_amount(text)) == expected


@pytest.mark.parametrize("text", ["abc", "-5", "NaN", "Infinity", "1e20", ""])
def test_bad_amounts_are_refused_with_the_value(text):
    with pytest.raises(InvalidRecord, match="amount"):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20 10:30:00",
        "2026/11/20 10:30",
        "2026-11-20T10:30:00+08:00",
        "2026年11月20日 10:30",
        "2026/11/20 10:30:00",
    ],
)
def test_common_date_formats_mean_the_same_instant(text):
    assert parse_datetime(text, SHANGHAI) == datetime(2026, 11, 20, 2, 30, tzinfo=timezone.utc)


def test_a_date_without_time_is_midnight_in_the_default_zone():
    parsed = parse_datetime("2026-1-5", SHANGHAI)
    assert parsed.date() == date(2026, 1, 5)
    assert parsed.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "20/11/2026", "2026-02-30"])
def test_bad_dates_are_refused(text):
    with pytest.raises(InvalidRecord, match="date"):
        parse_datetime(text, SHANGHAI)


def test_phone_and_email_are_normalised():
    assert normalise_phone("+86 138-0013 8000") == "+8613800138000"
    assert normalise_phone("(021) 6123.4567") == "02161234567"
    assert normalise_email("  Zhang.Wei@Example.CN ") == "zhang.wei@example.cn"
    with pytest.raises(InvalidRecord, match="phone"):
        normalise_phone("call me")
    with pytest.raises(InvalidRecord, match="email"):
        normalise_email("not-an-address")


def test_chinese_headers_resolve_to_our_fields():
    columns = resolve_header(["订单号", "客户编号", "客户名称", "金额", "下单时间", "\ufeff备注"])
    assert columns == {"order_id": 0, "customer_id": 1, "customer_name": 2, "amount": 3, "created_at": 4}


def test_a_missing_required_column_is_named():
    with pytest.raises(UnknownColumns, match="amount"):
        resolve_header(["order_id", "customer_id", "customer_name", "created_at"])


def test_clean_record_keeps_the_fields_we_use():
    columns = resolve_header(
        ["order_id", "customer_id", "customer_name", "amount", "created_at", "status", "paid_at"]
    )
    record = clean_record(
        [" so-1001 ", "C-1", "李娜", "5,600", "2026-11-03 14:05", "Shipped", "2026-11-04"], columns, SHANGHAI
    )
    assert record.order_id == "SO-1001"
    assert record.amount == Decimal("5600.00")
    assert record.status is OrderStatus.SHIPPED
    assert record.updated_at == record.created_at  # no update time: created is the last change
    assert record.paid_at == datetime(2026, 11, 4, tzinfo=SHANGHAI)
    assert record.currency == "CNY"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["", "C-1", "n", "1", "2026-11-03"], "order_id is empty"),
        (["SO-1", "C-1", "n", "x", "2026-11-03"], "amount"),
        (["SO-1", "C-1", "n", "1", "someday"], "date"),
        (["SO 1/2", "C-1", "n", "1", "2026-11-03"], "order number"),
        (["SO-1", "C-1", "n", "1"], "created_at is empty"),  # a truncated row
    ],
)
def test_invalid_rows_say_why(cells, reason):
    columns = resolve_header(["order_id", "customer_id", "customer_name", "amount", "created_at"])
    with pytest.raises(InvalidRecord, match=reason):
        clean_record(cells, columns, SHANGHAI)


def test_an_unknown_status_is_refused():
    columns = resolve_header(["order_id", "customer_id", "customer_name", "amount", "created_at", "status"])
    with pytest.raises(InvalidRecord, match="status"):
        clean_record(["SO-1", "C-1", "n", "1", "2026-11-03", "lost"], columns, SHANGHAI)
