"""Orders: list and read them, move them through their workflow, record their shipment."""

from __future__ import annotations

from flask import jsonify

from orders.adapters.repositories import OrderQuery
from orders.domain.model import Action, OrderStatus
from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, deps, expected_version, new_uow
from orders.entrypoints.http.errors import COMMON, ERROR
from orders.entrypoints.http.idempotency import idempotent
from orders.entrypoints.http.serializers import order_json, with_etag
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import services

routes = ApiRoutes()


@routes.operation(
    "/api/v1/orders",
    "GET",
    summary="List orders (filters, search, sort, paging)",
    tag="orders",
    query=schemas.OrderListQuery,
    responses={200: ("a page", schemas.OrderPage), **COMMON},
)
def list_orders(query: schemas.OrderListQuery):
    who = actor()
    found, total = services.list_orders(
        new_uow(),
        OrderQuery(
            status=OrderStatus(query.status) if query.status else None,
            customer_id=query.customer_id,
            created_from=query.created_from,
            created_to=query.created_to,
            search=query.q,
            sort=query.sort,
            descending=query.order == "desc",
            page=query.page,
            page_size=query.page_size,
        ),
        who,
    )
    items = [order_json(order, who) for order in found]
    return jsonify({"items": items, "total": total, "page": query.page, "page_size": query.page_size})


@routes.operation(
    "/api/v1/orders/<order_id>",
    "GET",
    summary="One order",
    tag="orders",
    responses={200: ("the order", schemas.OrderOut), 404: ("no such order", ERROR), **COMMON},
)
def get_order(order_id: str):
    return with_etag(services.get_order(new_uow(), order_id, actor()), actor())


@routes.operation(
    "/api/v1/orders/<order_id>/transitions",
    "POST",
    summary="Move an order through its workflow: confirm, cancel, stock_in, ship, pay",
    tag="orders",
    body=schemas.TransitionRequest,
    headers=(("If-Match", "the order's ETag"), ("Idempotency-Key", "makes retries safe")),
    responses={
        200: ("the changed order", schemas.OrderOut),
        403: ("not allowed", ERROR),
        404: ("no such order", ERROR),
        409: ("illegal in this state", ERROR),
        412: ("version mismatch", ERROR),
        422: ("refused by a rule", ERROR),
        **COMMON,
    },
)
@idempotent
def transition(order_id: str, body: schemas.TransitionRequest):
    change = services.Change(Action(body.action), body.reason)
    order = services.change_order(new_uow(), order_id, change, actor(), deps().carriers, expected_version())
    return with_etag(order, actor())


@routes.operation(
    "/api/v1/orders/<order_id>/shipment",
    "PUT",
    summary="Record or change the carrier and tracking number (only while awaiting shipment)",
    tag="orders",
    body=schemas.ShipmentRequest,
    headers=(("If-Match", "the order's ETag"),),
    responses={
        200: ("the changed order", schemas.OrderOut),
        403: ("not allowed", ERROR),
        404: ("no such order", ERROR),
        409: ("not awaiting shipment", ERROR),
        412: ("version mismatch", ERROR),
        422: ("unknown carrier or bad number", ERROR),
        **COMMON,
    },
)
def record_shipment(order_id: str, body: schemas.ShipmentRequest):
    change = services.Change(
        Action.RECORD_SHIPMENT, carrier=body.carrier, tracking_number=body.tracking_number
    )
    order = services.change_order(new_uow(), order_id, change, actor(), deps().carriers, expected_version())
    return with_etag(order, actor())
