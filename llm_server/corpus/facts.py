"""Random fact values in the formats the order service produces (see orders/ and config/carriers.yml)."""

from __future__ import annotations

import random
import string
from datetime import date, timedelta

from orders.domain.labels import STATUS_LABELS

# Canonical carrier names (what the order service returns) with their Chinese aliases and a
# generator for a tracking number that matches the carrier's pattern in config/carriers.yml.
CARRIERS: dict[str, tuple[tuple[str, ...], str]] = {
    "SF Express": (("顺丰", "顺丰速运"), "SF{d12_15}"),
    "ZTO Express": (("中通", "中通快递"), "{d12_15}"),
    "YTO Express": (("圆通", "圆通速递"), "YT{d10_16}"),
    "JD Logistics": (("京东物流", "京东快递"), "JD{a10_18}"),
    "EMS": (("中国邮政", "邮政EMS"), "{ems}"),
    "DHL": ((), "{d10_11}"),
    "UPS": ((), "1Z{a16}"),
    "FedEx": (("联邦快递",), "{fedex}"),
}

# The order service's own words for its states (what `status_label` carries), never a copy of them.
STATES: dict[str, dict[str, str]] = {status.value: labels for status, labels in STATUS_LABELS.items()}

CURRENCIES = ("CNY", "CNY", "CNY", "USD", "EUR")
HOSTS = (
    "http://127.0.0.1:8080",
    "http://localhost:8080",
    "https://orders.example.com",
    "https://shop.example.cn",
)
SOURCES = ("erp_csv", "erp_http", "erp_db", "legacy_erp", "orders.csv", "kingdee", "yonyou", "sap_export")


def _digits(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(rng.randint(low, high)))


def _alnum(rng: random.Random, low: int, high: int) -> str:
    # Mostly digits, as real JD/UPS numbers are, with a few capitals.
    alphabet = string.digits * 3 + string.ascii_uppercase
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def tracking_number(rng: random.Random, carrier: str) -> str:
    pattern = CARRIERS[carrier][1]
    return pattern.format(
        d12_15=_digits(rng, 12, 15) if "{d12_15}" in pattern else "",
        d10_16=_digits(rng, 10, 16) if "{d10_16}" in pattern else "",
        d10_11=_digits(rng, 10, 11) if "{d10_11}" in pattern else "",
        a10_18=_alnum(rng, 10, 18) if "{a10_18}" in pattern else "",
        a16=_alnum(rng, 16, 16) if "{a16}" in pattern else "",
        ems=(
            rng.choice(string.ascii_uppercase)
            + rng.choice(string.ascii_uppercase)
            + _digits(rng, 9, 9)
            + "CN"
            if rng.random() < 0.7
            else _digits(rng, 13, 13)
        ),
        fedex=_digits(rng, 12, 12) if rng.random() < 0.5 else _digits(rng, 15, 15),
    )


def order_id(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.75:  # the order service's own numbers
        return f"SO-{rng.randint(1001, 99999)}"
    if roll < 0.85:
        return f"SO-{rng.randint(100000, 9999999)}"
    # ERP-imported numbers: any [A-Z0-9][A-Z0-9_-]*
    prefix = rng.choice(("PO", "ERP", "ORD", "WX", "TM", "JD"))
    separator = rng.choice(("-", "_", ""))
    return f"{prefix}{separator}{rng.randint(100, 9999999)}"


def amount(rng: random.Random, low: float = 10.0, high: float = 99999.0) -> str:
    # Log-uniform so small and large amounts are both common.
    value = low * (high / low) ** rng.random()
    return f"{value:.2f}"


def day(rng: random.Random) -> str:
    return (date(2025, 1, 1) + timedelta(days=rng.randint(0, 3 * 365))).isoformat()


def invoice_number(rng: random.Random, on_day: str | None = None) -> str:
    year = on_day[:4] if on_day else str(rng.randint(2025, 2027))
    return f"INV-{year}-{rng.randint(1, 999999):06d}"


def count(rng: random.Random, high: int = 60) -> str:
    return str(rng.randint(1, high) if rng.random() < 0.8 else rng.randint(high, 999))


def carrier_name(rng: random.Random, language: str) -> str:
    name = rng.choice(tuple(CARRIERS))
    aliases = CARRIERS[name][0]
    if language == "zh" and aliases and rng.random() < 0.5:
        return rng.choice(aliases)
    return name


def canonical_carrier(name: str) -> str:
    for canonical, (aliases, _) in CARRIERS.items():
        if name == canonical or name in aliases:
            return canonical
    raise KeyError(name)


def invoice_url(rng: random.Random, order: str) -> str:
    return f"{rng.choice(HOSTS)}/api/v1/orders/{order}/invoice.pdf"


def money(rng: random.Random, low: float = 10.0, high: float = 99999.0) -> str:
    """An amount as the actions send it (actions.replies.money): currency, space, amount."""
    return f"{rng.choice(CURRENCIES)} {amount(rng, low, high)}"


def status(rng: random.Random, language: str) -> str:
    return STATES[rng.choice(tuple(STATES))][language]
