"""Domain events: what happened to an order, recorded by the model, consumed by the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class StatusChanged(Event):
    order_id: str
    customer_id: str
    action: str
    from_status: str
    to_status: str
    reason: str | None


@dataclass(frozen=True)
class InvoiceDue(Event):
    """The order was confirmed: an invoice must be issued (the service layer numbers it)."""

    order_id: str
    customer_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class InvoiceIssued(Event):
    order_id: str
    customer_id: str
    invoice_number: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ShipmentChanged(Event):
    order_id: str
    customer_id: str
    carrier: str
    tracking_number: str
    previous_carrier: str | None
    previous_tracking_number: str | None


@dataclass(frozen=True)
class FreightComputed(Event):
    order_id: str
    customer_id: str
    carrier: str
    freight: Decimal
    currency: str


@dataclass(frozen=True)
class PaymentRecorded(Event):
    order_id: str
    customer_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class OrderSettled(Event):
    order_id: str
    customer_id: str
    settlement_day: date
    amount_due: Decimal
    freight: Decimal
    currency: str


@dataclass(frozen=True)
class SettlementRunCompleted(Event):
    settlement_day: date
    orders: int
    totals: dict[str, dict[str, str]]  # currency -> {"amount_due": "...", "freight": "..."}


@dataclass(frozen=True)
class HandoffRequested(Event):
    ticket_id: int
    conversation_id: str
    channel: str
    customer_id: str | None
    message: str


@dataclass(frozen=True)
class HandoffJoined(Event):
    """A staff member took the ticket: the customer is told a person is there (once per ticket)."""

    ticket_id: int
    conversation_id: str
    customer_id: str | None


@dataclass(frozen=True)
class HandoffMessageReceived(Event):
    """The customer wrote to staff while their ticket was open."""

    ticket_id: int
    conversation_id: str
    customer_id: str
    text: str


@dataclass(frozen=True)
class HandoffClosed(Event):
    """Staff closed the ticket: the assistant answers the conversation again."""

    ticket_id: int
    conversation_id: str
    customer_id: str | None
