"""Statistics for the console's charts: orders by state, imports, settlements, notification delivery
latency and conversations, per day."""

from __future__ import annotations

from flask import jsonify

from orders.domain.access import Role, check_staff
from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, deps
from orders.entrypoints.http.errors import COMMON, ERROR
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import views
from orders.service_layer.analytics import daily_figures

routes = ApiRoutes()
STAFF_ONLY = {403: ("not allowed", ERROR), **COMMON}


@routes.operation(
    "/api/v1/stats/orders-by-state",
    "GET",
    summary="How many orders are in each state",
    tag="stats",
    responses={200: ("counts", schemas.StateCountList), **STAFF_ONLY},
)
def stats_orders_by_state():
    check_staff(actor(), Role.WAREHOUSE, Role.FINANCE)
    return jsonify({"items": views.orders_by_state(deps().engine)})


@routes.operation(
    "/api/v1/stats/imports",
    "GET",
    summary="Imports per day, with their rows and quarantined rows",
    tag="stats",
    query=schemas.ImportStatsQuery,
    responses={200: ("days", schemas.ImportDayList), **STAFF_ONLY},
)
def stats_imports(query: schemas.ImportStatsQuery):
    check_staff(actor())
    return jsonify({"items": views.imports_per_day(deps().engine, query.days, deps().settings.timezone)})


@routes.operation(
    "/api/v1/stats/settlements",
    "GET",
    summary="Orders settled per day, with the amounts due per currency",
    tag="stats",
    query=schemas.SettlementStatsQuery,
    responses={200: ("days", schemas.SettlementDayList), **STAFF_ONLY},
)
def stats_settlements(query: schemas.SettlementStatsQuery):
    check_staff(actor(), Role.FINANCE)
    return jsonify({"items": views.settlements_per_day(deps().engine, query.days, deps().settings.timezone)})


@routes.operation(
    "/api/v1/stats/notification-latency",
    "GET",
    summary="How long notifications waited in the outbox",
    tag="stats",
    query=schemas.LatencyStatsQuery,
    responses={200: ("a histogram", schemas.NotificationLatencyOut), **STAFF_ONLY},
)
def stats_notification_latency(query: schemas.LatencyStatsQuery):
    check_staff(actor())
    return jsonify(views.notification_latency(deps().engine, query.days))


@routes.operation(
    "/api/v1/stats/conversations",
    "GET",
    summary="Assistant turns, fallbacks and top intents per day",
    tag="stats",
    query=schemas.ConversationStatsQuery,
    responses={200: ("days", schemas.ConversationDayList), **STAFF_ONLY},
)
def stats_conversations(query: schemas.ConversationStatsQuery):
    check_staff(actor())
    figures = daily_figures(deps().engine, query.days, deps().settings.timezone)
    return jsonify(
        {
            "items": [
                {
                    "day": f.day.isoformat(),
                    "turns": f.turns,
                    "fallbacks": f.fallbacks,
                    "fallback_rate": round(f.fallback_rate, 4),
                    "top_intents": [{"intent": name, "count": n} for name, n in f.top_intents],
                }
                for f in figures
            ]
        }
    )
