"""The one clock of the order service: now, in UTC, timezone-aware. Local dates (the settlement day,
the charts' days) are this instant in the configured timezone."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
