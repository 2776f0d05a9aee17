"""docker-compose.yml: valid against the compose-spec JSON schema and shaped as the production layout.

The schema is the one check-jsonschema vendors (`--builtin-schema vendor.compose-spec`), pinned in
requirements/app.txt; nothing is fetched and no Docker engine is needed.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from importlib import resources

import pytest

from tests.deploy import layout

APP_SERVICES = ("rasa-1", "rasa-2", "actions", "orders", "llm")
BACKING_SERVICES = ("postgres", "redis", "rabbitmq")
ALL_SERVICES = (*APP_SERVICES, *BACKING_SERVICES, "proxy", "prometheus", "grafana")
RESTART_POLICIES = re.compile(r"^(always|unless-stopped|on-failure(:\d+)?)$")
SECRET_NAME = re.compile(r"PASSWORD|PASS$|SECRET|TOKEN|(^|_)AUTH$|_KEY$")
# Secrets `docker compose` must refuse to start without (.env.example lists them).
REQUIRED_SECRETS = (
    "RASA_AUTH_TOKEN",
    "ORDERBOT_SERVICE_TOKEN",
    "ORDERBOT_JWT_SECRET",
    "POSTGRES_PASSWORD",
    "ORDERBOT_DB_PASSWORD",
    "RASA_DB_PASSWORD",
    "REDIS_PASSWORD",
    "RABBITMQ_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)
OPTIONAL_SECRET_PREFIXES = ("SLACK_", "DINGTALK_", "ORDERBOT_SLACK_", "ORDERBOT_DINGTALK_")


def compose_schema() -> dict:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed (requirements/app.txt)")
    path = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(path.read_text(encoding="utf-8"))


def schema_errors(document: dict) -> list[str]:
    from jsonschema.validators import validator_for

    schema = compose_schema()
    validator = validator_for(schema)(schema)
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    )


# --- the schema ---------------------------------------------------------------------------------


def test_the_compose_file_passes_check_jsonschema_with_the_vendored_compose_spec():
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed (requirements/app.txt)")
    run = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
        + [str(layout.COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_compose_file_has_no_schema_error():
    assert schema_errors(layout.compose()) == []


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (lambda c: c["services"]["orders"].update(healthchek={"test": ["CMD", "true"]}), "healthchek"),
        (lambda c: c["services"]["proxy"].update(ports=80), "ports"),
        (
            lambda c: c["services"]["rasa-1"]["depends_on"]["postgres"].update(condition="when_ready"),
            "when_ready",
        ),
        (lambda c: c.update(volume={"x": None}), "volume"),
    ],
    ids=["misspelt key", "ports not a list", "unknown depends_on condition", "unknown top-level key"],
)
def test_the_schema_check_rejects_a_broken_compose_file(mutation, expected):
    broken = copy.deepcopy(layout.compose())
    mutation(broken)
    errors = schema_errors(broken)
    assert errors, "the schema accepted a broken file"
    assert any(expected in error for error in errors), errors


# --- the shape of the layout --------------------------------------------------------------------


def test_every_part_of_the_layout_is_a_service():
    assert set(layout.services()) == set(ALL_SERVICES)


def test_two_rasa_replicas_run_one_image_with_the_same_settings():
    services = layout.services()
    one, two = services["rasa-1"], services["rasa-2"]
    assert one["image"] == two["image"] and one["build"] == two["build"]
    assert one["build"]["dockerfile"] == "docker/rasa.Dockerfile"
    assert one["command"] == two["command"] == ["rasa"]
    assert layout.environment(one) == layout.environment(two)
    # The action server is the same image with the other command.
    assert services["actions"]["image"] == one["image"] and services["actions"]["command"] == ["actions"]


def test_the_replicas_share_the_tracker_store_the_lock_store_and_the_event_broker():
    for name in ("rasa-1", "rasa-2"):
        service = layout.services()[name]
        env = layout.environment(service)
        assert env["RASA_TRACKER_HOST"] == "postgres"
        assert env["RASA_LOCK_HOST"] == "redis"
        assert env["RASA_BROKER_HOST"] == "rabbitmq"
        assert env["ACTION_ENDPOINT_URL"] == "http://actions:5055/webhook"
        for backing in BACKING_SERVICES:
            assert service["depends_on"][backing]["condition"] == "service_healthy", (name, backing)


def test_every_variable_of_the_rasa_endpoints_is_set_for_both_replicas():
    text = layout.without_comments(layout.RASA_ENDPOINTS.read_text(encoding="utf-8"))
    endpoints = layout._load_yaml(layout.RASA_ENDPOINTS)
    # One file for every profile: the stores and the broker are chosen from the environment.
    assert endpoints["tracker_store"]["type"] == "bot.endpoints.EnvTrackerStore"
    assert endpoints["lock_store"]["type"] == "bot.endpoints.EnvLockStore"
    assert endpoints["event_broker"]["type"] == "bot.endpoints.EnvEventBroker"
    needed = set(layout.variables(text))
    assert needed == {"ACTION_ENDPOINT_URL"}, "Rasa refuses to start with any ${VAR} of endpoints.yml unset"
    for name in ("rasa-1", "rasa-2"):
        env = layout.environment(layout.services()[name])
        assert needed - set(env) == set(), name
        assert all(env[variable] for variable in needed), name


def replica_environment(name: str) -> dict[str, str]:
    """A replica's environment as Compose hands it over, with a value for every secret of .env."""
    secrets = {variable: f"{variable.lower()}-value" for variable in REQUIRED_SECRETS}
    env = layout.environment(layout.services()[name])
    return {key: layout.interpolate(value, secrets) for key, value in env.items()}


@pytest.mark.parametrize("name", ["rasa-1", "rasa-2"])
def test_the_replicas_environment_selects_postgresql_redis_and_rabbitmq(name):
    from bot.endpoint_settings import event_broker_settings, lock_store_settings, tracker_store_settings

    endpoints = layout._load_yaml(layout.RASA_ENDPOINTS)
    env = replica_environment(name)
    tracker = tracker_store_settings(
        env, {k: v for k, v in endpoints["tracker_store"].items() if k != "type"}
    )
    assert tracker == {
        "dialect": "postgresql",
        "host": "postgres",
        "port": 5432,
        "db": "rasa",
        "username": "rasa",
        "password": "rasa_db_password-value",
    }
    locks = lock_store_settings(env, {k: v for k, v in endpoints["lock_store"].items() if k != "type"})
    assert (locks["host"], locks["port"], locks["db"]) == ("redis", 6379, 1)
    assert locks["password"] == "redis_password-value" and locks["key_prefix"] == "orderbot"
    broker = event_broker_settings(env, {k: v for k, v in endpoints["event_broker"].items() if k != "type"})
    assert (broker["url"], broker["port"], broker["username"]) == ("rabbitmq", 5672, "orderbot")
    assert broker["password"] == "rabbitmq_password-value" and broker["queues"] == ["rasa_events"]


def test_the_app_image_serves_the_order_service_and_the_llm_server():
    services = layout.services()
    orders, llm = services["orders"], services["llm"]
    assert orders["image"] == llm["image"] and orders["build"]["dockerfile"] == "docker/app.Dockerfile"
    assert orders["command"] == ["python", "-m", "orders", "serve"]
    assert llm["command"] == ["python", "-m", "llm_server"]
    env = layout.environment(orders)
    assert env["ORDERBOT_DATABASE_URL"].startswith("postgresql+psycopg2://")
    assert env["ORDERBOT_DATABASE_URL"].endswith("@postgres:5432/orderbot")
    assert env["ORDERBOT_REDIS_URL"].startswith("redis://") and "@redis:6379/" in env["ORDERBOT_REDIS_URL"]
    assert layout.environment(services["actions"])["LLM_BASE_URL"] == "http://llm:8000/v1"


@pytest.mark.parametrize("name", ALL_SERVICES)
def test_every_service_has_a_healthcheck_and_a_restart_policy(name):
    service = layout.services()[name]
    assert RESTART_POLICIES.match(str(service.get("restart", ""))), (
        f"{name}: restart {service.get('restart')!r}"
    )
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), name
    test = check.get("test")
    assert test and test != ["NONE"], f"{name} has no healthcheck"
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
    for key in ("interval", "timeout", "retries"):
        assert key in check, f"{name}: healthcheck without {key}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_healthcheck_of_each_app_service_asks_its_own_port(name):
    service = layout.services()[name]
    url = layout.healthcheck_url(service)
    assert url and url.startswith("http://127.0.0.1:"), url
    port = url.split(":")[2].split("/")[0]
    assert service["expose"] == [port], (name, url)


def test_dependencies_exist_and_a_healthy_condition_has_a_healthcheck():
    services = layout.services()
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for target, spec in depends.items() if isinstance(depends, dict) else ((t, {}) for t in depends):
            assert target in services, f"{name} depends on unknown {target}"
            if spec.get("condition") == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target}'s health"


def test_only_the_proxy_is_published_and_operator_ports_stay_on_loopback():
    for name, service in layout.services().items():
        for port in service.get("ports") or []:
            text = str(port)
            if name == "proxy":
                assert text == "${ORDERBOT_HTTP_PORT:-80}:80"
            else:
                assert text.startswith("127.0.0.1:"), f"{name} publishes {text} beyond this host"
    for name in (*APP_SERVICES, *BACKING_SERVICES[:2]):
        assert not layout.services()[name].get("ports"), f"{name} must be reached through the proxy"


def test_state_lives_in_named_volumes_that_are_declared():
    services = layout.services()
    declared = set(layout.compose()["volumes"])
    used: set[str] = set()
    for name, service in services.items():
        for mount in service.get("volumes") or []:
            source = str(mount).split(":", 1)[0] if isinstance(mount, str) else mount["source"]
            if source.startswith((".", "/")):
                assert (layout.ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared
    for stateful, target in {
        "postgres": "/var/lib/postgresql/data",
        "redis": "/data",
        "rabbitmq": "/var/lib/rabbitmq",
        "orders": "/var/lib/orderbot",
        "prometheus": "/prometheus",
        "grafana": "/var/lib/grafana",
    }.items():
        targets = [str(m).split(":")[1] for m in services[stateful]["volumes"] if not str(m).startswith(".")]
        assert target in targets, f"{stateful} keeps {target} in no named volume"


def test_the_pinning_rule():
    assert layout.pinned("nginx:1.28.0-alpine") and layout.pinned("prom/prometheus:v3.5.0")
    assert layout.pinned("postgres:16.10-bookworm") and layout.pinned("python:3.11.14-slim-bookworm")
    assert layout.pinned("redis@sha256:" + "0" * 64)
    for moving in ("nginx", "nginx:latest", "nginx:1.28-alpine", "python:3.11-slim", "redis:7", "x:stable"):
        assert not layout.pinned(moving), moving


def test_third_party_images_are_pinned_to_a_version():
    for name, service in layout.services().items():
        if "build" in service:
            continue
        image = service["image"]
        assert "$" not in image, name
        assert layout.pinned(image), f"{name}: {image} is not pinned to a release"


# --- secrets ------------------------------------------------------------------------------------


def test_no_secret_is_written_in_the_compose_file():
    for name, service in layout.services().items():
        for key, value in layout.environment(service).items():
            if SECRET_NAME.search(key) and value:
                assert value.startswith("${") and value.endswith("}"), f"{name}: {key} must come from .env"
            masked = re.sub(r"\$\{[^}]*\}", "<from .env>", value)
            for credentials in re.findall(r"://([^/@\s]*)@", masked):
                _, _, password = credentials.partition(":")
                assert password == "<from .env>", f"{name}: {key} has a password written in its URL"


def test_every_secret_is_required_so_that_compose_refuses_to_start_without_it():
    text = layout.compose_text()
    secrets = {}
    for name, op, arg in layout.interpolations(text):
        if SECRET_NAME.search(name):
            secrets.setdefault(name, set()).add((op, arg if op == ":-" else ""))
    assert set(REQUIRED_SECRETS) <= set(secrets)
    for name, uses in secrets.items():
        if name in REQUIRED_SECRETS:
            assert {op for op, _ in uses} == {":?"}, f"every ${{{name}}} must be ${{{name}:?...}}"
        else:  # a chat platform's credential: empty leaves that channel or group off
            assert name.startswith(OPTIONAL_SECRET_PREFIXES), f"{name} is neither required nor optional"
            assert uses == {(":-", "")}, f"${{{name}}} must be ${{{name}:-}}"


def test_every_interpolated_variable_is_documented_in_env_example():
    used = set(layout.variables(layout.compose_text()))
    assert used - layout.documented_variables() == set()


def test_the_compose_file_interpolates_with_a_complete_env_and_refuses_an_incomplete_one():
    text = layout.compose_text()
    required = [name for name, op in layout.variables(text).items() if op.endswith("?")]
    env = {name: f"value-of-{name.lower()}" for name in required}
    rendered = layout.interpolate(text, env)
    assert "${" not in rendered
    assert "value-of-orderbot_db_password@postgres:5432/orderbot" in rendered
    with pytest.raises(KeyError, match="RASA_AUTH_TOKEN"):
        layout.interpolate(text, {k: v for k, v in env.items() if k != "RASA_AUTH_TOKEN"})


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    patterns = {
        line.strip()
        for line in layout.DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for pattern in (".env", ".git", ".venv", ".venv-rasa", "var", "web/node_modules"):
        assert pattern in patterns, pattern
    assert "!.env" not in patterns and not any(p.startswith("!.env") for p in patterns)
