"""The action server: rasa-sdk's own Sanic app, plus ``/metrics`` for Prometheus.

Run with ``python -m actions.server`` (the Procfile does); ``ACTIONS_PORT`` and ``SANIC_HOST`` as for
``python -m rasa_sdk``.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import response


def build_app():
    app = create_app("actions")

    @app.get("/metrics")
    async def metrics(_request):
        return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    return app


def main() -> None:
    utils.configure_colored_logging(os.environ.get("LOG_LEVEL", "INFO"))
    utils.update_sanic_log_level()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    port = int(os.environ.get("ACTIONS_PORT", "5055"))
    logging.getLogger(__name__).info("action server on http://%s:%s", host, port)
    # One worker: the Prometheus counters live in this process.
    build_app().run(host, port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
