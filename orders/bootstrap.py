"""The order service's composition root: the one place that wires its dependencies from the settings.

The server and the tests call ``bootstrap`` (tests with settings of their own, or their own objects in
place of any part), the CLI ``migrated_engine``; nothing else builds a token signer, reads the carriers
file, decides whether Rasa's conversations can be read, where sign-in failures are counted, or opens the
order database.
"""

from __future__ import annotations

from sqlalchemy import Engine

from orders.adapters.carriers_file import load_carriers
from orders.adapters.database import make_engine, upgrade
from orders.adapters.rasa_conversations import RasaConversations
from orders.adapters.signin_tallies import InProcessTallies, RedisTallies
from orders.config import Settings
from orders.entrypoints.auth import TokenSigner
from orders.entrypoints.http.dependencies import Dependencies
from orders.entrypoints.openapi import ApiSpec
from orders.service_layer.signin_throttle import SigninThrottle, ThrottleLimits

API_DESCRIPTION = (
    "Orders, their workflow, invoices, settlements, imports, notifications and users. "
    "Authenticate with a bearer token from /api/v1/auth/token (staff) or /api/v1/auth/customer."
)


def bootstrap(settings: Settings | None = None, engine: Engine | None = None, **overrides) -> Dependencies:
    """Everything the order service works with, built from ``settings`` (the environment when None);
    ``overrides`` replace parts by name (``signer=...``, ``conversations=...``)."""
    settings = settings or Settings.from_env()
    parts = {
        "settings": settings,
        "engine": engine if engine is not None else make_engine(settings.database_url),
        "signer": TokenSigner.from_settings(
            settings.jwt_secret,
            settings.var_dir,
            settings.token_minutes,
            settings.service_token,
            settings.invoice_link_seconds,
        ),
        "carriers": load_carriers(settings.carriers_file),
        "conversations": RasaConversations.from_settings(settings.rasa_url, settings.rasa_auth_token),
        "spec": ApiSpec("orderbot order service", "1", API_DESCRIPTION),
        "signin_throttle": signin_throttle(settings),
    }
    return Dependencies(**(parts | overrides))


def signin_throttle(settings: Settings) -> SigninThrottle:
    """Sign-in throttling, its tallies shared through Redis when ORDERBOT_REDIS_URL is set (every
    order-service process sees every failure), else kept in this process."""
    if settings.redis_url:
        tallies = RedisTallies(settings.redis_url, settings.signin_redis_prefix)
    else:
        tallies = InProcessTallies()
    return SigninThrottle(tallies, ThrottleLimits.from_settings(settings))


def migrated_engine(settings: Settings) -> Engine:
    """The order database at the latest schema: what the command line's commands work on."""
    upgrade(settings.database_url)
    return make_engine(settings.database_url)
