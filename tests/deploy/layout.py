"""Readers of the production layout's files (docker-compose.yml, docker/), shared by tests/deploy.

Nothing here needs Docker: the files are parsed and checked as text, offline.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKER_DIR = ROOT / "docker"
DOCKERFILES = {
    "rasa": DOCKER_DIR / "rasa.Dockerfile",
    "app": DOCKER_DIR / "app.Dockerfile",
}
NGINX_CONF = DOCKER_DIR / "nginx" / "nginx.conf"
PROMETHEUS_CONF = DOCKER_DIR / "prometheus.yml"
# One endpoints.yml for every profile: bot/endpoints.py picks the stores from the environment.
RASA_ENDPOINTS = ROOT / "endpoints.yml"
GRAFANA_DIR = DOCKER_DIR / "grafana"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"

# Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
# ${VAR:+alt}, ${VAR+alt}; $$ is a literal dollar sign.
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")


def without_comments(text: str) -> str:
    """``text`` without its whole-line comments (YAML), which interpolation does not read."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def compose_text() -> str:
    return without_comments(COMPOSE_FILE.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    """docker-compose.yml as YAML (anchors and `<<` merges resolved), not interpolated."""
    return _load_yaml(COMPOSE_FILE)


@cache
def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def interpolations(text: str) -> list[tuple[str, str, str]]:
    """Every interpolation in ``text``: (variable, operator, its default or error message)."""
    return [
        (m["name"], m["op"] or "", m["arg"] or "") for m in _INTERPOLATION.finditer(text.replace("$$", ""))
    ]


def variables(text: str) -> dict[str, str]:
    """Each variable interpolated in ``text`` -> its first operator ("" for a plain ${VAR})."""
    found: dict[str, str] = {}
    for name, op, _ in interpolations(text):
        found.setdefault(name, op)
    return found


def interpolate(value: str, env: dict[str, str]) -> str:
    """``value`` as Compose interpolates it with ``env``; raises KeyError for a required one unset."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        current = env.get(name)
        unset_or_empty = current is None or (op.startswith(":") and current == "")
        if op.endswith("?") and unset_or_empty:
            raise KeyError(f"{name}: {arg}")
        if op.endswith("-") and unset_or_empty:
            return arg
        if op.endswith("+"):
            return "" if unset_or_empty else arg
        return current or ""

    return _INTERPOLATION.sub(substitute, value).replace("$$", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either of Compose's forms, as a mapping of raw strings."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in raw)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def documented_variables() -> set[str]:
    """Variables that .env.example names, commented out (`# NAME=`) or not."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def healthcheck_url(service: dict[str, Any]) -> str | None:
    test = service.get("healthcheck", {}).get("test") or []
    text = " ".join(test) if isinstance(test, list) else test
    match = re.search(r"https?://\S+", text)
    return match.group(0) if match else None


# Metric families the Python services define with prometheus_client (`Counter("name", ...)`).
_METRIC_DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
_SAMPLE_SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
}


def exported_metrics(packages: tuple[str, ...] = ("orders", "llm_server", "actions", "bot")) -> set[str]:
    """The names of the samples the code exports, as Prometheus sees them (``llm_requests_total``)."""
    names: set[str] = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for kind, name in _METRIC_DEFINITION.findall(path.read_text(encoding="utf-8")):
                base = name.removesuffix("_total") if kind == "Counter" else name
                names.update(base + suffix for suffix in _SAMPLE_SUFFIXES[kind])
    return names


# A release, not a moving tag: major.minor.patch (PostgreSQL's releases are major.minor), an optional
# variant (-slim-bookworm, -alpine), or a digest.
_RELEASE_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$")


def pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return False
    match = _RELEASE_TAG.match(tag)
    three_parts = re.match(r"^v?\d+\.\d+\.\d+", tag)
    return bool(match and (three_parts or repository.rsplit("/", 1)[-1] == "postgres"))
