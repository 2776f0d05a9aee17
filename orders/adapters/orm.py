"""Tables and the imperative mapping of domain objects onto them (the domain stays SQLAlchemy-free)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import registry

from orders.domain.model import Order, OrderStatus, PaymentStatus


class Money(TypeDecorator):
    """A Decimal with two places stored as integer cents: exact on every database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> int | None:
        return self.cents(value)

    @staticmethod
    def cents(value: Decimal | None) -> int | None:
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
        utc = value.astimezone(timezone.utc)
        return datetime.combine(utc, utc.time())  # naive; combine is cheaper than replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else datetime.combine(value, value.time(), timezone.utc)


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
    Column("freight", Money),
    Column("shipped_at", UTCDateTime),
    Column("source_updated_at", UTCDateTime, nullable=False),  # the ERP's own last-update time
    Column("match_key", String(40), nullable=False),  # hash of order number, customer id, order date
    Column("version", Integer, nullable=False),
)

# Every change to an order: who, when, from, to, why, and where it came from.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("order_id", String(64), index=True),
    Column("actor", String(128), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("from_value", String(200)),
    Column("to_value", String(200)),
    Column("reason", String(500)),
    Column("details", JSON, nullable=False),
)

# Notifications written in the same transaction as the change they announce (transactional outbox).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("recipient_role", String(32), nullable=False),
    Column("customer_id", String(64)),
    Column("order_id", String(64)),
    Column("event_type", String(64), nullable=False),
    Column("message_en", Text, nullable=False),
    Column("message_zh", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("dispatched_at", UTCDateTime),
    Index("ix_outbox_recipient", "recipient_role", "id"),
    Index("ix_outbox_customer", "customer_id", "id"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("order_id", String(64), ForeignKey("orders.order_id"), nullable=False, unique=True),
    Column("customer_id", String(64), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
)

settlement_runs = Table(
    "settlement_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("settlement_day", Date, nullable=False, index=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("actor", String(128), nullable=False),
    Column("source", String(32), nullable=False),
    Column("orders", Integer, nullable=False, default=0),
    Column("totals", JSON, nullable=False),
)

# One settlement per order, ever: the unique order_id is what makes overlapping runs harmless.
settlements = Table(
    "settlements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(64), ForeignKey("orders.order_id"), nullable=False, unique=True),
    Column("run_id", Integer, ForeignKey("settlement_runs.id"), nullable=False),
    Column("settlement_day", Date, nullable=False, index=True),
    Column("amount_due", Money, nullable=False),
    Column("freight", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(32), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# The staff directory: a Slack or DingTalk user id -> a staff user.
staff_links = Table(
    "staff_links",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("platform_user_id", String(128), primary_key=True),
    Column("username", String(64), ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(500), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("actor", String(128), nullable=False),
    Column("report", JSON, nullable=False),
)

# Rows an import could not use, kept with the reason so that nothing is dropped silently.
import_quarantine = Table(
    "import_quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False, index=True),
    Column("source", String(500), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("raw", JSON, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(128), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(500), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# A chat user asked for a person: staff pick the ticket up, answer, and close it.
handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(128), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("customer_id", String(64)),
    Column("language", String(8), nullable=False),
    Column("message", String(2000), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("closed_by", String(128)),
    Column("joined_at", UTCDateTime),
    Column("joined_by", String(128)),
    Column("read_through", Integer, nullable=False, server_default="0"),  # handoff_messages.id
)

# What a customer wrote to staff while their ticket was open (the bot is paused meanwhile).
handoff_messages = Table(
    "handoff_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("handoffs.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("text", String(2000), nullable=False),
    Index("ix_handoff_messages_ticket", "ticket_id", "id"),
)

# Rasa's conversation events as its event broker published them (conversation analytics): turns
# are put together when read, so events taken by several consumers in any order are all the same.
conversation_events = Table(
    "conversation_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(40), nullable=False, unique=True),  # a redelivered event is stored once
    Column("conversation_id", String(128), nullable=False),
    Column("at", Float, nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("intent", String(128)),
    Column("confidence", Float),
    Column("action", String(128)),
    Column("channel", String(32)),
)

# The chat bridge's cursor per group (migration 0005): the last outbox id delivered, recent post times
# for the rate limit, and the lease that lets one process deliver a group at a time.
bridge_cursors = Table(
    "bridge_cursors",
    metadata,
    Column("target", String(64), primary_key=True),
    Column("last_id", Integer, nullable=False),
    Column("recent_posts", JSON, nullable=False),
    Column("owner", String(128)),
    Column("lease_until", Float, nullable=False, default=0.0),
    Column("updated_at", DateTime, nullable=False),  # naive UTC
)

mapper_registry = registry()
_mapped = False


def start_mappers() -> None:
    """Map domain classes onto the tables; idempotent, called once per process."""
    global _mapped
    if _mapped:
        return
    mapper_registry.map_imperatively(
        Order, orders, version_id_col=orders.c.version, exclude_properties=["events"]
    )
    _mapped = True
