"""The audit trail: of one order, and the whole log (staff)."""

from __future__ import annotations

from flask import jsonify

from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, new_uow
from orders.entrypoints.http.errors import COMMON, ERROR
from orders.entrypoints.http.serializers import iso
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import views

routes = ApiRoutes()


@routes.operation(
    "/api/v1/orders/<order_id>/audit",
    "GET",
    summary="Audit trail of an order",
    tag="audit",
    responses={200: ("entries", schemas.AuditPage), 404: ("no such order", ERROR), **COMMON},
)
def order_audit(order_id: str):
    return jsonify({"items": [iso(e) for e in views.order_audit(new_uow(), order_id, actor())]})


@routes.operation(
    "/api/v1/audit",
    "GET",
    summary="The audit log (operations)",
    tag="audit",
    query=schemas.AuditQuery,
    responses={200: ("entries", schemas.AuditPage), 403: ("not allowed", ERROR), **COMMON},
)
def audit(query: schemas.AuditQuery):
    entries = views.recent_audit(new_uow(), actor(), query.after, query.limit)
    return jsonify({"items": [iso(e) for e in entries]})
