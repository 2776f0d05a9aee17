"""Logging of the order service: plain text (the default) or, with ``LOG_FORMAT=json``, one JSON object
per line, each carrying the id of the HTTP request it belongs to.

The request id lives in a context variable: Flask runs each request in its own context (a thread under
werkzeug and gunicorn's gthread worker, a greenlet under the gevent worker, whose greenlets each have
their own context), so concurrent requests never see each other's id.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a caller (a proxy's $request_id, a UUID, ours): anything else gets a fresh id,
# so that a header cannot forge log lines or grow without bound.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id: ContextVar[str | None] = ContextVar("orderbot_request_id", default=None)

# The attributes every LogRecord has; any other is an ``extra=`` field, written as its own key.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def incoming_request_id(header: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a plain token, else a new uuid4 hex."""
    if header and _ACCEPTED_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Gives every record the ``request_id`` of the request being served (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, exc_info when present,
    and the record's ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


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
