"""Tables and the imperative mapping of domain objects onto them (the domain stays SQLAlchemy-free)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.orm import registry

from orders.domain.model import Order, OrderStatus, PaymentStatus


class Money(TypeDecorator):
    """A Decimal with two places stored as integer cents: exact on every database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> int | None:
        return None if value is None else int(value.scaleb(2).to_integral_exact())

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-2)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _enum(enum_cls, name: str) -> Enum:
    # Store the values ("shipped"), not the member names, and keep it a plain string column.
    return Enum(
        enum_cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32
    )


metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("customer_name", String(200), nullable=False),
    Column("email", String(254)),
    Column("phone", String(32)),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", _enum(OrderStatus, "order_status"), nullable=False, index=True),
    Column("payment_status", _enum(PaymentStatus, "payment_status"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("updated_at", UTCDateTime, nullable=False, index=True),
    Column("paid_at", UTCDateTime, index=True),
    Column("due_date", Date),
    Column("carrier", String(64)),
    Column("tracking_number", String(64)),
    Column("source_updated_at", UTCDateTime, nullable=False),  # the ERP's own last-update time
    Column("version", Integer, nullable=False),
)

mapper_registry = registry()
_mapped = False


def start_mappers() -> None:
    """Map domain classes onto the tables; idempotent, called once per process."""
    global _mapped
    if _mapped:
        return
    mapper_registry.map_imperatively(Order, orders, version_id_col=orders.c.version)
    _mapped = True
