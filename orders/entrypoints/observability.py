"""What the order service tells its operators: Prometheus metrics at ``GET /metrics`` and a request id
in every log line of a request.

Metrics (text exposition, no order data, no authentication, like ``/health``):

- ``orderbot_http_requests_total{route,method,status}`` and
  ``orderbot_http_request_duration_seconds{route,method}``: ``route`` is the URL rule's template
  (``/api/v1/orders/<order_id>``), never the raw path, and ``unmatched`` when no rule matched, so the
  number of series stays bounded. A WebSocket is counted, but its lifetime is not a request duration.
- ``orderbot_import_rows_total{outcome}``: rows of finished imports (inserted, updated, unchanged,
  quarantined), counted by the entry points that run imports (REST API, CLI, ERP sync, the sample).
- ``orderbot_signin_throttled_total{kind}``: sign-ins refused with 429 because of earlier failures, by
  kind (staff, customer).
- ``orderbot_outbox_pending`` and ``orderbot_outbox_lag_seconds``: undispatched outbox rows and the age
  of the oldest one, read at scrape time through the partial index of undispatched rows.
- ``orderbot_hub_connections{role}``: WebSocket clients of this process's hub, at scrape time.

Under gunicorn the master (scheduler, ERP sync, the sample import) and the worker that serves
``/metrics`` are two processes: ``orderbot serve`` turns on prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, see ``orders/entrypoints/cli.py``) so that the worker reports the
counters of both. Elsewhere (tests, an embedding WSGI server) the counters are this process's own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timezone

from flask import Flask, Response, g, request
from orderbot_common.json_logs import accepted_request_id
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, func, select

from orders.adapters.orm import outbox
from orders.clock import utcnow
from orders.domain.access import Role
from orders.entrypoints.http import dependencies
from orders.logging_setup import REQUEST_ID_HEADER, request_id

log = logging.getLogger(__name__)
access_log = logging.getLogger("orders.access")

HTTP_REQUESTS = Counter(
    "orderbot_http_requests_total",
    "HTTP requests answered by the order service, by URL rule template, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "orderbot_http_request_duration_seconds",
    "Time the order service took to answer an HTTP request, by URL rule template and method.",
    ["route", "method"],
)
IMPORT_OUTCOMES = ("inserted", "updated", "unchanged", "quarantined")
IMPORT_ROWS = Counter(
    "orderbot_import_rows_total",
    "Rows of finished ERP imports, by outcome (inserted, updated, unchanged, quarantined).",
    ["outcome"],
)
for _outcome in IMPORT_OUTCOMES:
    IMPORT_ROWS.labels(_outcome)  # every outcome is a series from the start, at 0

SIGNIN_THROTTLED = Counter(
    "orderbot_signin_throttled_total",
    "Sign-ins refused (429) after too many failures, by kind (staff, customer).",
    ["kind"],
)
for _kind in ("staff", "customer"):
    SIGNIN_THROTTLED.labels(_kind)

UNMATCHED = "unmatched"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Chosen by prometheus-client when it is first imported (PROMETHEUS_MULTIPROC_DIR set or not).
MULTIPROCESS = bool(getattr(values.ValueClass, "_multiprocess", False))


def count_import(report) -> None:
    """Count the rows of a finished import (an ``ImportReport``)."""
    for outcome in IMPORT_OUTCOMES:
        rows = getattr(report, outcome)
        if rows:
            IMPORT_ROWS.labels(outcome).inc(rows)


class ScrapeTimeCollector:
    """The outbox backlog and the hub's connections, read when Prometheus scrapes."""

    def __init__(self, engine: Engine, app: Flask) -> None:
        self.engine = engine
        self.app = app
        # One round trip; both use ix_outbox_undispatched (id WHERE dispatched_at IS NULL).
        undispatched = outbox.c.dispatched_at.is_(None)
        self.query = select(
            select(func.count()).select_from(outbox).where(undispatched).scalar_subquery(),
            select(outbox.c.created_at).where(undispatched).order_by(outbox.c.id).limit(1).scalar_subquery(),
        )

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        hub = dependencies.of(self.app).hub
        connections = GaugeMetricFamily(
            "orderbot_hub_connections",
            "WebSocket clients connected to this process's notification hub, by role.",
            labels=["role"],
        )
        # Before the hub starts no client is connected (a connection starts it).
        counts = hub.client_counts() if hub is not None and hub.started else {}
        for role in Role:
            connections.add_metric([role.value], counts.get(role.value, 0))
        yield connections

    def _outbox(self) -> Iterator[Metric]:
        try:
            with self.engine.connect() as connection:
                pending, oldest = connection.execute(self.query).one()
        except Exception as exc:  # a scrape reports what it can; the database's health is /health's
            log.warning("metrics: outbox not readable: %s: %s", type(exc).__name__, exc)
            return
        lag = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:  # a scalar subquery may come back without the column's type
                oldest = oldest.replace(tzinfo=timezone.utc)
            lag = max(0.0, (utcnow() - oldest).total_seconds())
        yield GaugeMetricFamily(
            "orderbot_outbox_pending", "Outbox rows not dispatched to the hub yet.", value=pending
        )
        yield GaugeMetricFamily(
            "orderbot_outbox_lag_seconds",
            "Age of the oldest outbox row not dispatched yet (0 when there is none).",
            value=lag,
        )


def register_observability(app: Flask, engine: Engine, log_access: bool = False) -> None:
    """Add ``GET /metrics``, the HTTP metrics and the request id to ``app``. With ``log_access``, one
    log line per request (the JSON format's replacement for gunicorn's access log)."""
    scrape_time = CollectorRegistry(auto_describe=False)
    scrape_time.register(ScrapeTimeCollector(engine, app))
    if MULTIPROCESS:  # the files hold no process_* metrics: those of the process that answers
        ProcessCollector(registry=scrape_time)

    @app.before_request
    def start_request() -> None:
        g.orderbot_started = time.perf_counter()
        g.request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        request_id.set(g.request_id)

    @app.after_request
    def finish_request(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        started = g.get("orderbot_started")
        seconds = time.perf_counter() - started if started is not None else None
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        if seconds is not None and not websocket:
            HTTP_SECONDS.labels(route, method).observe(seconds)
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        if log_access:
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
                },
            )
        return response

    @app.teardown_request
    def end_request(_exc: BaseException | None) -> None:
        request_id.set(None)  # a thread that serves the next request starts without an id

    @app.get("/metrics")
    def metrics() -> Response:
        if MULTIPROCESS:
            counters = CollectorRegistry()
            MultiProcessCollector(counters)  # the files of every process of this server
        else:
            counters = REGISTRY
        body = generate_latest(counters) + generate_latest(scrape_time)
        return Response(body, content_type=CONTENT_TYPE_LATEST)
