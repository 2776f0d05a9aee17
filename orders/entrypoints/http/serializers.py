"""Orders, invoices, audit entries, notifications and other rows as the API's JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import jsonify

from orders.domain.access import Actor, NotPermitted, check_permitted
from orders.domain.labels import PAYMENT_LABELS, STATUS_LABELS
from orders.domain.model import Action, Order
from orders.entrypoints.auth import InvoiceLink
from orders.entrypoints.http.dependencies import deps


def permitted_actions(order: Order, who: Actor) -> list[str]:
    """The actions of the workflow that ``who`` may take on ``order`` now."""
    permitted = []
    for name in order.allowed_actions():
        try:
            check_permitted(who, order, Action(name))
        except NotPermitted:
            continue
        permitted.append(name)
    return permitted


def order_json(order: Order, who: Actor) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "customer_name": order.customer_name,
        "status": order.status.value,
        "status_label": STATUS_LABELS[order.status],
        "payment_status": order.payment_status.value,
        "payment_label": PAYMENT_LABELS[order.payment_status],
        "allowed_actions": permitted_actions(order, who),
        "amount": f"{order.amount:.2f}",
        "currency": order.currency,
        "freight": f"{order.freight:.2f}" if order.freight is not None else None,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "shipped_at": order.shipped_at.isoformat() if order.shipped_at else None,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": deps().carriers.tracking_page(order.carrier, order.tracking_number),
        "version": order.version,
    }


def with_etag(order: Order, who: Actor, status: int = 200):
    response = jsonify(order_json(order, who))
    response.status_code = status
    response.headers["ETag"] = f'"{order.version}"'
    return response


def iso(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its dates and times as ISO 8601 text."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def invoice_json(order: Order, invoice: dict[str, Any], link: InvoiceLink) -> dict[str, Any]:
    """The invoice, with its PDF's address for a request with the bearer token (``pdf_url``) and the
    caller's own signed ``link`` to it, which a browser opens without one (``pdf_link``)."""
    pdf_url = f"/api/v1/orders/{quote(order.order_id, safe='')}/invoice.pdf"
    return {
        "number": invoice["number"],
        "order_id": order.order_id,
        "customer_name": invoice["customer_name"],
        "amount": f"{invoice['amount']:.2f}",
        "currency": invoice["currency"],
        "issued_at": invoice["issued_at"].isoformat(),
        "pdf_url": pdf_url,
        "pdf_link": f"{pdf_url}?link_token={link.token}",
        "pdf_link_expires_at": link.expires_at.isoformat(),
    }


def notification_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "created_at": row["created_at"].isoformat(),
        "recipient_role": row["recipient_role"],
        "customer_id": row["customer_id"],
        "order_id": row["order_id"],
        "event_type": row["event_type"],
        "message": {"en": row["message_en"], "zh": row["message_zh"]},
        "data": row["data"],
    }


def settlement_json(row: dict[str, Any]) -> dict[str, Any]:
    return iso({**row, "amount_due": f"{row['amount_due']:.2f}", "freight": f"{row['freight']:.2f}"})


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("username", "role", "display_name", "active")}
