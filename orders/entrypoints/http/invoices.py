"""An order's invoice, as JSON and as a PDF; the PDF also through the caller's signed, short-lived link."""

from __future__ import annotations

from flask import Response, jsonify

from orders.entrypoints import schemas
from orders.entrypoints.auth import INVALID_LINK, Unauthenticated
from orders.entrypoints.http.dependencies import actor, deps, new_uow
from orders.entrypoints.http.errors import COMMON, ERROR, error
from orders.entrypoints.http.serializers import invoice_json
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import views

routes = ApiRoutes()
NOT_YET = {
    403: ("not allowed", ERROR),
    404: ("no order or no invoice yet", ERROR),
    **COMMON,
}


@routes.operation(
    "/api/v1/orders/<order_id>/invoice",
    "GET",
    summary="The invoice of an order, with a signed link to its PDF for the caller",
    tag="invoices",
    responses={200: ("the invoice", schemas.InvoiceOut), **NOT_YET},
)
def get_invoice(order_id: str):
    who = actor()
    order, invoice = views.invoice(new_uow(), order_id, who)
    if invoice is None:
        message = f"Order {order.order_id} has no invoice yet: it is issued when the order is confirmed."
        return error(404, "invoice_not_found", message)
    link = deps().signer.invoice_link(who, order.order_id, invoice["number"])
    return jsonify(invoice_json(order, invoice, link))


@routes.operation(
    "/api/v1/orders/<order_id>/invoice.pdf",
    "GET",
    summary="The invoice as a PDF: with the bearer token, or from the caller's signed link (no header)",
    tag="invoices",
    query=schemas.InvoicePdfQuery,
    responses={200: ("PDF", "application/pdf"), **NOT_YET},
)
def get_invoice_pdf(order_id: str, query: schemas.InvoicePdfQuery):
    if query.link_token is not None:
        # The link stands in for its holder's token, for this order's invoice alone; what that holder
        # may see is checked as for any request (another customer's order is not found).
        who, linked_number = deps().signer.invoice_link_holder(query.link_token, order_id)
    else:
        who, linked_number = actor(), None
    order, invoice, pdf = views.invoice_pdf(new_uow(), order_id, who)
    if invoice is None:
        return error(404, "invoice_not_found", f"Order {order.order_id} has no invoice yet.")
    if linked_number is not None and invoice["number"] != linked_number:
        raise Unauthenticated(INVALID_LINK)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{invoice["number"]}.pdf"'
    # Neither kept by a shared cache nor handed on as a Referer: the address may carry a link token.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
