"""Reads, kept apart from the writes in ``services``: what the API and the console show. Each view
checks who may see what once, here, for every route that shows it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, func, select

from orders.adapters.invoice_pdf import render_invoice
from orders.adapters.orm import audit_log, imports, orders, outbox, settlements
from orders.clock import utcnow
from orders.domain.access import Actor, NotPermitted, Role, check_staff
from orders.domain.labels import STATUS_LABELS
from orders.domain.model import Order, OrderStatus
from orders.service_layer import services
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

# Notification delivery latency buckets (seconds, upper bounds) for the console's chart.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
INVOICE_ROLES = (Role.CUSTOMER, Role.FINANCE, Role.OPERATIONS)


# --- invoices ---------------------------------------------------------------------------------------


def invoice(uow: SqlAlchemyUnitOfWork, order_id: str, who: Actor) -> tuple[Order, dict[str, Any] | None]:
    """The order (as ``who`` may see it) and its invoice, None before one is issued. Invoices are for
    the order's customer, finance and operations."""
    if who.role not in INVOICE_ROLES:
        raise NotPermitted("Invoices are for the customer and finance.")
    order = services.get_order(uow, order_id, who)
    with uow:
        return order, uow.invoices.for_order(order.order_id)


def invoice_pdf(
    uow: SqlAlchemyUnitOfWork, order_id: str, who: Actor, render=render_invoice
) -> tuple[Order, dict[str, Any] | None, bytes | None]:
    """The invoice rendered as a PDF (``render``: the PDF adapter), or None before one is issued."""
    order, found = invoice(uow, order_id, who)
    if found is None:
        return order, None, None
    return (
        order,
        found,
        render(found, {"payment_status": order.payment_status.value, "due_date": order.due_date}),
    )


# --- audit, notifications, settlements, handoffs, users -------------------------------------------------


def order_audit(uow: SqlAlchemyUnitOfWork, order_id: str, who: Actor) -> list[dict[str, Any]]:
    order = services.get_order(uow, order_id, who)  # whoever may see the order sees its trail
    with uow:
        return uow.audit.for_order(order.order_id)


def recent_audit(uow: SqlAlchemyUnitOfWork, who: Actor, after: int, limit: int) -> list[dict[str, Any]]:
    check_staff(who)
    with uow:
        return uow.audit.recent(after, limit)


def notifications(uow: SqlAlchemyUnitOfWork, who: Actor, after: int, limit: int) -> list[dict[str, Any]]:
    """The notifications ``who`` receives: operations all, other staff their role's, a customer their own."""
    roles = None if who.role is Role.OPERATIONS else [who.role.value]
    customer_id = who.customer_id if who.role is Role.CUSTOMER else None
    with uow:
        return uow.outbox.after(after, limit, roles=roles, customer_id=customer_id)


def settlements_of_day(uow: SqlAlchemyUnitOfWork, who: Actor, day: date) -> list[dict[str, Any]]:
    check_staff(who, Role.FINANCE)
    with uow:
        return uow.settlements.for_day(day)


def handoff(uow: SqlAlchemyUnitOfWork, ticket_id: int) -> dict[str, Any] | None:
    with uow:
        return uow.handoffs.get(ticket_id)


def handoffs(uow: SqlAlchemyUnitOfWork, who: Actor, status: str | None, limit: int) -> list[dict[str, Any]]:
    check_staff(who)
    with uow:
        return uow.handoffs.list(status, limit)


def handoff_messages(
    uow: SqlAlchemyUnitOfWork, ticket_ids: list[int], limit: int = 500
) -> list[dict[str, Any]]:
    """What customers wrote to staff under these tickets, as conversation items, oldest first (the
    last ``limit``)."""
    with uow:
        return [
            {"speaker": "customer", "text": m["text"], "at": m["at"]}
            for m in uow.handoffs.messages(ticket_ids, limit)
        ]


def staff_users(uow: SqlAlchemyUnitOfWork, who: Actor) -> list[dict[str, Any]]:
    check_staff(who)
    with uow:
        return uow.users.list()


# --- the console's charts (plain SELECTs; no unit of work needed) ----------------------------------


def _day_window(days: int, tz, today: date | None = None) -> tuple[list[date], datetime]:
    """The last ``days`` local days, oldest first, and the UTC instant the first one starts."""
    today = today or datetime.now(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(timezone.utc)
    return [first + timedelta(days=i) for i in range(days)], start


def orders_by_state(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(orders.c.status, func.count()).group_by(orders.c.status)).all()
    counts = {OrderStatus(status): n for status, n in rows}
    return [{"status": s.value, "label": STATUS_LABELS[s], "count": counts.get(s, 0)} for s in OrderStatus]


def imports_per_day(engine: Engine, days: int, tz, today: date | None = None) -> list[dict[str, Any]]:
    """Imports started on each local day, with their rows and quarantined rows (from their reports)."""
    window, start = _day_window(days, tz, today)
    totals = {d: {"imports": 0, "rows": 0, "quarantined": 0} for d in window}
    with engine.connect() as connection:
        rows = connection.execute(
            select(imports.c.started_at, imports.c.report).where(imports.c.started_at >= start)
        ).all()
    for started_at, report in rows:
        day = started_at.astimezone(tz).date()
        if day not in totals:
            continue
        report = report if isinstance(report, dict) else json.loads(report or "{}")
        totals[day]["imports"] += 1
        totals[day]["rows"] += int(report.get("rows") or 0)
        totals[day]["quarantined"] += int(report.get("quarantined") or 0)
    return [{"day": d.isoformat(), **totals[d]} for d in window]


def settlements_per_day(engine: Engine, days: int, tz, today: date | None = None) -> list[dict[str, Any]]:
    """Orders settled per settlement day, with the amounts due per currency."""
    window, _ = _day_window(days, tz, today)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                settlements.c.settlement_day,
                settlements.c.currency,
                func.count(),
                func.sum(settlements.c.amount_due),
            )
            .where(settlements.c.settlement_day >= window[0], settlements.c.settlement_day <= window[-1])
            .group_by(settlements.c.settlement_day, settlements.c.currency)
        ).all()
    count: Counter[date] = Counter()
    amounts: dict[date, dict[str, str]] = defaultdict(dict)
    for day, currency, n, total in rows:
        count[day] += n
        amounts[day][currency] = f"{total or 0:.2f}"
    return [{"day": d.isoformat(), "orders": count[d], "amount_due": amounts.get(d, {})} for d in window]


def notification_latency(engine: Engine, days: int, now: datetime | None = None) -> dict[str, Any]:
    """How long notifications waited in the outbox (created_at -> dispatched_at), as a histogram."""
    since = (now or utcnow()) - timedelta(days=days)
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.created_at, outbox.c.dispatched_at).where(outbox.c.created_at >= since)
        ).all()
    waits = sorted(
        max((dispatched - created).total_seconds(), 0.0) for created, dispatched in rows if dispatched
    )
    labels = [f"≤ {b:g} s" for b in LATENCY_BUCKETS] + [f"> {LATENCY_BUCKETS[-1]:g} s"]
    counts = [0] * len(labels)
    for wait in waits:
        counts[next((i for i, b in enumerate(LATENCY_BUCKETS) if wait <= b), len(LATENCY_BUCKETS))] += 1

    def percentile(p: float) -> float | None:
        return round(waits[min(len(waits) - 1, int(p * len(waits)))], 3) if waits else None

    return {
        "buckets": [{"label": label, "count": n} for label, n in zip(labels, counts, strict=True)],
        "dispatched": len(waits),
        "pending": len(rows) - len(waits),
        "p50_s": percentile(0.5),
        "p95_s": percentile(0.95),
        "max_s": round(waits[-1], 3) if waits else None,
    }


# --- a handoff's conversation: what Rasa holds, and what staff answered ------------------------------


def staff_answers(engine: Engine, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    """What staff answered on this ticket (the outbox rows of services.reply_handoff)."""
    if not ticket.get("customer_id"):
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.created_at, outbox.c.message_en, outbox.c.data).where(
                outbox.c.event_type == "handoff_reply", outbox.c.customer_id == ticket["customer_id"]
            )
        ).all()
        # Who answered is in the audit trail (written in the same transaction, at the same time),
        # not in the outbox row: the customer receives that one.
        authors = dict(
            connection.execute(
                select(audit_log.c.at, audit_log.c.actor).where(
                    audit_log.c.action == "handoff_reply", audit_log.c.to_value == f"ticket {ticket['id']}"
                )
            ).all()
        )
    return [
        {"speaker": "staff", "text": text, "at": created_at, "by": authors.get(created_at)}
        for created_at, text, data in rows
        if (data or {}).get("ticket_id") == ticket["id"]
    ]
