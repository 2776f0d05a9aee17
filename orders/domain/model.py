"""Orders and their workflow: an explicit state machine, and the business rules that ride on it.

Plain Python. Each change appends domain events to ``order.events``; the service layer turns them into
audit records and notifications in the same transaction as the change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from orders.domain import events
from orders.domain.carriers import Carriers
from orders.domain.errors import DomainError


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


class Action(str, enum.Enum):
    """What can be done to an order. The first five move it through the workflow."""

    CONFIRM = "confirm"
    CANCEL = "cancel"
    STOCK_IN = "stock_in"
    SHIP = "ship"
    SETTLE = "settle"
    RECORD_SHIPMENT = "record_shipment"
    PAY = "pay"


# (state, action) -> next state: the whole workflow in one table.
TRANSITIONS: dict[tuple[OrderStatus, Action], OrderStatus] = {
    (OrderStatus.PENDING_CONFIRMATION, Action.CONFIRM): OrderStatus.CONFIRMED,
    (OrderStatus.PENDING_CONFIRMATION, Action.CANCEL): OrderStatus.CANCELLED,
    (OrderStatus.CONFIRMED, Action.CANCEL): OrderStatus.CANCELLED,
    (OrderStatus.CONFIRMED, Action.STOCK_IN): OrderStatus.AWAITING_SHIPMENT,
    (OrderStatus.AWAITING_SHIPMENT, Action.CANCEL): OrderStatus.CANCELLED,
    (OrderStatus.AWAITING_SHIPMENT, Action.SHIP): OrderStatus.SHIPPED,
    (OrderStatus.SHIPPED, Action.SETTLE): OrderStatus.SETTLED,
}
# Rule 1: shipment information may be recorded or changed only while the order awaits shipment.
SHIPMENT_EDITABLE = frozenset({OrderStatus.AWAITING_SHIPMENT})
# Rule 5: the states an order reaches only through its confirmation, so one in any of them has an
# invoice (one imported in such a state gets it on import).
CONFIRMED_OR_LATER = frozenset(
    {OrderStatus.CONFIRMED, OrderStatus.AWAITING_SHIPMENT, OrderStatus.SHIPPED, OrderStatus.SETTLED}
)
PAYABLE = frozenset(set(OrderStatus) - {OrderStatus.CANCELLED})


class IllegalTransition(DomainError):
    code = "illegal_transition"

    def __init__(self, order: Order, action: Action) -> None:
        self.order_id = order.order_id
        self.status = order.status
        self.action = action
        self.allowed = order.allowed_actions()
        super().__init__(
            f"Order {order.order_id} is {order.status.value}: it cannot {action.value.replace('_', ' ')} now."
        )


class ShipmentMissing(DomainError):
    code = "shipment_missing"

    def __init__(self, order_id: str) -> None:
        super().__init__(
            f"Order {order_id} has no carrier and tracking number yet: record the shipment first."
        )


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
    freight: Decimal | None = None
    shipped_at: datetime | None = None
    source_updated_at: datetime | None = None
    match_key: str = ""
    version: int = 1
    events: list[events.Event] = field(default_factory=list, repr=False, compare=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Order) and other.order_id == self.order_id

    def __hash__(self) -> int:
        return hash(self.order_id)

    def _pending_events(self) -> list[events.Event]:
        # Orders loaded by the ORM skip __init__, so the list may not exist yet.
        if "events" not in self.__dict__:
            self.events = []
        return self.events

    # --- the workflow -------------------------------------------------------------------------

    def allowed_actions(self) -> list[str]:
        allowed = [action.value for (state, action) in TRANSITIONS if state is self.status]
        if self.status in SHIPMENT_EDITABLE:
            allowed.append(Action.RECORD_SHIPMENT.value)
        if self.payment_status is PaymentStatus.UNPAID and self.status in PAYABLE:
            allowed.append(Action.PAY.value)
        return allowed

    def _move(self, action: Action, now: datetime, reason: str | None) -> None:
        target = TRANSITIONS.get((self.status, action))
        if target is None:
            raise IllegalTransition(self, action)
        previous, self.status, self.updated_at = self.status, target, now
        self._pending_events().append(
            events.StatusChanged(
                self.order_id, self.customer_id, action.value, previous.value, target.value, reason
            )
        )

    def confirm(self, now: datetime, reason: str | None = None) -> None:
        """Rule 5: confirming issues the invoice (the service layer numbers it and writes its PDF)."""
        self._move(Action.CONFIRM, now, reason)
        self._pending_events().append(
            events.InvoiceDue(self.order_id, self.customer_id, self.amount, self.currency)
        )

    def cancel(self, now: datetime, reason: str | None = None) -> None:
        self._move(Action.CANCEL, now, reason)

    def stock_in(self, now: datetime, reason: str | None = None) -> None:
        self._move(Action.STOCK_IN, now, reason)

    def record_shipment(self, carrier: str, tracking_number: str, now: datetime) -> None:
        """Rule 1 and rule 4: only while awaiting shipment; every change notifies the warehouse."""
        if self.status not in SHIPMENT_EDITABLE:
            raise IllegalTransition(self, Action.RECORD_SHIPMENT)
        if (carrier, tracking_number) == (self.carrier, self.tracking_number):
            return
        previous = (self.carrier, self.tracking_number)
        self.carrier, self.tracking_number, self.updated_at = carrier, tracking_number, now
        self._pending_events().append(
            events.ShipmentChanged(self.order_id, self.customer_id, carrier, tracking_number, *previous)
        )

    def ship(self, carriers: Carriers, now: datetime, reason: str | None = None) -> None:
        """Rule 6: when shipment is done the freight is computed from the rate table and stored."""
        if (self.status, Action.SHIP) not in TRANSITIONS:
            raise IllegalTransition(self, Action.SHIP)
        if not (self.carrier and self.tracking_number):
            raise ShipmentMissing(self.order_id)
        freight = carriers.freight(self.carrier, self.amount)  # refuses an unknown carrier before any change
        self._move(Action.SHIP, now, reason)
        self.freight, self.shipped_at = freight, now
        self._pending_events().append(
            events.FreightComputed(self.order_id, self.customer_id, self.carrier, self.freight, self.currency)
        )

    def pay(self, now: datetime, reason: str | None = None) -> None:
        if self.payment_status is PaymentStatus.PAID or self.status not in PAYABLE:
            raise IllegalTransition(self, Action.PAY)
        self.payment_status, self.paid_at, self.updated_at = PaymentStatus.PAID, now, now
        self._pending_events().append(
            events.PaymentRecorded(self.order_id, self.customer_id, self.amount, self.currency)
        )

    def is_due_for_settlement(self, day: date) -> bool:
        """Rule 7: shipped, still unpaid at the end of its due day."""
        return (
            self.status is OrderStatus.SHIPPED
            and self.payment_status is PaymentStatus.UNPAID
            and self.due_date is not None
            and self.due_date <= day
        )

    def settle(self, day: date, now: datetime) -> None:
        if not self.is_due_for_settlement(day):
            raise IllegalTransition(self, Action.SETTLE)
        self._move(Action.SETTLE, now, f"unpaid at the end of its due day {self.due_date.isoformat()}")


def initial_status(requested: OrderStatus | None) -> OrderStatus:
    """The state of a newly imported order: what the ERP says, else waiting for confirmation.

    After import the workflow owns the state; a later import never changes it.
    """
    return requested or OrderStatus.PENDING_CONFIRMATION


def payment_status_for(paid_at: datetime | None) -> PaymentStatus:
    return PaymentStatus.PAID if paid_at is not None else PaymentStatus.UNPAID
