"""Staff users: list and add them, link their Slack or DingTalk ids (operations)."""

from __future__ import annotations

from flask import Response, jsonify

from orders.domain.access import Role, check_staff
from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, new_uow
from orders.entrypoints.http.errors import COMMON, ERROR, error
from orders.entrypoints.http.serializers import user_json
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import users, views

routes = ApiRoutes()


@routes.operation(
    "/api/v1/users",
    "GET",
    summary="Staff users (operations)",
    tag="users",
    responses={200: ("users", schemas.UserList), 403: ("not allowed", ERROR), **COMMON},
)
def list_users():
    return jsonify({"items": [user_json(row) for row in views.staff_users(new_uow(), actor())]})


@routes.operation(
    "/api/v1/users",
    "POST",
    summary="Add a staff user (operations)",
    tag="users",
    body=schemas.UserIn,
    responses={
        201: ("added", schemas.UserOut),
        403: ("not allowed", ERROR),
        409: ("exists", ERROR),
        **COMMON,
    },
)
def add_user(body: schemas.UserIn):
    check_staff(actor())
    try:
        users.add_user(new_uow(), body.username, body.password, Role(body.role), body.display_name or "")
    except users.UserExists as problem:
        return error(409, "user_refused", str(problem))
    except users.UserError as problem:
        return error(400, "user_refused", str(problem))
    display_name = body.display_name or body.username
    response = jsonify(
        {"username": body.username, "role": body.role, "display_name": display_name, "active": True}
    )
    response.status_code = 201
    return response


@routes.operation(
    "/api/v1/users/<username>/links",
    "POST",
    summary="Link a Slack or DingTalk user id to a staff user (operations)",
    tag="users",
    body=schemas.LinkIn,
    responses={204: ("linked", None), 403: ("not allowed", ERROR), 404: ("no such user", ERROR), **COMMON},
)
def link_user(username: str, body: schemas.LinkIn):
    check_staff(actor())
    try:
        users.link_platform_user(new_uow(), body.platform, body.platform_user_id, username)
    except users.UnknownUser as problem:
        return error(404, "user_not_found", str(problem))
    except users.UserError as problem:
        return error(400, "user_refused", str(problem))
    return Response(status=204)
