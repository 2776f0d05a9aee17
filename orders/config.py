"""Settings of the order service, read from environment variables (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    timezone: ZoneInfo
    host: str
    port: int
    sample_data: Path | None
    threads: int

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("ORDERBOT_VAR_DIR", PROJECT_ROOT / "var"))
        sample = env.get("ORDERBOT_SAMPLE_DATA", str(PROJECT_ROOT / "data" / "samples" / "erp_orders.csv"))
        return cls(
            database_url=env.get("ORDERBOT_DATABASE_URL") or f"sqlite:///{var_dir / 'orderbot.db'}",
            timezone=ZoneInfo(env.get("ORDERBOT_TIMEZONE", "Asia/Shanghai")),
            host=env.get("ORDERS_HOST", "127.0.0.1"),
            port=int(env.get("ORDERS_PORT", "8080")),
            sample_data=Path(sample) if sample else None,
            threads=int(env.get("ORDERS_THREADS", "16")),
        )
