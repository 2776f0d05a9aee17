"""The service itself: its health, and the OpenAPI document of the API."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import text

from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import deps
from orders.entrypoints.http.errors import ERROR, error
from orders.entrypoints.openapi import ApiRoutes

routes = ApiRoutes()


@routes.operation(
    "/health",
    "GET",
    summary="Health check",
    tag="service",
    auth=False,
    responses={200: ("healthy", schemas.Health), 503: ("database unavailable", ERROR)},
)
def health():
    try:
        with deps().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # the health check reports, it does not raise
        return error(503, "database_unavailable", f"database check failed: {type(exc).__name__}")
    return jsonify({"status": "ok", "service": "orders"})


@routes.undocumented("/api/v1/openapi.json", "GET")
def openapi():
    return jsonify(deps().spec.document())
