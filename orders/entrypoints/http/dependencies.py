"""What the routes work with, set up once by the composition root (``orders.bootstrap``), and who is
calling: the current request's actor, a fresh unit of work, the version the client expects."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, request
from sqlalchemy import Engine

from orders.adapters.rasa_conversations import RasaConversations
from orders.config import Settings
from orders.domain.access import Actor
from orders.domain.carriers import Carriers
from orders.entrypoints.auth import TokenSigner
from orders.entrypoints.openapi import ApiSpec, RequestInvalid, check_text
from orders.service_layer.signin_throttle import SigninAttempt, SigninThrottle
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

EXTENSION = "orderbot"
# The chat user a service call signs in for (the conversation's sender id, from the action server).
CHAT_USER_HEADER = "X-Orderbot-Chat-User"
MAX_CHAT_USER_CHARS = 128


@dataclass
class Dependencies:
    """The order service's wired objects; the server, the CLI and the tests build them in
    ``orders.bootstrap`` (tests with their own settings)."""

    settings: Settings
    engine: Engine
    signer: TokenSigner
    carriers: Carriers
    conversations: RasaConversations | None
    spec: ApiSpec
    signin_throttle: SigninThrottle
    hub: object | None = None  # the notification hub, once registered

    def new_uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine)  # one per use: a unit of work holds one thread's session


def install(app: Flask, dependencies: Dependencies) -> None:
    app.extensions[EXTENSION] = dependencies


def of(app: Flask) -> Dependencies:
    return app.extensions[EXTENSION]


def deps() -> Dependencies:
    """The current application's dependencies (inside a request)."""
    return of(current_app)


def new_uow() -> SqlAlchemyUnitOfWork:
    return deps().new_uow()


def actor() -> Actor:
    """Who sent this request, from its bearer token (401 when there is none or it is not valid)."""
    if "actor" not in g:
        g.actor = deps().signer.actor(request.headers.get("Authorization"))
    return g.actor


def is_service_call() -> bool:
    """Whether the action server sent this request with the service token."""
    return deps().signer.is_service(request.headers.get("Authorization"))


def signin_attempt(kind: str, account: str) -> SigninAttempt:
    """Start a sign-in of ``account`` by this request's caller, or raise ``SigninThrottled`` (429).

    The caller is the client's address (``ORDERBOT_TRUSTED_PROXIES`` decides whether a proxy's
    X-Forwarded-For names it), except on the action server's own calls: every chat user shares its
    address, so there the caller is the chat user it names in X-Orderbot-Chat-User (a header nobody
    else is believed on)."""
    chat_user = request.headers.get(CHAT_USER_HEADER)
    if chat_user and is_service_call():
        check_text(chat_user, f"{CHAT_USER_HEADER} header")
        if len(chat_user) > MAX_CHAT_USER_CHARS:
            raise RequestInvalid(f"{CHAT_USER_HEADER} is at most {MAX_CHAT_USER_CHARS} characters.")
        return deps().signin_throttle.attempt(kind, account, f"chat:{chat_user}", chat_user=True)
    return deps().signin_throttle.attempt(kind, account, request.remote_addr or "unknown")


def expected_version() -> int | None:
    """The order version in ``If-Match``, if the client sent one."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise RequestInvalid('If-Match must be the ETag of the order, like "3".') from None
