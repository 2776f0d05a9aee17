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
from orders.entrypoints.openapi import ApiSpec, RequestInvalid
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

EXTENSION = "orderbot"


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


def expected_version() -> int | None:
    """The order version in ``If-Match``, if the client sent one."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise RequestInvalid('If-Match must be the ETag of the order, like "3".') from None
