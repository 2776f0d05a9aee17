"""Orders and their workflow state."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


class OrderStatus(str, enum.Enum):
    PENDING_CONFIRMATION = "pending_confirmation"
    CONFIRMED = "confirmed"
    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class PaymentStatus(str, enum.Enum):
    UNPAID = "unpaid"
    PAID = "paid"


@dataclass(eq=False)
class Order:
    """An order as the order service stores it. Identity is the ERP order number."""

    order_id: str
    customer_id: str
    customer_name: str
    amount: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = OrderStatus.PENDING_CONFIRMATION
    payment_status: PaymentStatus = PaymentStatus.UNPAID
    email: str | None = None
    phone: str | None = None
    paid_at: datetime | None = None
    due_date: date | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    source_updated_at: datetime | None = None
    version: int = field(default=1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Order) and other.order_id == self.order_id

    def __hash__(self) -> int:
        return hash(self.order_id)


def initial_status(requested: OrderStatus | None) -> OrderStatus:
    """The state of a newly imported order: what the ERP says, else waiting for confirmation.

    After import the workflow owns the state; a later import never changes it.
    """
    return requested or OrderStatus.PENDING_CONFIRMATION


def payment_status_for(paid_at: datetime | None) -> PaymentStatus:
    return PaymentStatus.PAID if paid_at is not None else PaymentStatus.UNPAID
