"""Notifications for the caller, after an id (what the hub pushes, for a client that polls or catches up)."""

from __future__ import annotations

from flask import jsonify

from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, new_uow
from orders.entrypoints.http.errors import COMMON
from orders.entrypoints.http.serializers import notification_json
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import views

routes = ApiRoutes()


@routes.operation(
    "/api/v1/notifications",
    "GET",
    summary="Notifications for the caller's role, after an id",
    tag="notifications",
    query=schemas.NotificationsQuery,
    responses={200: ("notifications", schemas.NotificationPage), **COMMON},
)
def notifications(query: schemas.NotificationsQuery):
    rows = views.notifications(new_uow(), actor(), query.after, query.limit)
    items = [notification_json(row) for row in rows]
    return jsonify({"items": items, "last_id": items[-1]["id"] if items else query.after})
