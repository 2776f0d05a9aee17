"""Cleaning one ERP row into the fields orderbot keeps.

ERP exports differ in headers (Chinese or English), number and date formats; this module turns a raw
row into an ``OrderRecord`` or raises ``InvalidRecord`` with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import itemgetter
from typing import NamedTuple

from orderbot_common.text import describe, forbidden_character

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


class UnreadableRow(list):
    """A source line that could not be read as a row (e.g. it opens a quote that never closes): its
    cells as far as they go, and ``reason``; an import quarantines it with that reason."""

    def __init__(self, cells, reason: str) -> None:
        super().__init__(cells)
        self.reason = reason

    def __reduce__(self):  # pickled with its reason (it crosses from the reading process)
        return (UnreadableRow, (list(self), self.reason))


class OrderRecord(NamedTuple):
    """One cleaned ERP row (a named tuple: an import builds one per row, and tuples are cheap)."""

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

    @property
    def match_key(self) -> str:
        """The seed's identity of an order across sources: order number, customer id and order date."""
        day = self.created_at.astimezone(timezone.utc).date().isoformat()
        key = f"{self.order_id}|{self.customer_id}|{day}"
        return hashlib.sha1(key.encode()).hexdigest()


def merged_mapping(extra: Mapping[str, str | list[str]] | None) -> dict[str, tuple[str, ...]]:
    """The default header names plus those of a mapping file ({our field: their name or names})."""
    mapping = dict(DEFAULT_COLUMN_MAPPING)
    for field_name, names in (extra or {}).items():
        if field_name not in mapping:
            raise UnknownColumns(
                f"the mapping names an unknown field {field_name!r}; known: {', '.join(mapping)}"
            )
        names = [names] if isinstance(names, str) else list(names)
        mapping[field_name] = (*names, *mapping[field_name])
    return mapping


def resolve_header(
    header: list[str], mapping: Mapping[str, tuple[str, ...]] = DEFAULT_COLUMN_MAPPING, by_name: bool = False
) -> dict[str, int | str]:
    """Map our field names to column positions in ``header`` (or to the header names themselves when
    ``by_name``, for rows that are dicts); raise if a required one is missing."""
    positions = {
        str(name).strip().lstrip("\ufeff").lower(): (name if by_name else i) for i, name in enumerate(header)
    }
    resolved: dict[str, int | str] = {}
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
    try:  # the common case first: ISO 8601, parsed in C
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_other_date(value, text)
    if parsed.tzinfo is None:
        # combine, not replace(tzinfo=...): a keyword call costs five times as much, on every row
        parsed = datetime.combine(parsed, parsed.time(), default_tz)
    return parsed


def _parse_other_date(value: str, text: str) -> datetime:
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
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(f"date {text!r} is not a date orderbot understands") from None


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


FIELDS = tuple(DEFAULT_COLUMN_MAPPING)


def _text(value) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


class RecordCleaner:
    """Cleans rows of one source whose columns are known: ``columns`` maps our fields to positions
    (list rows, as from CSV and XLSX) or keys (dict rows, as from JSON, HTTP and SQL).

    Written for speed (an import cleans every row): the cells a source has are fetched by one
    ``itemgetter``, and the checks run inline rather than through a call per field."""

    def __init__(self, columns: Mapping[str, int | str], default_tz: tzinfo) -> None:
        self.default_tz = default_tz
        self._keys = {name: columns.get(name) for name in FIELDS}
        present = [(slot, key) for slot, name in enumerate(FIELDS) if (key := self._keys[name]) is not None]
        self._slots = [slot for slot, _ in present]
        keys = [key for _, key in present]
        getter = itemgetter(*keys)
        self._fetch = getter if len(keys) > 1 else (lambda row: (getter(row),))
        # The present values in field order, with "" (appended last) for the fields the source lacks.
        where = dict(zip(self._slots, range(len(keys)), strict=True))
        self._place = itemgetter(*(where.get(slot, len(keys)) for slot in range(len(FIELDS))))

    def cells(self, row) -> tuple[str, ...]:
        """The row's text for each of ``FIELDS``, stripped; "" where the source has no such cell."""
        try:
            values = self._fetch(row)
        except (IndexError, KeyError):  # a short list row, or a dict row without some keys
            values = [_text(_get(row, self._keys[FIELDS[slot]])) for slot in self._slots]
        else:
            values = [v.strip() if type(v) is str else _text(v) for v in values]
        values.append("")
        return self._place(values)

    def __call__(self, row) -> OrderRecord:
        (
            order_id,
            customer_id,
            customer_name,
            email_text,
            phone_text,
            amount,
            currency,
            status_text,
            created,
            updated_text,
            paid_text,
            due_text,
        ) = cells = self.cells(row)
        if forbidden_character("".join(cells)):  # one search per row; which cell only when one has it
            for name, value in zip(FIELDS, cells, strict=True):
                if found := forbidden_character(value):
                    raise InvalidRecord(f"{name} contains {describe(found)} ({found})")
        if not (order_id and customer_id and customer_name and amount and created):
            for name, value in (
                ("order_id", order_id),
                ("customer_id", customer_id),
                ("customer_name", customer_name),
                ("amount", amount),
                ("created_at", created),
            ):
                if not value:
                    raise InvalidRecord(f"{name} is empty")
        tz = self.default_tz
        created_at = parse_datetime(created, tz)
        updated_at = parse_datetime(updated_text, tz) if updated_text else created_at
        status = None
        if status_text:
            try:
                status = OrderStatus(status_text.lower())
            except ValueError:
                raise InvalidRecord(f"status {status_text!r} is not an order state") from None
        if len(customer_name) > 200:
            raise InvalidRecord("customer_name is longer than 200 characters")
        if len(customer_id) > 64:
            raise InvalidRecord("customer_id is longer than 64 characters")
        currency = currency.upper() if currency else "CNY"
        if not (len(currency) == 3 and currency.isalpha()):
            raise InvalidRecord(f"currency {currency!r} is not a three-letter code")
        return OrderRecord(
            normalise_order_id(order_id),
            customer_id,
            customer_name,
            parse_amount(amount),
            currency,
            created_at,
            updated_at,
            normalise_email(email_text) if email_text else None,
            normalise_phone(phone_text) if phone_text else None,
            parse_datetime(paid_text, tz) if paid_text else None,
            parse_datetime(due_text, tz).date() if due_text else None,
            status,
        )


def _get(row, key):
    try:
        return row[key]
    except (IndexError, KeyError):
        return None


def clean_record(row, columns: Mapping[str, int | str], default_tz: tzinfo) -> OrderRecord:
    """Turn one raw row into an ``OrderRecord`` (see RecordCleaner)."""
    return RecordCleaner(columns, default_tz)(row)
