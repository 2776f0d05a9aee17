"""The action server: rasa-sdk's own Sanic app, plus ``/metrics`` for Prometheus and, around each run of
the webhook, the action metrics and a request id (``actions/observability.py``).

Run with ``python -m actions.server`` (the Procfile does); ``ACTIONS_PORT`` and ``SANIC_HOST`` as for
``python -m rasa_sdk``; ``LOG_FORMAT=json`` for one JSON object per log line.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rasa_sdk import utils
from sanic import response

from actions import reply_vocabulary
from actions.observability import (
    ACTION_ERRORS,
    ACTION_SECONDS,
    REQUEST_ID_HEADER,
    UNKNOWN_ACTION,
    ActionRun,
    accepted_request_id,
    configure_json_logging,
    current_run,
)

logger = logging.getLogger(__name__)
WEBHOOK = "/webhook"


def _action_call(request) -> dict:
    """The webhook's body as rasa-sdk reads it (plain or deflated JSON); {} when unreadable."""
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            body = json.loads(zlib.decompress(request.body))
        else:
            body = request.json
    except Exception:  # rasa-sdk answers the bad body itself
        return {}
    return body if isinstance(body, dict) else {}


def build_app():
    from rasa_sdk.endpoint import create_app  # here: its import warns, and logging is set up by now

    app = create_app("actions")

    @app.get("/metrics")
    async def metrics(_request):
        return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @app.middleware("request")
    async def start_run(request):
        # Sanic runs request middleware again before an exception's handler: keep the first start.
        if request.path != WEBHOOK or hasattr(request.ctx, "action_run"):
            return
        call = _action_call(request)
        tracker = call.get("tracker") or {}
        request.ctx.action = str(call.get("next_action") or UNKNOWN_ACTION)
        request.ctx.started = time.perf_counter()
        request.ctx.action_run = ActionRun(accepted_request_id(request.headers.get(REQUEST_ID_HEADER)))
        current_run.set(request.ctx.action_run)  # this request's task: its calls see the run
        logger.info(
            "action %s for sender %s, message %s, request id %s",
            request.ctx.action,
            call.get("sender_id") or tracker.get("sender_id"),
            (tracker.get("latest_message") or {}).get("message_id"),
            request.ctx.action_run.request_id,
        )

    @app.middleware("response")
    async def finish_run(request, answer):
        run = getattr(request.ctx, "action_run", None)
        if run is None:
            return
        # A name Rasa asked for that is not here (404) is not a label: the names stay the known ones.
        action = UNKNOWN_ACTION if answer.status == 404 else request.ctx.action
        seconds = time.perf_counter() - request.ctx.started
        ACTION_SECONDS.labels(action).observe(seconds)
        failed = answer.status >= 500 or answer.status == 404 or run.order_service_failed
        if failed:
            ACTION_ERRORS.labels(action).inc()
        answer.headers[REQUEST_ID_HEADER] = run.request_id
        logger.info(
            "action %s answered %s in %.3f s%s",
            action,
            answer.status,
            seconds,
            " (failed)" if failed else "",
            extra={"action": action, "status": answer.status, "duration_ms": round(seconds * 1000, 2)},
        )
        current_run.set(None)  # the connection's next request starts without a run

    return app


def main() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO")
    if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
        configure_json_logging(level)
    else:
        utils.configure_colored_logging(level)
    utils.update_sanic_log_level()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    port = int(os.environ.get("ACTIONS_PORT", "5055"))
    logger.info("action server on http://%s:%s", host, port)
    from actions.phrasing import default_phraser  # here: it imports the actions' modules

    if default_phraser().client is not None:
        # Read now, not on the first customer's reply: domain.yml, the labels, the carriers and jieba's
        # dictionary take most of a second (and a broken file stops the start, not a reply).
        reply_vocabulary.default()
    # One worker: the Prometheus counters live in this process.
    build_app().run(host, port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
