"""GET /metrics of the order service, over real HTTP: requests by route template, imported rows, the
outbox backlog and the hub's connections; and under gunicorn, the master's counters in the worker's
answer (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from orders.adapters.orm import outbox
from orders.config import PROJECT_ROOT
from orders.domain.access import Role
from orders.entrypoints.http import dependencies
from tests.orders.conftest import HEADER, order_row, write_csv
from tests.orders.hub_support import Client, ServerProcess, add_event

Samples = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Samples:
    response = requests.get(f"{url}/metrics", timeout=10)  # no token: like /health
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_total(samples: Samples, route: str, method: str, status: int) -> float:
    return value(samples, "orderbot_http_requests_total", route=route, method=method, status=str(status))


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def import_file(server, path) -> dict:
    with path.open("rb") as file:
        response = server.as_(Role.OPERATIONS).post(
            f"{server.url}/api/v1/imports", files={"file": (path.name, file, "text/csv")}, timeout=30
        )
    assert response.status_code == 200, response.text
    return response.json()


def test_requests_are_counted_by_route_template_never_by_path(live_server, tmp_path):
    import_file(live_server, write_csv(tmp_path / "one.csv", HEADER, [order_row("SO-2001")]))
    ops = live_server.as_(Role.OPERATIONS)
    before = scrape(live_server.url)
    assert ops.get(f"{live_server.url}/api/v1/orders/SO-2001").status_code == 200
    for missing in ("SO-9001", "SO-9002"):
        assert ops.get(f"{live_server.url}/api/v1/orders/{missing}").status_code == 404
    assert requests.get(f"{live_server.url}/no/such/page/SO-2001").status_code == 404
    assert requests.post(f"{live_server.url}/health").status_code == 405
    after = scrape(live_server.url)

    def delta(route, method, status):
        return requests_total(after, route, method, status) - requests_total(before, route, method, status)

    template = "/api/v1/orders/<order_id>"
    assert delta(template, "GET", 200) == 1
    assert delta(template, "GET", 404) == 2
    assert delta("unmatched", "GET", 404) == 1
    assert delta("unmatched", "POST", 405) == 1
    assert delta("/metrics", "GET", 200) == 1  # the first scrape, seen by the second
    timed = {"route": template, "method": "GET"}
    seconds = "orderbot_http_request_duration_seconds_count"
    assert value(after, seconds, **timed) - value(before, seconds, **timed) == 3
    assert value(after, "orderbot_http_request_duration_seconds_bucket", le="+Inf", **timed) >= 3
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any("SO-" in (route or "") for route in routes)  # a label per template, never per order
    text = requests.get(f"{live_server.url}/metrics", timeout=10).text
    assert "SO-2001" not in text and "张三" not in text  # metrics only, no order data


def test_imported_rows_are_counted_by_outcome(live_server, tmp_path):
    bad = order_row("SO-2003", amount="a lot")  # quarantined: not an amount
    rows = [order_row("SO-2001"), order_row("SO-2002"), bad]
    outcomes = ("inserted", "updated", "unchanged", "quarantined")

    def counted() -> dict[str, float]:
        samples = scrape(live_server.url)
        return {o: value(samples, "orderbot_import_rows_total", outcome=o) for o in outcomes}

    def change(earlier: dict[str, float], later: dict[str, float]) -> tuple[float, ...]:
        return tuple(later[o] - earlier[o] for o in outcomes)

    start = counted()
    report = import_file(live_server, write_csv(tmp_path / "first.csv", HEADER, rows))
    assert (report["inserted"], report["quarantined"]) == (2, 1)
    first = counted()
    assert change(start, first) == (2, 0, 0, 1)  # inserted, updated, unchanged, quarantined

    newer = order_row("SO-2002", amount="120.00", updated="2026-11-21 10:00:00")
    import_file(live_server, write_csv(tmp_path / "second.csv", HEADER, [order_row("SO-2001"), newer, bad]))
    second = counted()
    assert change(first, second) == (0, 1, 1, 1)


def test_outbox_backlog_and_hub_connections_are_read_at_scrape_time(live_server, engine):
    samples = scrape(live_server.url)
    assert value(samples, "orderbot_outbox_pending") == 0
    assert value(samples, "orderbot_outbox_lag_seconds") == 0
    assert value(samples, "orderbot_hub_connections", role="finance") == 0  # the hub has not started yet

    oldest = add_event(engine, Role.WAREHOUSE)
    for _ in range(2):
        add_event(engine, Role.FINANCE)
    with engine.begin() as connection:
        an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        connection.execute(update(outbox).where(outbox.c.id == oldest).values(created_at=an_hour_ago))
    samples = scrape(live_server.url)
    assert value(samples, "orderbot_outbox_pending") == 3
    assert 3600 <= value(samples, "orderbot_outbox_lag_seconds") < 3600 + 60

    hub = dependencies.of(live_server.app).hub
    client = None
    try:
        hub.start()  # its dispatcher sends the backlog at once
        wait_for(lambda: value(scrape(live_server.url), "orderbot_outbox_pending") == 0)
        assert value(scrape(live_server.url), "orderbot_outbox_lag_seconds") == 0
        client = Client(live_server.url)
        client.auth(live_server.token("finance", Role.FINANCE))
        samples = scrape(live_server.url)
        assert value(samples, "orderbot_hub_connections", role="finance") == 1
        assert value(samples, "orderbot_hub_connections", role="warehouse") == 0
        client.close()
        wait_for(lambda: value(scrape(live_server.url), "orderbot_hub_connections", role="finance") == 0)
    finally:
        if client is not None:
            client.close()
        hub.stop()


def test_under_gunicorn_the_worker_reports_the_masters_counters_too(sqlite_engine, tmp_path):
    # The sample import runs in the gunicorn master before the worker is forked, as the ERP sync runs
    # in the master afterwards: the counters reach /metrics through the multiprocess files.
    sample = PROJECT_ROOT / "data" / "samples" / "erp_orders.csv"
    server = ServerProcess(str(sqlite_engine.url), tmp_path, ORDERBOT_SAMPLE_DATA=str(sample)).start()
    try:
        assert requests.get(f"{server.url}/api/v1/carriers", timeout=10).status_code == 200
        samples = scrape(server.url)
        assert value(samples, "orderbot_import_rows_total", outcome="inserted") == 20
        assert value(samples, "orderbot_import_rows_total", outcome="quarantined") == 0
        assert requests_total(samples, "/api/v1/carriers", "GET", 200) == 1
        assert requests_total(samples, "/health", "GET", 200) >= 1  # ServerProcess waited on it
        assert ("orderbot_outbox_pending", frozenset()) in samples
        assert ("orderbot_hub_connections", frozenset({("role", "customer")})) in samples
        # multiprocess mode: the counters come from the files, which keep no _created samples
        assert not any(name == "orderbot_http_requests_created" for name, _ in samples)
    finally:
        server.stop()
