"""docker/prometheus.yml and docker/grafana/: every service scraped, the data source and the dashboard
provisioned, and each dashboard query on a metric the code exports (or one listed as still to come)."""

from __future__ import annotations

import json
import re

from tests.deploy import layout

DASHBOARD = layout.GRAFANA_DIR / "dashboards" / "orderbot.json"
DATASOURCES = layout.GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = layout.GRAFANA_DIR / "provisioning" / "dashboards" / "orderbot.yml"
SCRAPED_SERVICES = ("orders", "actions", "llm", "rasa-1", "rasa-2")
# Exporters that are not our code: Prometheus's own `up`, RabbitMQ's plugin.
EXTERNAL_METRICS = re.compile(r"^(up|rabbitmq_\w+)$")
# Dashboard panels waiting for metrics the code does not export yet (each panel's description says so).
PLANNED_METRICS: set[str] = set()
# Exported by the order service's scrape-time collector (GaugeMetricFamily in
# orders/entrypoints/observability.py), which layout.exported_metrics does not read.
SCRAPE_TIME_METRICS = {"orderbot_outbox_lag_seconds", "orderbot_outbox_pending", "orderbot_hub_connections"}
# What the dashboard must show (the production issue's list).
REQUIRED_METRICS = {
    "orderbot_http_requests_total",
    "orderbot_http_request_duration_seconds_bucket",
    "orderbot_action_duration_seconds_bucket",
    "orderbot_action_errors_total",
    "orderbot_import_rows_total",
    "orderbot_outbox_lag_seconds",
    "orderbot_hub_connections",
    "llm_queue_depth",
    "llm_generated_tokens_total",
    "orderbot_phrasing_seconds_bucket",
}
PROMQL_WORDS = {"sum", "by", "rate", "increase", "max", "histogram_quantile", "le", "without", "avg"}


def panels() -> list[dict]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def expressions() -> list[str]:
    return [target["expr"] for panel in panels() for target in panel.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The metric names of a PromQL expression (not its functions, labels or label values)."""
    without_strings = re.sub(r'"[^"]*"', "", expr)
    without_matchers = re.sub(r"\{[^}]*\}", "", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_matchers)
    without_groupings = re.sub(r"\b(by|without)\s*\([^)]*\)", "", without_ranges)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_groupings))
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"\d+", w)}


def exported_metrics() -> set[str]:
    source = (layout.ROOT / "orders" / "entrypoints" / "observability.py").read_text(encoding="utf-8")
    collected = set(re.findall(r'GaugeMetricFamily\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"', source))
    assert collected >= SCRAPE_TIME_METRICS, SCRAPE_TIME_METRICS - collected
    return layout.exported_metrics() | collected


def test_prometheus_scrapes_every_service_on_its_exposed_port():
    config = layout._load_yaml(layout.PROMETHEUS_CONF)
    services = layout.services()
    targets = {}
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.split(":")
                targets[host] = port
    for name in SCRAPED_SERVICES:
        assert name in targets, f"{name} is not scraped"
        assert services[name]["expose"] == [targets[name]], name
    for host in targets:
        assert host in services or host == "localhost", f"unknown scrape target {host}"
    mounts = services["prometheus"]["volumes"]
    assert "./docker/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboards():
    (source,) = layout._load_yaml(DATASOURCES)["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = layout._load_yaml(DASHBOARD_PROVIDERS)["providers"]
    mounts = layout.services()["grafana"]["volumes"]
    assert f"./docker/grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./docker/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    for panel in panels():
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == source["uid"], panel["title"]


def test_the_dashboard_is_well_formed():
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels():
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


def test_the_dashboard_shows_what_the_issue_asks_for():
    used = set().union(*map(metric_names, expressions()))
    assert REQUIRED_METRICS - used == set()


def test_every_dashboard_metric_is_exported_planned_or_external():
    exported = exported_metrics()
    assert {"llm_queue_depth", "llm_generated_tokens_total", "orderbot_phrasing_total"} <= exported
    for expr in expressions():
        for name in metric_names(expr):
            assert name in exported or name in PLANNED_METRICS or EXTERNAL_METRICS.match(name), (name, expr)


def test_a_panel_on_a_planned_metric_says_it_waits_for_it():
    exported = exported_metrics()
    for panel in panels():
        for target in panel.get("targets", []):
            for name in metric_names(target["expr"]) & PLANNED_METRICS - exported:
                family = name.removesuffix("_bucket").removesuffix("_total")
                assert family in panel["description"] and "not exported yet" in panel["description"], name


def test_the_metric_name_reader():
    expr = 'histogram_quantile(0.95, sum by (le, route) (rate(x_seconds_bucket{status=~"5.."}[5m])))'
    assert metric_names(expr) == {"x_seconds_bucket"}
    assert metric_names("sum(llm_queue_depth)") == {"llm_queue_depth"}
