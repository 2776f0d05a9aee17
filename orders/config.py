"""Settings of the order service, read from environment variables (documented in the README)."""

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
        )
