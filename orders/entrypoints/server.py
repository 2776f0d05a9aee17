"""The order service process: prepare the database, start the scheduler, serve the API with gunicorn."""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from orders.adapters.database import make_engine
from orders.config import Settings
from orders.entrypoints.api import create_app
from orders.service_layer.bootstrap import prepare_database


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


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = make_engine(settings.database_url)
    prepare_database(settings.database_url, engine, settings.sample_data, settings.timezone)
    app = create_app(engine, settings)
    if settings.scheduler_enabled:
        from orders.entrypoints.scheduler import start_scheduler

        start_scheduler(engine, settings)  # in the gunicorn master, which outlives its workers

    def post_fork(_server, _worker) -> None:
        engine.dispose(close=False)  # a forked worker must not reuse the parent's pooled connections

    # One process with threads: SQLite has one writer anyway, and threads serve the WebSocket hub later.
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": settings.threads,
        "accesslog": "-",
        "timeout": 120,
        "post_fork": post_fork,
    }
    _Gunicorn(app, options).run()
