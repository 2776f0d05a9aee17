"""Signing in: staff with a password, customers with an order number and its e-mail or phone, chat
users of the staff directory through the action server; and who a token belongs to.

Password and order-number sign-ins are throttled (``orders.service_layer.signin_throttle``): after a
few failures, 429 with ``Retry-After``, checked before the credentials."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import jsonify

from orders.domain.access import Actor, Role, Source, capabilities
from orders.entrypoints import schemas
from orders.entrypoints.auth import Unauthenticated
from orders.entrypoints.http.dependencies import (
    CHAT_USER_HEADER,
    actor,
    deps,
    is_service_call,
    new_uow,
    signin_attempt,
)
from orders.entrypoints.http.errors import COMMON, ERROR, THROTTLED, error
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import users

routes = ApiRoutes()


def token_json(who: Actor) -> dict[str, Any]:
    signer = deps().signer
    return {
        "access_token": signer.issue(who),
        "token_type": "Bearer",
        "expires_in": int(signer.ttl / timedelta(seconds=1)),
        "role": who.role.value,
        "subject": who.name,
    }


@routes.operation(
    "/api/v1/auth/token",
    "POST",
    summary="Staff sign-in",
    tag="auth",
    auth=False,
    body=schemas.TokenRequest,
    responses={200: ("token", schemas.TokenResponse), **COMMON, **THROTTLED},
)
def staff_token(body: schemas.TokenRequest):
    with signin_attempt("staff", body.username.strip().casefold()) as attempt:
        who = users.authenticate(new_uow(), body.username, body.password, Source.REST)
        if who is None:
            attempt.failed()
            return error(401, "invalid_credentials", "Wrong user name or password.")
        attempt.succeeded()
    return jsonify(token_json(who))


@routes.operation(
    "/api/v1/auth/customer",
    "POST",
    summary="Customer sign-in with an order number and the e-mail or phone on it",
    tag="auth",
    auth=False,
    body=schemas.CustomerTokenRequest,
    headers=((CHAT_USER_HEADER, "the chat user signing in (the action server's calls only)"),),
    responses={200: ("token", schemas.TokenResponse), **COMMON, **THROTTLED},
)
def customer_token(body: schemas.CustomerTokenRequest):
    with signin_attempt("customer", body.order_id.strip().upper()) as attempt:
        customer_id = users.identify_customer(new_uow(), body.order_id, body.email, body.phone)
        if customer_id is None:
            attempt.failed()
            return error(
                401, "invalid_credentials", "That order number and e-mail or phone do not match an order."
            )
        attempt.succeeded()
    return jsonify(token_json(Actor(f"customer:{customer_id}", Role.CUSTOMER, Source.REST, customer_id)))


@routes.operation(
    "/api/v1/auth/staff-link",
    "POST",
    summary="Token for a chat user of the staff directory (action server only)",
    tag="auth",
    body=schemas.StaffLinkTokenRequest,
    responses={200: ("token", schemas.TokenResponse), 404: ("not in the staff directory", ERROR), **COMMON},
)
def staff_link_token(body: schemas.StaffLinkTokenRequest):
    if not is_service_call():
        raise Unauthenticated("Only the action server may exchange a chat user id for a token.")
    who = users.staff_for_platform_user(new_uow(), body.platform, body.platform_user_id)
    if who is None:
        return error(404, "unknown_staff_user", "This chat user is not in the staff directory.")
    return jsonify(token_json(who))


@routes.operation(
    "/api/v1/me",
    "GET",
    summary="Who the token belongs to",
    tag="auth",
    responses={200: ("the caller", schemas.MeOut), **COMMON},
)
def me():
    who = actor()
    return jsonify(
        {
            "subject": who.name,
            "role": who.role.value,
            "customer_id": who.customer_id,
            "may": sorted(capabilities(who.role)),
        }
    )
