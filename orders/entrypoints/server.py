"""The order service process: prepare the database, then serve the API with gunicorn."""

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
    # One process with threads: SQLite has one writer anyway, and threads serve the WebSocket hub later.
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": settings.threads,
        "accesslog": "-",
        "timeout": 60,
    }
    _Gunicorn(create_app(engine), options).run()
