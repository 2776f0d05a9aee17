"""What the action server tells its operators: per-action metrics, a request id per action run, JSON logs.

- ``orderbot_action_duration_seconds{action}``: the time of one run through the webhook, as Rasa waits
  for it (the action, its calls to the order service and the phrasing).
- ``orderbot_action_errors_total{action}``: runs that failed: the action raised (HTTP 500), Rasa asked
  for an action that is not here (``action="unknown"``), or a call to the order service failed
  (timeout, unreachable, 5xx) even though the action then sent its polite sentence.
- A request id per run (the caller's ``X-Request-ID`` when it is a plain token, else a uuid4 hex):
  in every log line of the run, and sent to the order service as ``X-Request-ID``, which logs it too.
- ``LOG_FORMAT=json``: one JSON object per log line (time, level, logger, message, request_id, and
  exc_info when present).

The line format and the rule for accepting a caller's id are ``orderbot_common.json_logs``, shared
with the order service (``orders/logging_setup.py``).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TextIO

from orderbot_common import json_logs
from orderbot_common.json_logs import REQUEST_ID_HEADER, JsonFormatter, accepted_request_id
from prometheus_client import Counter, Histogram

UNKNOWN_ACTION = "unknown"
__all__ = ["REQUEST_ID_HEADER", "JsonFormatter", "accepted_request_id", "current_request_id"]

ACTION_SECONDS = Histogram(
    "orderbot_action_duration_seconds",
    "Time one action run took at the action server's webhook, by action.",
    ["action"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
)
ACTION_ERRORS = Counter(
    "orderbot_action_errors_total",
    "Action runs that raised, were unknown, or met a failing order service, by action.",
    ["action"],
)


@dataclass
class ActionRun:
    """The action run being served: its request id and whether a call to the order service failed."""

    request_id: str
    order_service_failed: bool = False


current_run: ContextVar[ActionRun | None] = ContextVar("orderbot_action_run", default=None)


def current_request_id() -> str | None:
    run = current_run.get()
    return run.request_id if run is not None else None


def note_order_service_failure() -> None:
    """Called by the order service's client when a call fails: the run counts as an error."""
    run = current_run.get()
    if run is not None:
        run.order_service_failed = True


class RequestIdFilter(json_logs.RequestIdFilter):
    def __init__(self) -> None:
        super().__init__(current_request_id)


def configure_json_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Every log record of this process as one JSON line on standard error (or ``stream``)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
