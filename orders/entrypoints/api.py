"""The REST API (Flask). Thin: parse the request, call the service layer, shape the answer."""

from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy import Engine, text
from werkzeug.exceptions import HTTPException

from orders.domain.labels import PAYMENT_LABELS, STATUS_LABELS
from orders.domain.model import Order
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork


def error(status: int, code: str, message: str, **details):
    """The one error shape of the API: {"error": {"code", "message", ...details}}."""
    response = jsonify({"error": {"code": code, "message": message, **details}})
    response.status_code = status
    return response


def order_json(order: Order) -> dict:
    return {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "customer_name": order.customer_name,
        "status": order.status.value,
        "status_label": STATUS_LABELS[order.status],
        "payment_status": order.payment_status.value,
        "payment_label": PAYMENT_LABELS[order.payment_status],
        "amount": f"{order.amount:.2f}",
        "currency": order.currency,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "version": order.version,
    }


def create_app(engine: Engine) -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # Chinese names and labels readable in the raw JSON
    uow = SqlAlchemyUnitOfWork(engine)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unhandled error")
        return error(500, "internal_error", "The order service failed to handle this request.")

    @app.get("/health")
    def health():
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # the health check reports, it does not raise
            return error(503, "database_unavailable", f"database check failed: {type(exc).__name__}")
        return jsonify({"status": "ok", "service": "orders"})

    @app.get("/api/v1/orders/<order_id>")
    def get_order(order_id: str):
        with uow:
            order = uow.orders.get(order_id.strip().upper())
            if order is None:
                return error(404, "order_not_found", f"No order {order_id} was found.", order_id=order_id)
            return jsonify(order_json(order))

    return app
