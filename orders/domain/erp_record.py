"""Cleaning one ERP row into the fields orderbot keeps.

ERP exports differ in headers (Chinese or English), number and date formats; this module turns a raw
row into an ``OrderRecord`` or raises ``InvalidRecord`` with a reason a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from orders.domain.model import OrderStatus

# Our field name -> header names seen in ERP exports (compared case-insensitively, trimmed).
DEFAULT_COLUMN_MAPPING: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id", "order no", "order number", "订单号", "订单编号"),
    "customer_id": ("customer_id", "customer no", "客户编号", "客户id"),
    "customer_name": ("customer_name", "customer", "客户名称", "客户"),
    "email": ("email", "e-mail", "邮箱", "电子邮箱"),
    "phone": ("phone", "mobile", "telephone", "电话", "手机", "手机号"),
    "amount": ("amount", "total", "金额", "订单金额"),
    "currency": ("currency", "币种"),
    "status": ("status", "state", "状态", "订单状态"),
    "created_at": ("created_at", "created", "order date", "创建时间", "下单时间"),
    "updated_at": ("updated_at", "updated", "last modified", "更新时间", "修改时间"),
    "paid_at": ("paid_at", "paid", "payment date", "付款时间", "支付时间"),
    "due_date": ("due_date", "due", "到期日", "账期到期日"),
}
REQUIRED_FIELDS = ("order_id", "customer_id", "customer_name", "amount", "created_at")

CENT = Decimal("0.01")
_AMOUNT_NOISE = re.compile(r"[\s,¥￥$€]|CNY|RMB|USD|元", re.IGNORECASE)
_ZH_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(.*)$")
_SHORT_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(.*)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_NOISE = re.compile(r"[\s\-().]")
_ORDER_ID = re.compile(r"^[A-Z0-9][A-Z0-9_\-]{0,63}$")


class InvalidRecord(ValueError):
    """A row that cannot become an order; the message says which field and why."""


class UnknownColumns(ValueError):
    """The file's header lacks a column orderbot needs."""


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: str
    customer_id: str
    customer_name: str
    amount: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    email: str | None
    phone: str | None
    paid_at: datetime | None
    due_date: date | None
    status: OrderStatus | None


def resolve_header(
    header: list[str], mapping: Mapping[str, tuple[str, ...]] = DEFAULT_COLUMN_MAPPING
) -> dict[str, int]:
    """Map our field names to column positions in ``header``; raise if a required one is missing."""
    positions = {name.strip().lstrip("\ufeff").lower(): i for i, name in enumerate(header)}
    resolved: dict[str, int] = {}
    for field_name, aliases in mapping.items():
        for alias in aliases:
            if alias.lower() in positions:
                resolved[field_name] = positions[alias.lower()]
                break
    missing = [f for f in REQUIRED_FIELDS if f not in resolved]
    if missing:
        raise UnknownColumns(
            f"missing required column(s): {', '.join(missing)}; header was: {', '.join(header)}"
        )
    return resolved


def parse_amount(text: str) -> Decimal:
    cleaned = _AMOUNT_NOISE.sub("", text)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidRecord(f"amount {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise InvalidRecord(f"amount {text!r} must be a finite, non-negative number")
    if value >= Decimal("1e13"):
        raise InvalidRecord(f"amount {text!r} is too large")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_datetime(text: str, default_tz: tzinfo) -> datetime:
    """Parse the date formats ERPs export; a time without zone is in ``default_tz``."""
    value = text.strip()
    match = _ZH_DATE.match(value)
    if match:
        y, m, d, rest = match.groups()
        value = f"{y}-{int(m):02d}-{int(d):02d} {rest}".strip()
    value = value.replace("/", "-")
    if value[7:8] != "-":  # not yyyy-mm-dd: maybe 2026-1-5
        short = _SHORT_DATE.match(value)
        if short:
            y, m, d, rest = short.groups()
            value = f"{y}-{int(m):02d}-{int(d):02d}{rest}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(f"date {text!r} is not a date orderbot understands") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def normalise_phone(text: str) -> str:
    digits = _PHONE_NOISE.sub("", text)
    if digits.startswith("+"):
        digits = "+" + digits[1:]
    body = digits.lstrip("+")
    if not body.isdigit() or not 6 <= len(body) <= 15:
        raise InvalidRecord(f"phone {text!r} is not a phone number")
    return digits


def normalise_email(text: str) -> str:
    email = text.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidRecord(f"email {text!r} is not an e-mail address")
    return email


def normalise_order_id(text: str) -> str:
    order_id = text.strip().upper()
    if not _ORDER_ID.match(order_id):
        raise InvalidRecord(f"order number {text!r} is not a valid order number")
    return order_id


def clean_record(row: list[str], columns: Mapping[str, int], default_tz: tzinfo) -> OrderRecord:
    """Turn one raw row (its cells in file order) into an ``OrderRecord``."""

    def cell(field_name: str) -> str:
        position = columns.get(field_name)
        if position is None or position >= len(row):
            return ""
        return row[position].strip()

    for field_name in REQUIRED_FIELDS:
        if not cell(field_name):
            raise InvalidRecord(f"{field_name} is empty")

    created_at = parse_datetime(cell("created_at"), default_tz)
    updated_text = cell("updated_at")
    updated_at = parse_datetime(updated_text, default_tz) if updated_text else created_at
    paid_text = cell("paid_at")
    due_text = cell("due_date")
    status_text = cell("status")
    status = None
    if status_text:
        try:
            status = OrderStatus(status_text.lower())
        except ValueError:
            raise InvalidRecord(f"status {status_text!r} is not an order state") from None
    customer_name = cell("customer_name")
    if len(customer_name) > 200:
        raise InvalidRecord("customer_name is longer than 200 characters")
    customer_id = cell("customer_id")
    if len(customer_id) > 64:
        raise InvalidRecord("customer_id is longer than 64 characters")
    currency = (cell("currency") or "CNY").upper()
    if not (len(currency) == 3 and currency.isalpha()):
        raise InvalidRecord(f"currency {currency!r} is not a three-letter code")

    email_text = cell("email")
    phone_text = cell("phone")
    return OrderRecord(
        order_id=normalise_order_id(cell("order_id")),
        customer_id=customer_id,
        customer_name=customer_name,
        amount=parse_amount(cell("amount")),
        currency=currency,
        created_at=created_at,
        updated_at=updated_at,
        email=normalise_email(email_text) if email_text else None,
        phone=normalise_phone(phone_text) if phone_text else None,
        paid_at=parse_datetime(paid_text, default_tz) if paid_text else None,
        due_date=parse_datetime(due_text, default_tz).date() if due_text else None,
        status=status,
    )
