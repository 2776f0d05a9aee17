"""docker/nginx/nginx.conf: parsed by crossplane (NGINX's own config parser, with its table of
directives and where each may stand), then its routes checked against docker-compose.yml."""

from __future__ import annotations

import pytest

from tests.deploy import layout

PUBLIC_ROUTES = {
    # location (modifier, path) -> the upstream it must reach
    ("", "/"): "orders",
    ("=", "/console"): "orders",
    ("", "/api/"): "orders",
    ("=", "/ws/notifications"): "orders",
    ("", "/socket.io/"): "rasa_socketio",
    ("", "/webhooks/"): "rasa_http",
}
WEBSOCKET_ROUTES = {("=", "/ws/notifications"), ("", "/socket.io/")}


def parse(path=layout.NGINX_CONF) -> list[dict]:
    crossplane = pytest.importorskip(
        "crossplane", reason="crossplane is not installed (requirements/app.txt)"
    )
    # single: the image's own includes (mime.types) are not on this machine.
    payload = crossplane.parse(str(path), single=True, comments=False, check_ctx=True, check_args=True)
    errors = [f"line {e['line']}: {e['error']}" for e in payload["errors"]]
    assert payload["status"] == "ok", errors
    return payload["config"][0]["parsed"]


def find(block: list[dict], directive: str) -> list[dict]:
    return [item for item in block if item["directive"] == directive]


def args_of(block: list[dict], directive: str) -> list[list[str]]:
    return [item["args"] for item in find(block, directive)]


def http_block() -> list[dict]:
    (http,) = find(parse(), "http")
    return http["block"]


def upstreams() -> dict[str, list[dict]]:
    return {item["args"][0]: item["block"] for item in find(http_block(), "upstream")}


def server_listening(port: str) -> list[dict]:
    for server in find(http_block(), "server"):
        if any(args[0] == port for args in args_of(server["block"], "listen")):
            return server["block"]
    raise AssertionError(f"no server listens on {port}")


def locations(server: list[dict]) -> dict[tuple[str, str], list[dict]]:
    found = {}
    for item in find(server, "location"):
        key = (item["args"][0], item["args"][1]) if len(item["args"]) == 2 else ("", item["args"][0])
        found[key] = item["block"]
    return found


def headers(block: list[dict]) -> dict[str, str]:
    return {args[0].lower(): args[1] for args in args_of(block, "proxy_set_header")}


def test_the_config_parses_without_error():
    assert find(parse(), "http")


def test_crossplane_reports_a_broken_config(tmp_path):
    broken = tmp_path / "nginx.conf"
    text = layout.NGINX_CONF.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("proxy_pass http://orders;", "proxy_pass http://orders", 1), encoding="utf-8"
    )
    crossplane = pytest.importorskip(
        "crossplane", reason="crossplane is not installed (requirements/app.txt)"
    )
    payload = crossplane.parse(str(broken), single=True, check_ctx=True, check_args=True)
    assert payload["status"] == "failed" and payload["errors"]


def test_every_public_route_reaches_its_upstream():
    routes = locations(server_listening("80"))
    for route, upstream in PUBLIC_ROUTES.items():
        assert route in routes, f"no location {' '.join(route).strip()}"
        assert args_of(routes[route], "proxy_pass") == [[f"http://{upstream}"]], route


def test_websocket_routes_upgrade_and_stay_open():
    server = server_listening("80")
    routes = locations(server)
    assert ["1.1"] in args_of(server, "proxy_http_version")
    maps = {tuple(item["args"]) for item in find(http_block(), "map")}
    assert ("$http_upgrade", "$connection_upgrade") in maps
    for route in WEBSOCKET_ROUTES:
        block = routes[route]
        sent = headers(block)
        assert sent.get("upgrade") == "$http_upgrade", route
        assert sent.get("connection") == "$connection_upgrade", route
        (timeout,) = args_of(block, "proxy_read_timeout")
        assert int(timeout[0].rstrip("s")) >= 60, "the hub pings every 25 s; socket.io every 25 s too"


def test_a_location_that_sets_headers_sets_all_of_them_again():
    # nginx inherits proxy_set_header only into a block that sets none itself.
    server = server_listening("80")
    inherited = set(headers(server))
    assert {"host", "x-forwarded-for", "x-forwarded-proto"} <= inherited
    # With its port: the order service writes the hub's ws:// origin into the pages' CSP from it.
    assert headers(server)["host"] == "$http_host"
    for route, block in locations(server).items():
        own = set(headers(block))
        if own:
            assert inherited - {"connection"} <= own, f"{route} loses {inherited - own}"


def test_the_browsers_scheme_reaches_the_order_service_behind_a_tls_terminator():
    # ORDERBOT_TRUSTED_PROXIES=1 (docker-compose.yml) trusts this proxy's one X-Forwarded-Proto: it
    # must carry what a TLS terminator in front said, and this proxy's own scheme only without one.
    (mapping,) = [m for m in find(http_block(), "map") if m["args"][0] == "$http_x_forwarded_proto"]
    assert {tuple(entry["args"]) for entry in mapping["block"]} == {
        ("$http_x_forwarded_proto",),
        ("$scheme",),
    }
    assert {entry["directive"] for entry in mapping["block"]} == {"default", ""}
    server = server_listening("80")
    for block in [server, *locations(server).values()]:
        proto = headers(block).get("x-forwarded-proto")
        assert proto in (None, "$forwarded_proto"), proto


def test_socketio_is_sticky_across_both_rasa_replicas():
    socketio = upstreams()["rasa_socketio"]
    assert find(socketio, "ip_hash"), "socket.io needs sticky sessions"
    servers = {args[0] for args in args_of(socketio, "server")}
    assert servers == {"rasa-1:5005", "rasa-2:5005"}


def test_upstreams_name_compose_services_on_their_exposed_ports():
    services = layout.services()
    for name, block in upstreams().items():
        for args in args_of(block, "server"):
            host, port = args[0].split(":")
            assert host in services, f"upstream {name}: no service {host}"
            assert services[host]["expose"] == [port], f"upstream {name}: {host} does not expose {port}"


def test_rasa_http_api_is_reachable_on_the_internal_port_only():
    internal = server_listening("5005")
    assert args_of(locations(internal)[("", "/")], "proxy_pass") == [["http://rasa_http"]]
    proxy = layout.services()["proxy"]
    assert all(not str(port).endswith(":5005") for port in proxy["ports"])
    assert layout.environment(layout.services()["orders"])["RASA_URL"] == "http://proxy:5005"
    # The public server forwards no Rasa HTTP API path: only socket.io and the channel webhooks.
    public = locations(server_listening("80"))
    rasa_routes = {r for r, b in public.items() if any("rasa" in a[0] for a in args_of(b, "proxy_pass"))}
    assert rasa_routes == {("", "/socket.io/"), ("", "/webhooks/")}


def test_the_proxy_healthcheck_has_its_route():
    routes = locations(server_listening("80"))
    assert ("=", "/healthz") in routes
    assert layout.healthcheck_url(layout.services()["proxy"]) == "http://127.0.0.1/healthz"
    mounts = layout.services()["proxy"]["volumes"]
    assert "./docker/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in mounts
