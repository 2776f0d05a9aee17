"""An order's invoice, as JSON and as a PDF."""

from __future__ import annotations

from flask import Response, jsonify

from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, new_uow
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
    summary="The invoice of an order",
    tag="invoices",
    responses={200: ("the invoice", schemas.InvoiceOut), **NOT_YET},
)
def get_invoice(order_id: str):
    order, invoice = views.invoice(new_uow(), order_id, actor())
    if invoice is None:
        message = f"Order {order.order_id} has no invoice yet: it is issued when the order is confirmed."
        return error(404, "invoice_not_found", message)
    return jsonify(invoice_json(order, invoice))


@routes.operation(
    "/api/v1/orders/<order_id>/invoice.pdf",
    "GET",
    summary="The invoice as a PDF",
    tag="invoices",
    responses={200: ("PDF", "application/pdf"), **NOT_YET},
)
def get_invoice_pdf(order_id: str):
    order, invoice, pdf = views.invoice_pdf(new_uow(), order_id, actor())
    if invoice is None:
        return error(404, "invoice_not_found", f"Order {order.order_id} has no invoice yet.")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{invoice["number"]}.pdf"'
    return response
