"""Rasa's tracker store, lock store and event broker, chosen from the environment.

One ``endpoints.yml`` serves every profile: Rasa refuses an unset ``${VAR}`` in it, so the file names
these classes (``type: bot.endpoints.EnvTrackerStore`` ...) and they read the environment when Rasa
starts, by the rules of ``bot/endpoint_settings.py``: PostgreSQL, Redis and RabbitMQ when the variables
name them, else SQLite under var/, in-memory locks and no broker. Each hands Rasa one of its own
stores (SQLTrackerStore, RedisLockStore or InMemoryLockStore, PikaEventBroker or none), unchanged;
the PikaEventBroker runs on an event loop of its own (``bot/event_broker.py`` says why).

Rasa loads this module at start-up in every profile, so it also installs the reply for a failed
action server (``bot/action_fallback.py``): the action endpoint is the other half of endpoints.yml.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.utils.endpoints import EndpointConfig

from bot import action_fallback
from bot.endpoint_settings import (
    describe_tracker_store,
    event_broker_settings,
    lock_store_settings,
    redact,
    tracker_store_settings,
)
from bot.event_broker import ThreadedPikaEventBroker

logger = logging.getLogger(__name__)

action_fallback.install()


class EnvTrackerStore:
    """``tracker_store: {type: bot.endpoints.EnvTrackerStore}``: Rasa's SQLTrackerStore on PostgreSQL
    (or the database the variables name) when they are set, else on the SQLite file of `make run`.

    Rasa instantiates the class of a custom ``type`` with ``host``, ``domain``, ``event_broker`` and the
    file's other keys; ``__new__`` returns Rasa's own store, so Rasa sees exactly the store it knows.
    """

    def __new__(cls, host: str | None = None, domain=None, event_broker=None, **options: Any):
        # ``host`` is the file's `url:`, which this store does not read: the environment names servers.
        settings = tracker_store_settings(os.environ, options)
        if settings.get("dialect") == "sqlite":
            Path(settings["db"]).parent.mkdir(parents=True, exist_ok=True)
        logger.info("tracker store: %s", describe_tracker_store(settings))
        return SQLTrackerStore(domain=domain, event_broker=event_broker, **settings)


class EnvLockStore:
    """``lock_store: {type: bot.endpoints.EnvLockStore}``: Rasa's RedisLockStore when the variables
    name a Redis, else its InMemoryLockStore. Rasa instantiates a custom lock store as
    ``cls(endpoint_config=...)``; ``__new__`` returns Rasa's own store."""

    def __new__(cls, endpoint_config: EndpointConfig | None = None, **_ignored: Any):
        options = dict(getattr(endpoint_config, "kwargs", None) or {})
        settings = lock_store_settings(os.environ, options)
        if settings is None:
            logger.info("lock store: in memory")
            if os.environ.get("SANIC_WORKERS", "1") not in ("", "1"):
                # Rasa lets a custom lock store run several workers; in-memory locks are per worker.
                logger.warning("SANIC_WORKERS > 1 needs a shared lock store: set RASA_LOCK_URL (Redis)")
            return InMemoryLockStore()
        logger.info("lock store: Redis %s:%s db %s", settings["host"], settings["port"], settings["db"])
        return RedisLockStore(**settings)


class EnvEventBroker(EventBroker):
    """``event_broker: {type: bot.endpoints.EnvEventBroker}``: Rasa's PikaEventBroker (RabbitMQ) when
    the variables name one, else no event broker. Rasa creates a custom broker with
    ``await cls.from_endpoint_config(config)``, and takes None for "no broker"."""

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig | None, event_loop=None):
        options = dict(getattr(broker_config, "kwargs", None) or {})
        settings = event_broker_settings(os.environ, options)
        if settings is None:
            logger.info("event broker: none")
            return None
        url = settings.pop("url")
        logger.info("event broker: RabbitMQ %s, queues %s", redact(url), settings["queues"])
        # Rasa's PikaEventBroker, on a loop of its own (bot/event_broker.py says why).
        return await ThreadedPikaEventBroker.connect(EndpointConfig(url=url, **settings))
