"""The settlement of unpaid orders: run one for a day, read a day's."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify

from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, deps, new_uow
from orders.entrypoints.http.errors import COMMON, ERROR
from orders.entrypoints.http.idempotency import idempotent
from orders.entrypoints.http.serializers import settlement_json
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import services, views

routes = ApiRoutes()


@routes.operation(
    "/api/v1/settlements",
    "POST",
    summary="Run the settlement of unpaid orders for a day",
    tag="settlements",
    body=schemas.SettlementRequest,
    headers=(("Idempotency-Key", "makes retries safe"),),
    responses={
        200: ("the run's report", schemas.SettlementReportOut),
        403: ("not allowed", ERROR),
        422: ("the day has not ended yet", ERROR),
        **COMMON,
    },
)
@idempotent
def run_settlement(body: schemas.SettlementRequest):
    report = services.settle_ended_day(new_uow(), body.date, actor(), deps().settings.timezone)
    return jsonify(asdict(report))


@routes.operation(
    "/api/v1/settlements",
    "GET",
    summary="Settlements of a day",
    tag="settlements",
    query=schemas.SettlementsQuery,
    responses={200: ("settlements", schemas.SettlementList), 403: ("not allowed", ERROR), **COMMON},
)
def list_settlements(query: schemas.SettlementsQuery):
    rows = views.settlements_of_day(new_uow(), actor(), query.date)
    return jsonify({"items": [settlement_json(row) for row in rows]})
