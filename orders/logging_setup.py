"""Logging of the order service: plain text (the default) or, with ``LOG_FORMAT=json``, one JSON object
per line, each carrying the id of the HTTP request it belongs to (the line's format and the rule for
accepting a caller's id are ``orderbot_common.json_logs``, shared with the action server).

The request id lives in a context variable: Flask runs each request in its own context (a thread under
werkzeug and gunicorn's gthread worker, a greenlet under the gevent worker, whose greenlets each have
their own context), so concurrent requests never see each other's id.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any, TextIO

from orderbot_common import json_logs
from orderbot_common.json_logs import REQUEST_ID_HEADER, JsonFormatter

__all__ = ["REQUEST_ID_HEADER", "JsonFormatter", "request_id"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

request_id: ContextVar[str | None] = ContextVar("orderbot_request_id", default=None)


class RequestIdFilter(json_logs.RequestIdFilter):
    """Gives every record the ``request_id`` of the request being served (None outside a request)."""

    def __init__(self) -> None:
        super().__init__(request_id.get)


def log_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (standard error by default) writing ``log_format`` ("text" or "json")."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send every log record of this process to standard error in ``log_format``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(log_handler(log_format))
    root.setLevel(level)
    logging.captureWarnings(log_format == "json")  # a warning is a log line too, not raw stderr


def gunicorn_logconfig(log_format: str) -> dict[str, Any] | None:
    """gunicorn's ``logconfig_dict`` for JSON: its own messages go to the root handler as JSON, and its
    access log is off (the app writes one JSON line per request instead, with the request id)."""
    if log_format != "json":
        return None
    return {
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
    }
