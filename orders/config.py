"""Settings of the order service, read from environment variables (documented in docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _time_of_day(text: str) -> time:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"ORDERBOT_SETTLEMENT_TIME must be HH:MM, not {text!r}") from None


def _log_format(name: str) -> str:
    if name not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be text or json, not {name!r}")
    return name


def _trusted_proxies(text: str) -> int:
    try:
        hops = int(text)
    except ValueError:
        hops = -1
    if not 0 <= hops <= 5:
        raise ValueError(f"ORDERBOT_TRUSTED_PROXIES must be a number of proxies from 0 to 5, not {text!r}")
    return hops


def _count(env: Mapping[str, str], name: str, default: str) -> int:
    text = env.get(name, default).strip() or default
    if not text.isdigit():
        raise ValueError(f"{name} must be a whole number, 0 or more, not {text!r}")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, default: str) -> float:
    text = env.get(name, default).strip() or default
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name} must be a number of seconds above 0, not {text!r}")
    return seconds


def _worker_class(name: str) -> str:
    if name not in ("gevent", "gthread"):
        raise ValueError(f"ORDERS_WORKER must be gevent or gthread, not {name!r}")
    return name


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    timezone: ZoneInfo
    host: str
    port: int
    sample_data: Path | None
    threads: int
    jwt_secret: str | None
    token_minutes: int
    service_token: str | None
    carriers_file: Path
    sources_file: Path | None
    settlement_time: time
    scheduler_enabled: bool
    erp_sync_source: str | None
    erp_sync_minutes: int
    # The notification hub (orders/entrypoints/hub/); defaults keep older callers working.
    worker_class: str = "gevent"  # gevent: thousands of idle WebSockets; gthread: one thread each
    worker_connections: int = 10000
    redis_url: str | None = None  # set: hubs of several processes fan out through Redis pub/sub
    redis_channel: str = "orderbot:notifications"  # one per deployment sharing a Redis
    # set: conversation analytics consume the events Rasa's event broker publishes to RabbitMQ
    rabbitmq_url: str | None = None
    rasa_events_queue: str = "rasa_events"  # the queue Rasa's event broker publishes to
    rasa_events_exchange: str = "rasa-exchange"  # the fanout exchange that queue is bound to
    hub_retention_days: float = 7.0  # how far back a reconnecting client is replayed
    hub_heartbeat_seconds: float = 25.0
    hub_buffer_events: int = 256  # per client; on overflow: 4008 if it lags, else a DB replay
    hub_poll_seconds: float = 0.5  # safety net for outbox rows written by other processes
    hub_auth_timeout_seconds: float = 10.0
    hub_max_message_bytes: int = 4096
    hub_send_timeout_seconds: float = 10.0
    hub_socket_send_buffer_bytes: int = 131072
    # Rasa's HTTP API, to resume a conversation when its handoff ticket closes (both or nothing).
    rasa_url: str | None = None
    rasa_auth_token: str | None = None
    log_format: str = "text"  # json: one JSON object per log line, with the request id
    # Proxies in front that set X-Forwarded-For/-Proto/-Host (nginx in docker-compose.yml: 1); 0
    # trusts none of these headers (a direct client could forge them).
    trusted_proxies: int = 0
    # Sign-in throttling (orders/service_layer/signin_throttle.py); a limit of 0 turns its rule off.
    signin_max_failures: int = 5  # of one account (user name, order number) from one address
    signin_max_address_failures: int = 20  # from one address, whatever the accounts
    signin_max_account_failures: int = 20  # of one account from every address
    signin_first_wait_seconds: float = 1.0  # doubled by each further failure
    signin_max_wait_seconds: float = 900.0
    signin_forget_after_seconds: float = 3600.0  # failures are forgotten after this long without one
    signin_redis_prefix: str = "orderbot:signin"  # one per deployment sharing a Redis
    invoice_link_seconds: float = 600.0  # how long a signed invoice link opens the PDF

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("ORDERBOT_VAR_DIR", PROJECT_ROOT / "var"))
        sample = env.get("ORDERBOT_SAMPLE_DATA", str(PROJECT_ROOT / "data" / "samples" / "erp_orders.csv"))
        sources = env.get("ORDERBOT_SOURCES", str(PROJECT_ROOT / "config" / "sources.yml"))
        return cls(
            database_url=env.get("ORDERBOT_DATABASE_URL") or f"sqlite:///{var_dir / 'orderbot.db'}",
            var_dir=var_dir,
            timezone=ZoneInfo(env.get("ORDERBOT_TIMEZONE", "Asia/Shanghai")),
            host=env.get("ORDERS_HOST", "127.0.0.1"),
            port=int(env.get("ORDERS_PORT", "8080")),
            sample_data=Path(sample) if sample else None,
            threads=int(env.get("ORDERS_THREADS", "16")),
            jwt_secret=env.get("ORDERBOT_JWT_SECRET") or None,
            token_minutes=int(env.get("ORDERBOT_TOKEN_MINUTES", "720")),
            service_token=env.get("ORDERBOT_SERVICE_TOKEN") or None,
            carriers_file=Path(env.get("ORDERBOT_CARRIERS", str(PROJECT_ROOT / "config" / "carriers.yml"))),
            sources_file=Path(sources) if sources else None,
            settlement_time=_time_of_day(env.get("ORDERBOT_SETTLEMENT_TIME", "23:30")),
            scheduler_enabled=env.get("ORDERBOT_SCHEDULER", "on") != "off",
            erp_sync_source=env.get("ORDERBOT_ERP_SYNC_SOURCE") or None,
            erp_sync_minutes=int(env.get("ORDERBOT_ERP_SYNC_MINUTES", "0")),
            worker_class=_worker_class(env.get("ORDERS_WORKER", "gevent")),
            worker_connections=int(env.get("ORDERS_WORKER_CONNECTIONS", "10000")),
            redis_url=env.get("ORDERBOT_REDIS_URL") or None,
            redis_channel=env.get("ORDERBOT_REDIS_CHANNEL", "orderbot:notifications"),
            rabbitmq_url=env.get("ORDERBOT_RABBITMQ_URL") or None,
            # Rasa's own broker settings (bot/endpoints.py) when the stack shares one environment
            rasa_events_queue=env.get("ORDERBOT_RASA_EVENTS_QUEUE")
            or env.get("RASA_BROKER_QUEUE")
            or "rasa_events",
            rasa_events_exchange=env.get("ORDERBOT_RASA_EVENTS_EXCHANGE")
            or env.get("RASA_BROKER_EXCHANGE")
            or "rasa-exchange",
            hub_retention_days=float(env.get("ORDERBOT_HUB_RETENTION_DAYS", "7")),
            hub_heartbeat_seconds=float(env.get("ORDERBOT_HUB_HEARTBEAT_SECONDS", "25")),
            hub_buffer_events=int(env.get("ORDERBOT_HUB_BUFFER_EVENTS", "256")),
            hub_poll_seconds=float(env.get("ORDERBOT_HUB_POLL_SECONDS", "0.5")),
            hub_auth_timeout_seconds=float(env.get("ORDERBOT_HUB_AUTH_TIMEOUT_SECONDS", "10")),
            hub_max_message_bytes=int(env.get("ORDERBOT_HUB_MAX_MESSAGE_BYTES", "4096")),
            hub_send_timeout_seconds=float(env.get("ORDERBOT_HUB_SEND_TIMEOUT_SECONDS", "10")),
            hub_socket_send_buffer_bytes=int(env.get("ORDERBOT_HUB_SOCKET_SEND_BUFFER_BYTES", "131072")),
            rasa_url=env.get("RASA_URL") or None,
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or None,
            log_format=_log_format(env.get("LOG_FORMAT", "text").strip().lower() or "text"),
            trusted_proxies=_trusted_proxies(env.get("ORDERBOT_TRUSTED_PROXIES", "0").strip() or "0"),
            signin_max_failures=_count(env, "ORDERBOT_SIGNIN_MAX_FAILURES", "5"),
            signin_max_address_failures=_count(env, "ORDERBOT_SIGNIN_MAX_ADDRESS_FAILURES", "20"),
            signin_max_account_failures=_count(env, "ORDERBOT_SIGNIN_MAX_ACCOUNT_FAILURES", "20"),
            signin_first_wait_seconds=_seconds(env, "ORDERBOT_SIGNIN_FIRST_WAIT_SECONDS", "1"),
            signin_max_wait_seconds=_seconds(env, "ORDERBOT_SIGNIN_MAX_WAIT_SECONDS", "900"),
            signin_forget_after_seconds=_seconds(env, "ORDERBOT_SIGNIN_FORGET_AFTER_SECONDS", "3600"),
            signin_redis_prefix=env.get("ORDERBOT_SIGNIN_REDIS_PREFIX") or "orderbot:signin",
            invoice_link_seconds=_seconds(env, "ORDERBOT_INVOICE_LINK_TTL_SECONDS", "600"),
        )


BRIDGE_ROLES = ("warehouse", "finance")


@dataclass(frozen=True)
class GroupSettings:
    """Where one role's notifications go: a DingTalk robot, a Slack channel, a Slack incoming webhook."""

    dingtalk_webhook: str | None  # a robot's URL, or just its access token
    dingtalk_secret: str | None  # the robot's signing secret, when it has one
    slack_channel: str | None  # posted with SLACK_BOT_TOKEN
    slack_incoming_webhook: str | None


@dataclass(frozen=True)
class BridgeSettings:
    """The chat bridge (orders/entrypoints/bridge/): warehouse and finance notifications into their
    DingTalk and Slack groups."""

    # The defaults are from_env's, in one place.
    groups: dict[str, GroupSettings]  # by role: warehouse, finance
    slack_bot_token: str | None
    dingtalk_api_url: str
    slack_api_url: str
    dingtalk_per_minute: int
    slack_per_minute: int
    dingtalk_language: str  # en, zh or both
    slack_language: str
    enabled: bool
    poll_seconds: float
    batch: int
    lease_seconds: float
    max_backoff_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BridgeSettings:
        env = os.environ if environ is None else environ
        groups = {
            role: GroupSettings(
                dingtalk_webhook=env.get(f"ORDERBOT_DINGTALK_{role.upper()}_WEBHOOK") or None,
                dingtalk_secret=env.get(f"ORDERBOT_DINGTALK_{role.upper()}_SECRET") or None,
                slack_channel=env.get(f"SLACK_{role.upper()}_CHANNEL") or None,
                slack_incoming_webhook=env.get(f"ORDERBOT_SLACK_{role.upper()}_WEBHOOK") or None,
            )
            for role in BRIDGE_ROLES
        }
        return cls(
            groups=groups,
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            dingtalk_api_url=env.get("DINGTALK_API_URL", "https://oapi.dingtalk.com").rstrip("/"),
            slack_api_url=env.get("SLACK_API_URL", "https://slack.com/api/"),
            dingtalk_per_minute=int(env.get("ORDERBOT_DINGTALK_PER_MINUTE", "20")),
            slack_per_minute=int(env.get("ORDERBOT_SLACK_PER_MINUTE", "50")),
            dingtalk_language=_bridge_language(env.get("ORDERBOT_DINGTALK_LANGUAGE", "zh")),
            slack_language=_bridge_language(env.get("ORDERBOT_SLACK_LANGUAGE", "en")),
            enabled=env.get("ORDERBOT_BRIDGE", "on") != "off",
            poll_seconds=float(env.get("ORDERBOT_BRIDGE_POLL_SECONDS", "1")),
            batch=int(env.get("ORDERBOT_BRIDGE_BATCH", "20")),
            lease_seconds=float(env.get("ORDERBOT_BRIDGE_LEASE_SECONDS", "30")),
            max_backoff_seconds=float(env.get("ORDERBOT_BRIDGE_MAX_BACKOFF_SECONDS", "300")),
        )


def _bridge_language(value: str) -> str:
    if value not in ("en", "zh", "both"):
        raise ValueError(f"a bridge language must be en, zh or both, not {value!r}")
    return value
