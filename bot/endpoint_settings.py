"""What bot/endpoints.py hands Rasa, worked out from the environment: plain data, no Rasa import, so
that the deployment's tests (tests/deploy, in the other Python environment) check the same rules.

==============  ==========================================================  ======================
what            set (first match wins)                                      unset
==============  ==========================================================  ======================
tracker store   ``RASA_TRACKER_URL`` (an SQLAlchemy URL), or                SQLite at
                ``RASA_TRACKER_HOST`` with ``RASA_TRACKER_PORT`` (5432),     ``RASA_TRACKER_DB``
                ``RASA_TRACKER_DATABASE`` (rasa), ``RASA_TRACKER_USER``,     (var/rasa_tracker.db)
                ``RASA_TRACKER_PASSWORD``, ``RASA_TRACKER_DIALECT``
                (postgresql): Rasa's ``SQLTrackerStore``
lock store      ``RASA_LOCK_URL`` (``redis://[user:password@]host[:port]     in memory
                [/db]``), or ``RASA_LOCK_HOST`` with ``RASA_LOCK_PORT``
                (6379), ``RASA_LOCK_DB`` (1), ``RASA_LOCK_USER``,
                ``RASA_LOCK_PASSWORD``: Rasa's ``RedisLockStore``;
                ``RASA_LOCK_KEY_PREFIX`` (alphanumeric) over the file's
event broker    ``RASA_BROKER_URL`` (``amqp://user:password@host[:port]/``),  none
                or ``RASA_BROKER_HOST`` with ``RASA_BROKER_PORT`` (5672),
                ``RASA_BROKER_USER``/``RASA_BROKER_PASSWORD`` (guest);
                ``RASA_BROKER_QUEUE`` (rasa_events), ``RASA_BROKER_EXCHANGE``
                (rasa-exchange): Rasa's ``PikaEventBroker``
==============  ==========================================================  ======================

An empty variable counts as unset (Compose passes ``${VAR:-}`` as ""). Keys written under a store in
``endpoints.yml`` are defaults that the environment overrides, and any other key is handed to Rasa's
class as it is (``connection_attempts``, ``login_db``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_SQLITE_TRACKER = "var/rasa_tracker.db"
DEFAULT_QUEUE = "rasa_events"
DEFAULT_EXCHANGE = "rasa-exchange"  # Rasa's own default
DEFAULT_REDIS_LOCK_DB = 1  # Rasa's own default; the order service's hub uses db 0


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def _port(value: str | int | None, variable: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{variable} must be a port number, not {value!r}") from None


def redact(url: str) -> str:
    """``url`` with its password replaced by ***, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


# --- tracker store -------------------------------------------------------------------------------------


def tracker_store_settings(env: Mapping[str, str], options: Mapping[str, Any] | None = None) -> dict:
    """The keyword arguments of Rasa's ``SQLTrackerStore`` for this environment."""
    settings = {k: v for k, v in (options or {}).items() if k not in ("url", "type")}
    url = _get(env, "RASA_TRACKER_URL")
    host = _get(env, "RASA_TRACKER_HOST")
    if url:
        if url.startswith("postgres://"):  # Heroku's spelling; SQLAlchemy 1.4 wants postgresql://
            url = "postgresql://" + url.removeprefix("postgres://")
        for key in ("dialect", "port", "db", "username", "password"):
            settings.pop(key, None)
        settings["host"] = url  # SQLTrackerStore takes a host with "://" as the whole URL
        return settings
    if host:
        settings.update(
            dialect=_get(env, "RASA_TRACKER_DIALECT") or settings.get("dialect") or "postgresql",
            host=host,
            port=_port(_get(env, "RASA_TRACKER_PORT") or settings.get("port") or 5432, "RASA_TRACKER_PORT"),
            db=_get(env, "RASA_TRACKER_DATABASE") or settings.get("db") or "rasa",
            username=_get(env, "RASA_TRACKER_USER") or settings.get("username"),
            password=_get(env, "RASA_TRACKER_PASSWORD") or settings.get("password"),
        )
        if settings["dialect"] == "sqlite":
            raise ValueError("RASA_TRACKER_HOST names a database server; for SQLite set RASA_TRACKER_DB")
        return settings
    db = _get(env, "RASA_TRACKER_DB") or settings.get("db") or DEFAULT_SQLITE_TRACKER
    for key in ("host", "port", "username", "password", "login_db"):
        settings.pop(key, None)
    settings.update(dialect="sqlite", db=db)
    return settings


def describe_tracker_store(settings: Mapping[str, Any]) -> str:
    if settings.get("dialect") == "sqlite":
        return f"SQLite {settings['db']}"
    if "://" in str(settings.get("host", "")):
        return redact(settings["host"])
    user = f"{settings['username']}@" if settings.get("username") else ""
    return f"{settings['dialect']}://{user}{settings['host']}:{settings['port']}/{settings['db']}"


# --- lock store ----------------------------------------------------------------------------------------


def lock_store_settings(env: Mapping[str, str], options: Mapping[str, Any] | None = None) -> dict | None:
    """The keyword arguments of Rasa's ``RedisLockStore``, or None for the in-memory lock store."""
    settings = {k: v for k, v in (options or {}).items() if k not in ("url", "type")}
    url = _get(env, "RASA_LOCK_URL")
    host = _get(env, "RASA_LOCK_HOST")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError(f"RASA_LOCK_URL must be redis://[user:password@]host[:port][/db], not {url!r}")
        path = parts.path.strip("/")
        settings.update(
            host=parts.hostname,
            port=parts.port or 6379,
            db=int(path) if path else DEFAULT_REDIS_LOCK_DB,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )
        if parts.scheme == "rediss":
            settings["use_ssl"] = True
    elif host:
        settings.update(
            host=host,
            port=_port(_get(env, "RASA_LOCK_PORT") or settings.get("port") or 6379, "RASA_LOCK_PORT"),
            db=int(_get(env, "RASA_LOCK_DB") or settings.get("db") or DEFAULT_REDIS_LOCK_DB),
            username=_get(env, "RASA_LOCK_USER") or settings.get("username"),
            password=_get(env, "RASA_LOCK_PASSWORD") or settings.get("password"),
        )
    else:
        return None
    prefix = _get(env, "RASA_LOCK_KEY_PREFIX")
    if prefix:
        if not prefix.isalnum():
            raise ValueError(f"RASA_LOCK_KEY_PREFIX must be alphanumeric (Rasa's rule), not {prefix!r}")
        settings["key_prefix"] = prefix
    return settings


# --- event broker --------------------------------------------------------------------------------------


def event_broker_settings(env: Mapping[str, str], options: Mapping[str, Any] | None = None) -> dict | None:
    """``url`` and the keyword arguments of Rasa's ``PikaEventBroker``, or None for no broker."""
    settings = {k: v for k, v in (options or {}).items() if k not in ("url", "type")}
    url = _get(env, "RASA_BROKER_URL")
    host = _get(env, "RASA_BROKER_HOST")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise ValueError(
                f"RASA_BROKER_URL must be amqp://user:password@host[:port]/, not {redact(url)!r}"
            )
        port = parts.port or _port(_get(env, "RASA_BROKER_PORT"), "RASA_BROKER_PORT") or 5672
        if parts.scheme == "amqp" and parts.path in ("", "/") and not parts.query:
            # The default virtual host: hand Rasa the parts, so that its debug log (which prints the
            # broker's "host") never shows the password.
            settings.update(
                url=parts.hostname,
                username=unquote(parts.username or "") or _get(env, "RASA_BROKER_USER") or "guest",
                password=unquote(parts.password or "") or _get(env, "RASA_BROKER_PASSWORD") or "guest",
                port=port,
            )
        else:
            # As written in the URL (still %-encoded): PikaEventBroker looks for "user:password" in it.
            username = parts.username or _get(env, "RASA_BROKER_USER") or "guest"
            password = parts.password or _get(env, "RASA_BROKER_PASSWORD") or "guest"
            settings.update(url=url, username=username, password=password, port=port)
    elif host:
        settings.update(
            url=host,
            username=_get(env, "RASA_BROKER_USER") or settings.get("username") or "guest",
            password=_get(env, "RASA_BROKER_PASSWORD") or settings.get("password") or "guest",
            port=_port(_get(env, "RASA_BROKER_PORT") or settings.get("port") or 5672, "RASA_BROKER_PORT"),
        )
    else:
        return None
    queue = _get(env, "RASA_BROKER_QUEUE")
    if queue:
        settings["queues"] = [queue]
    settings.setdefault("queues", [DEFAULT_QUEUE])
    settings["exchange_name"] = (
        _get(env, "RASA_BROKER_EXCHANGE") or settings.get("exchange_name") or DEFAULT_EXCHANGE
    )
    return settings
