"""The one error shape of the API, {"error": {"code", "message", ...details}}, and the handlers that
turn the domain's and the service layer's exceptions into it: never a 500 for a client's mistake."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from orderbot_common.waits import wait_in_words
from werkzeug.exceptions import HTTPException

from orders.domain.access import NotPermitted
from orders.domain.errors import DomainError
from orders.domain.model import IllegalTransition
from orders.entrypoints import schemas
from orders.entrypoints.auth import Unauthenticated
from orders.entrypoints.observability import SIGNIN_THROTTLED
from orders.entrypoints.openapi import RequestInvalid
from orders.service_layer import services
from orders.service_layer.signin_throttle import SigninThrottled

log = logging.getLogger(__name__)

# For the OpenAPI document: the error body, and the answers every signed-in route may give.
ERROR = schemas.ErrorBody
COMMON = {400: ("invalid request", ERROR), 401: ("not signed in", ERROR)}
THROTTLED = {429: ("too many failed sign-ins: wait the Retry-After header's seconds", ERROR)}


def error(http_status: int, code: str, message: str, **details):
    """The one error shape of the API: {"error": {"code", "message", ...details}}."""
    response = jsonify({"error": {"code": code, "message": message, **details}})
    response.status_code = http_status
    return response


def http_error(exc: HTTPException):
    return error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)


def invalid_request(exc: RequestInvalid):
    return error(400, "invalid_request", str(exc), problems=exc.details)


def unauthenticated(exc: Unauthenticated):
    response = error(401, "unauthenticated", str(exc))
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def not_found(exc: services.OrderNotFound):
    return error(404, "order_not_found", str(exc), order_id=exc.order_id)


def forbidden(exc: NotPermitted):
    return error(403, "forbidden", str(exc))


def illegal(exc: IllegalTransition):
    return error(
        409,
        exc.code,
        str(exc),
        order_id=exc.order_id,
        status=exc.status.value,
        action=exc.action.value,
        allowed_actions=exc.allowed,
    )


def concurrent(exc: services.ConcurrentUpdate):
    return error(409, "concurrent_update", str(exc))


def stale(exc: services.VersionMismatch):
    return error(412, "version_mismatch", str(exc), current_version=exc.current_version)


def no_ticket(exc: services.HandoffNotFound):
    return error(404, "ticket_not_found", str(exc))


def ticket_closed(exc: services.HandoffClosed):
    return error(409, exc.code, str(exc))


def refused(exc: DomainError):
    return error(422, exc.code, str(exc))


def throttled(exc: SigninThrottled):
    SIGNIN_THROTTLED.labels(exc.kind).inc()
    response = error(
        429,
        "too_many_attempts",
        f"Too many failed sign-ins. Try again in {wait_in_words(exc.retry_after)}.",
        retry_after_s=exc.retry_after,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def unexpected(exc: Exception):
    log.exception("unhandled error")
    return error(500, "internal_error", "The order service failed to handle this request.")


HANDLERS = (
    (HTTPException, http_error),
    (RequestInvalid, invalid_request),
    (Unauthenticated, unauthenticated),
    (services.OrderNotFound, not_found),
    (NotPermitted, forbidden),
    (IllegalTransition, illegal),
    (services.ConcurrentUpdate, concurrent),
    (services.VersionMismatch, stale),
    (services.HandoffNotFound, no_ticket),
    (services.HandoffClosed, ticket_closed),
    (DomainError, refused),
    (SigninThrottled, throttled),
    (Exception, unexpected),
)


def register_error_handlers(app: Flask) -> None:
    for exception, handler in HANDLERS:
        app.register_error_handler(exception, handler)
