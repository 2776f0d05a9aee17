"""The order service process: prepare the database, start the scheduler, serve the API with gunicorn."""

from __future__ import annotations

import logging
import resource

from gunicorn.app.base import BaseApplication

from orders.adapters.database import make_engine
from orders.config import Settings
from orders.entrypoints.flask_app import create_app
from orders.entrypoints.http import dependencies
from orders.entrypoints.observability import count_import
from orders.logging_setup import configure_logging, gunicorn_logconfig
from orders.service_layer.setup import prepare_database

# gunicorn's default access line, then the request id the app answered with (X-Request-ID).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app


def raise_open_files_limit(wanted: int) -> int:
    """Each WebSocket client is a descriptor: lift the soft limit towards ``wanted`` (up to the hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def make_psycopg2_cooperative() -> None:
    """Under gevent, let PostgreSQL queries wait in the event loop instead of blocking the process
    (what psycogreen does, in a few lines)."""
    try:
        import psycopg2.extensions
        from psycopg2 import OperationalError, extensions
    except ImportError:
        return
    from gevent.socket import wait_read, wait_write

    def wait_callback(connection, timeout=None) -> None:
        while True:
            state = connection.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                wait_read(connection.fileno(), timeout=timeout)
            elif state == extensions.POLL_WRITE:
                wait_write(connection.fileno(), timeout=timeout)
            else:
                raise OperationalError(f"bad result from poll: {state!r}")

    psycopg2.extensions.set_wait_callback(wait_callback)


def start_conversation_analytics(engine, settings: Settings):
    """Consume Rasa's conversation events from RabbitMQ into the analytics table, when configured."""
    if not settings.rabbitmq_url:
        return None
    from orders.adapters.rasa_events import RasaEventConsumer
    from orders.service_layer.analytics import record_rasa_events

    consumer = RasaEventConsumer(
        settings.rabbitmq_url,
        settings.rasa_events_queue,
        lambda bodies: record_rasa_events(engine, bodies),
        exchange=settings.rasa_events_exchange,
    )
    consumer.start()
    logging.getLogger(__name__).info("conversation analytics: consuming %s", settings.rasa_events_queue)
    return consumer


def serve(settings: Settings) -> None:
    configure_logging(settings.log_format)
    engine = make_engine(settings.database_url)
    sample = prepare_database(settings.database_url, engine, settings.sample_data, settings.timezone)
    if sample is not None:
        count_import(sample)
    app = create_app(engine, settings)
    if settings.scheduler_enabled:
        from orders.entrypoints.scheduler import start_scheduler

        start_scheduler(engine, settings)  # in the gunicorn master, which outlives its workers
    from orders.entrypoints.bridge import start_bridge

    start_bridge(engine)  # chat groups (DingTalk/Slack), in the master too; only when one is configured
    start_conversation_analytics(engine, settings)  # in the master too; only with a RabbitMQ URL
    raise_open_files_limit(settings.worker_connections + 1024)

    def post_fork(_server, _worker) -> None:
        engine.dispose(close=False)  # a forked worker must not reuse the parent's pooled connections

    def post_worker_init(_worker) -> None:
        # Runs in the worker after gevent has patched it: a fresh pool gets cooperative locks, and
        # the hub's threads are greenlets. Start the hub now: undispatched outbox rows go out at once.
        if settings.worker_class == "gevent":
            make_psycopg2_cooperative()
            engine.dispose(close=False)
        dependencies.of(app).hub.start()

    # One process: SQLite has one writer anyway. gevent (the default) holds thousands of idle
    # WebSocket clients as greenlets; gthread needs an OS thread per client (ORDERS_THREADS).
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": 1,
        "worker_class": settings.worker_class,
        "threads": settings.threads,
        "worker_connections": settings.worker_connections,
        # JSON: gunicorn's own lines as JSON, and the app's access line (with the request id) instead
        # of gunicorn's; text: gunicorn's access log.
        "accesslog": None if settings.log_format == "json" else "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logconfig_dict": gunicorn_logconfig(settings.log_format) or {},
        "timeout": 120,
        "graceful_timeout": 5,  # WebSocket clients reconnect and replay; do not wait for them
        "post_fork": post_fork,
        "post_worker_init": post_worker_init,
    }
    _Gunicorn(app, options).run()
