"""Use cases that change or read orders. Each change is one transaction that writes the new state, its
audit records and its notifications (outbox) together, so none can exist without the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from orders.adapters.repositories import OrderQuery
from orders.clock import utcnow
from orders.domain import events
from orders.domain.access import (
    SETTLEMENT_ROLES,
    Actor,
    NotPermitted,
    Role,
    can_see,
    check_permitted,
    check_staff,
)
from orders.domain.carriers import Carriers
from orders.domain.errors import DomainError
from orders.domain.model import Action, Order
from orders.domain.notifications import Notification, notifications_for
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork


class OrderNotFound(Exception):
    """No such order, or one the caller may not see: the same answer, so ids cannot be probed."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"No order {order_id} was found.")


class VersionMismatch(Exception):
    """The caller's copy (If-Match) is older than the stored order."""

    def __init__(self, order: Order, expected: int) -> None:
        self.current_version = order.version
        super().__init__(
            f"Order {order.order_id} is at version {order.version}, not {expected}: reload it and try again."
        )


class ConcurrentUpdate(Exception):
    """Another change to the same order committed first."""


def _visible_order(uow: SqlAlchemyUnitOfWork, order_id: str, actor: Actor) -> Order:
    order = uow.orders.get(order_id.strip().upper())
    if order is None or not can_see(actor, order):
        raise OrderNotFound(order_id)
    return order


def get_order(uow: SqlAlchemyUnitOfWork, order_id: str, actor: Actor) -> Order:
    with uow:
        order = _visible_order(uow, order_id, actor)
        uow.session.expunge(order)
        return order


def list_orders(uow: SqlAlchemyUnitOfWork, query: OrderQuery, actor: Actor) -> tuple[list[Order], int]:
    if actor.role is Role.CUSTOMER:  # customers list their own orders only, whatever they ask for
        query = OrderQuery(**{**asdict(query), "customer_id": actor.customer_id})
    with uow:
        found, total = uow.orders.list(query)
        uow.session.expunge_all()
        return found, total


def _audit_entry(event: events.Event) -> dict[str, Any] | None:
    match event:
        case events.StatusChanged():
            return {
                "action": event.action,
                "from_value": event.from_status,
                "to_value": event.to_status,
                "reason": event.reason,
            }
        case events.ShipmentChanged():
            before = (
                f"{event.previous_carrier} {event.previous_tracking_number}"
                if event.previous_carrier
                else None
            )
            return {
                "action": "record_shipment",
                "from_value": before,
                "to_value": f"{event.carrier} {event.tracking_number}",
            }
        case events.InvoiceIssued():
            return {"action": "issue_invoice", "to_value": event.invoice_number}
        case events.FreightComputed():
            return {"action": "compute_freight", "to_value": f"{event.currency} {event.freight:.2f}"}
        case events.PaymentRecorded():
            return {"action": "pay", "from_value": "unpaid", "to_value": "paid"}
        case events.OrderSettled():
            return {
                "action": "record_settlement",
                "to_value": f"{event.currency} {event.amount_due:.2f} due, freight {event.freight:.2f}",
            }
        case events.SettlementRunCompleted():
            return {"action": "settlement_run", "to_value": f"{event.orders} orders"}
        case events.HandoffRequested():
            return {"action": "open_handoff", "to_value": f"ticket {event.ticket_id}"}
        case events.HandoffJoined():
            return {"action": "join_handoff", "to_value": f"ticket {event.ticket_id}"}
        case events.HandoffClosed():
            return {"action": "close_handoff", "to_value": f"ticket {event.ticket_id}"}
    return None


def _details(event: events.Event) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal | date) else v) for k, v in asdict(event).items()}


def record_events(
    uow: SqlAlchemyUnitOfWork,
    happened: list[events.Event],
    actor: Actor,
    now: datetime,
    order: Order | None = None,
) -> None:
    """Write the audit record and the notifications of each event, inside the caller's transaction."""
    queue = list(happened)
    while queue:
        event = queue.pop(0)
        if isinstance(event, events.InvoiceDue) and order is not None:  # rule 5: number and store it
            number = uow.invoices.issue(order, now)
            queue.insert(
                0,
                events.InvoiceIssued(order.order_id, order.customer_id, number, order.amount, order.currency),
            )
            continue
        entry = _audit_entry(event)
        if entry is not None:
            uow.audit.add(
                at=now,
                order_id=getattr(event, "order_id", None),
                actor=actor.name,
                actor_role=actor.role.value,
                source=actor.source.value,
                details=_details(event),
                **entry,
            )
        for notification in notifications_for(event):
            uow.outbox.add(notification, now)


def _commit_order_change(uow: SqlAlchemyUnitOfWork, order: Order, actor: Actor, now: datetime) -> None:
    happened, order.events, order_id = list(order.events), [], order.order_id
    try:
        uow.session.flush()  # the versioned UPDATE: fails here if another change committed first
    except StaleDataError:
        raise ConcurrentUpdate(f"Order {order_id} was changed at the same time: reload it.") from None
    record_events(uow, happened, actor, now, order)
    uow.commit()


@dataclass(frozen=True)
class Change:
    action: Action
    reason: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None


def change_order(
    uow: SqlAlchemyUnitOfWork,
    order_id: str,
    change: Change,
    actor: Actor,
    carriers: Carriers,
    expected_version: int | None = None,
) -> Order:
    """Apply one workflow action to an order, with permissions, optimistic locking and its side effects."""
    now = utcnow()
    with uow:
        order = _visible_order(uow, order_id, actor)
        check_permitted(actor, order, change.action)
        if expected_version is not None and expected_version != order.version:
            raise VersionMismatch(order, expected_version)
        match change.action:
            case Action.CONFIRM:
                order.confirm(now, change.reason)
            case Action.CANCEL:
                order.cancel(now, change.reason)
            case Action.STOCK_IN:
                order.stock_in(now, change.reason)
            case Action.SHIP:
                order.ship(carriers, now, change.reason)
            case Action.PAY:
                order.pay(now, change.reason)
            case Action.RECORD_SHIPMENT:
                carrier, number = carriers.check_tracking_number(
                    change.carrier or "", change.tracking_number or ""
                )
                order.record_shipment(carrier, number, now)
            case Action.SETTLE:
                raise ValueError("orders are settled by a settlement run, not one by one")
        _commit_order_change(uow, order, actor, now)
        uow.session.expunge(order)
        return order


@dataclass
class SettlementReport:
    settlement_day: str
    run_id: int
    orders: int = 0
    settled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # settled meanwhile by an overlapping run
    totals: dict[str, dict[str, str]] = field(default_factory=dict)


class DayNotOver(DomainError):
    """A settlement was asked for a day that has not ended where the business is."""

    code = "day_not_over"


def settle_ended_day(
    uow: SqlAlchemyUnitOfWork,
    day: date,
    actor: Actor,
    business_tz: tzinfo,
    on_order: Callable[[str], object] | None = None,
) -> SettlementReport:
    """A settlement a person asks for (REST, chat, CLI): only for a day that has ended in the business's
    time zone, since a later one would settle orders whose due day has not come. The scheduled job,
    which settles the day at its settlement time, calls ``settle_day`` itself."""
    check_staff(actor, *SETTLEMENT_ROLES)
    today = utcnow().astimezone(business_tz).date()
    if day >= today:
        raise DayNotOver(
            f"{day.isoformat()} has not ended yet (today is {today.isoformat()}): "
            f"a settlement can be run for {(today - timedelta(days=1)).isoformat()} or an earlier day."
        )
    return settle_day(uow, day, actor, on_order)


def settle_day(
    uow: SqlAlchemyUnitOfWork, day: date, actor: Actor, on_order: Callable[[str], object] | None = None
) -> SettlementReport:
    """Rule 7: settle every shipped order still unpaid at the end of its due day, exactly once.

    Each order is settled in its own transaction, guarded by the unique order id of the settlements
    table and the order's version, so a second run, an overlapping run or a late catch-up run can
    never settle an order twice; it skips what another run took.
    """
    check_staff(actor, *SETTLEMENT_ROLES)
    now = utcnow()
    with uow:
        run_id = uow.settlements.start_run(day, actor.name, actor.source.value, now)
        due = uow.orders.due_for_settlement(day)
        uow.commit()
    report = SettlementReport(settlement_day=day.isoformat(), run_id=run_id)
    sums: dict[str, list[Decimal]] = {}
    for order_id in due:
        try:
            with uow:
                order = uow.orders.get(order_id)
                if order is None or not order.is_due_for_settlement(day):
                    report.skipped.append(order_id)
                    continue
                order.settle(day, now)
                uow.settlements.add(run_id, order, day, now)
                order.events.append(
                    events.OrderSettled(
                        order.order_id,
                        order.customer_id,
                        day,
                        order.amount,
                        order.freight or Decimal("0"),
                        order.currency,
                    )
                )
                _commit_order_change(uow, order, actor, now)
        except (ConcurrentUpdate, StaleDataError, IntegrityError):
            report.skipped.append(order_id)
            continue
        report.settled.append(order_id)
        total = sums.setdefault(order.currency, [Decimal("0"), Decimal("0")])
        total[0] += order.amount
        total[1] += order.freight or Decimal("0")
        if on_order:
            on_order(order_id)
    report.orders = len(report.settled)
    report.totals = {
        c: {"amount_due": f"{a:.2f}", "freight": f"{f:.2f}"} for c, (a, f) in sorted(sums.items())
    }
    with uow:
        uow.settlements.finish_run(run_id, report.orders, report.totals, utcnow())
        record_events(uow, [events.SettlementRunCompleted(day, report.orders, report.totals)], actor, now)
        uow.commit()
    return report


def open_handoff(
    uow: SqlAlchemyUnitOfWork, conversation_id: str, channel: str, message: str, language: str, actor: Actor
) -> int:
    """A chat user asked for a person: open a ticket and tell operations, in one transaction.

    A conversation has at most one open ticket per customer (a visitor who signs in later asks as
    someone else): asking again, or a retry, returns that ticket and tells nobody twice, so a
    conversation cannot flood the queue."""
    now = utcnow()
    customer_id = actor.customer_id if actor.role is Role.CUSTOMER else None
    with uow:
        existing = uow.handoffs.open_for(conversation_id, customer_id)
        if existing is not None:
            return existing
        ticket_id = uow.handoffs.open(
            conversation_id=conversation_id,
            channel=channel,
            customer_id=customer_id,
            language=language,
            message=message,
            created_at=now,
        )
        record_events(
            uow,
            [events.HandoffRequested(ticket_id, conversation_id, channel, customer_id, message)],
            actor,
            now,
        )
        uow.commit()
    return ticket_id


class HandoffNotFound(Exception):
    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"No handoff ticket #{ticket_id}.")
        self.ticket_id = ticket_id


class HandoffUnreachable(DomainError):
    """The ticket's chat user never signed in, so no customer's widget can receive the answer."""

    code = "handoff_unreachable"


class HandoffClosed(DomainError):
    code = "handoff_closed"


def close_handoff(uow: SqlAlchemyUnitOfWork, ticket_id: int, actor: Actor) -> dict[str, Any] | None:
    """Close an open ticket and tell its customer the assistant is back; returns it as closed, or None
    when there is no open ticket of that id."""
    check_staff(actor)
    now = utcnow()
    with uow:
        if not uow.handoffs.close(ticket_id, actor.name, now):
            return None
        ticket = uow.handoffs.get(ticket_id)
        closed = events.HandoffClosed(ticket_id, ticket["conversation_id"], ticket["customer_id"])
        record_events(uow, [closed], actor, now)
        uow.commit()
        return ticket


def _open_ticket(uow: SqlAlchemyUnitOfWork, ticket_id: int) -> dict[str, Any]:
    ticket = uow.handoffs.get(ticket_id)
    if ticket is None:
        raise HandoffNotFound(ticket_id)
    if ticket["status"] != "open":
        raise HandoffClosed(f"Ticket #{ticket_id} is closed: open a new one to answer.")
    return ticket


def _join(uow: SqlAlchemyUnitOfWork, ticket: dict[str, Any], actor: Actor, now: datetime) -> None:
    """The first staff member to take the ticket: its customer is told a person is there."""
    if uow.handoffs.join(ticket["id"], actor.name, now):
        joined = events.HandoffJoined(ticket["id"], ticket["conversation_id"], ticket["customer_id"])
        record_events(uow, [joined], actor, now)


def join_handoff(uow: SqlAlchemyUnitOfWork, ticket_id: int, actor: Actor) -> dict[str, Any]:
    """A staff member opens the ticket to handle it: joined (once, for the customer to see) and read."""
    check_staff(actor)
    now = utcnow()
    with uow:
        _join(uow, _open_ticket(uow, ticket_id), actor, now)
        uow.handoffs.mark_read(ticket_id)
        uow.commit()
        return uow.handoffs.get(ticket_id)


def read_handoff(uow: SqlAlchemyUnitOfWork, ticket_id: int, actor: Actor) -> dict[str, Any]:
    """Staff have seen what the ticket's customer wrote so far (closed tickets too)."""
    check_staff(actor)
    with uow:
        if uow.handoffs.get(ticket_id) is None:
            raise HandoffNotFound(ticket_id)
        uow.handoffs.mark_read(ticket_id)
        uow.commit()
        return uow.handoffs.get(ticket_id)


def write_to_handoff(uow: SqlAlchemyUnitOfWork, ticket_id: int, text: str, actor: Actor) -> dict[str, Any]:
    """The ticket's customer writes to staff while the ticket is open: stored, and pushed to the
    consoles at once (the bot is paused meanwhile). Another customer's ticket is one that does not
    exist. Returns {"id", "ticket_id", "at", "text"}."""
    if actor.role is not Role.CUSTOMER:
        raise NotPermitted("Only the ticket's customer writes to it; staff answer it.")
    text = text.strip()
    if not text:
        raise DomainError("The message is empty.")
    now = utcnow()
    with uow:
        ticket = uow.handoffs.get(ticket_id)
        if ticket is None or ticket["customer_id"] != actor.customer_id:
            raise HandoffNotFound(ticket_id)
        if ticket["status"] != "open":
            raise HandoffClosed(
                f"Ticket #{ticket_id} is closed: the assistant answers this conversation again."
            )
        message_id = uow.handoffs.add_message(ticket_id, text, now)
        received = events.HandoffMessageReceived(
            ticket_id, ticket["conversation_id"], actor.customer_id, text
        )
        record_events(uow, [received], actor, now)
        uow.commit()
    return {"id": message_id, "ticket_id": ticket_id, "at": now, "text": text}


def reply_handoff(uow: SqlAlchemyUnitOfWork, ticket_id: int, text: str, actor: Actor) -> str:
    """Staff answer a handoff ticket: one outbox row for that ticket's customer only (the hub pushes it
    to their chat widget) and an audit record, in one transaction. Returns the customer's id."""
    check_staff(actor)
    text = text.strip()
    if not text:
        raise DomainError("The answer is empty.")
    now = utcnow()
    with uow:
        ticket = _open_ticket(uow, ticket_id)
        if not ticket["customer_id"]:
            raise HandoffUnreachable(
                f"Ticket #{ticket_id} came from a visitor who did not sign in: "
                "there is no customer to send the answer to."
            )
        notification = Notification(
            Role.CUSTOMER,
            "handoff_reply",
            None,
            ticket["customer_id"],
            {"en": text, "zh": text},  # the staff member writes in the customer's language
            # No staff login name: the customer sees this event, and names sign in to the API.
            {"ticket_id": ticket_id, "conversation_id": ticket["conversation_id"]},
        )
        _join(uow, ticket, actor, now)  # an answer is a person joining, if nobody had yet
        uow.handoffs.mark_read(ticket_id)  # whoever answers has read what came before
        uow.outbox.add(notification, now)
        uow.audit.add(
            at=now,
            order_id=None,
            actor=actor.name,
            actor_role=actor.role.value,
            source=actor.source.value,
            action="handoff_reply",
            from_value=None,
            to_value=f"ticket {ticket_id}",
            reason=None,
            details={"ticket_id": ticket_id, "customer_id": ticket["customer_id"], "message": text[:500]},
        )
        uow.commit()
    return ticket["customer_id"]
