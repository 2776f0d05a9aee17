"""The order service's Flask application: it only registers what the other modules define.

The API's resources live in ``orders.entrypoints.http`` (one module each), the web pages in ``web``,
the notification hub in ``hub``; their dependencies come from the composition root (``orders.bootstrap``).
"""

from __future__ import annotations

from flask import Flask, request
from sqlalchemy import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from orders.bootstrap import bootstrap
from orders.config import Settings
from orders.entrypoints.http import (
    audit,
    auth,
    carriers,
    chat,
    handoffs,
    imports,
    invoices,
    notifications,
    service,
    settlements,
    stats,
    users,
)
from orders.entrypoints.http import orders as order_routes
from orders.entrypoints.http.dependencies import Dependencies, install
from orders.entrypoints.http.errors import register_error_handlers
from orders.entrypoints.hub import register_hub
from orders.entrypoints.observability import register_observability
from orders.entrypoints.openapi import check_text
from orders.entrypoints.web import register_web

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def refuse_control_characters_in_the_path() -> None:
    """A path with a control character (``/api/v1/orders/SO%00X``) names nothing: 400, before any
    route reads it (PostgreSQL would refuse the NUL with an error)."""
    check_text(request.path, "path")


RESOURCES = (
    service,
    auth,
    chat,
    order_routes,
    invoices,
    audit,
    notifications,
    settlements,
    imports,
    carriers,
    handoffs,
    users,
    stats,
)


def create_app(
    engine: Engine, settings: Settings | None = None, dependencies: Dependencies | None = None
) -> Flask:
    dependencies = dependencies or bootstrap(settings, engine)
    settings = dependencies.settings
    app = Flask(__name__)
    app.json.ensure_ascii = False  # Chinese names and labels readable in the raw JSON
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    if settings.trusted_proxies:
        # Behind a TLS-terminating proxy the request's scheme, host and client address are the
        # proxy's; its X-Forwarded-* headers say what the browser used (the pages' hub URL and CSP).
        trusted = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)
    install(app, dependencies)
    # First of the request hooks: the request id is set before anything else logs.
    register_observability(app, engine, log_access=settings.log_format == "json")
    register_error_handlers(app)
    app.before_request(refuse_control_characters_in_the_path)
    for resource in RESOURCES:
        resource.routes.register(app, dependencies.spec)
    register_web(app)  # the chat page and the staff console
    register_hub(app, engine, settings)  # /ws/notifications: outbox events pushed to signed-in clients
    return app
