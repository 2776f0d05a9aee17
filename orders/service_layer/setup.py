"""Getting orders in: importing from a file, an upload or a configured source, and preparing a database
for the order service (migrations, then the sample orders on first start)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

from sqlalchemy import Engine, func, select

from orders.adapters import database
from orders.adapters.erp_sources import open_source
from orders.adapters.orm import orders
from orders.service_layer.importing import BytesRead, ImportReport, import_orders
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)


def import_from(
    engine: Engine,
    name_or_path: str | Path,
    default_tz: tzinfo,
    sources: dict | None = None,
    mapping: dict | None = None,
    on_bytes=None,
    **kwargs,
) -> ImportReport:
    """Import from a file (CSV, JSON, JSON Lines, XLSX) or a configured source (HTTP API, SQL query).
    ``on_bytes`` gets the bytes of a file read, after each batch is written."""
    bytes_read = BytesRead()
    with open_source(str(name_or_path), sources or {}, on_bytes=bytes_read.add) as source:
        return import_orders(
            SqlAlchemyUnitOfWork(engine),
            source.label,
            source.header,
            source.rows,
            default_tz,
            by_name=source.by_name,
            mapping={**source.mapping, **(mapping or {})},
            bytes_read=bytes_read,
            on_bytes=on_bytes,
            **kwargs,
        )


def import_upload(
    engine: Engine,
    save: Callable[[Path], None],
    suffix: str,
    default_tz: tzinfo,
    sources: dict | None = None,
    **kwargs,
) -> ImportReport:
    """Import an uploaded export: ``save`` writes the upload to the path it is given (the web layer's
    file object), ``suffix`` (.csv, .json, .jsonl, .xlsx) says how to read it. The copy is removed
    afterwards, whatever happened."""
    with tempfile.TemporaryDirectory(prefix="orderbot-import-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        save(path)
        return import_from(engine, path, default_tz, sources=sources, **kwargs)


def prepare_database(
    url: str, engine: Engine, sample: Path | None, default_tz: tzinfo
) -> ImportReport | None:
    """Migrate to the latest schema; on a database without orders, import the sample export."""
    database.upgrade(url)
    if sample is None or not sample.is_file():
        return None
    with engine.connect() as connection:
        if connection.execute(select(func.count()).select_from(orders)).scalar_one():
            return None
    report = import_from(engine, sample, default_tz, actor="sample")
    log.info("loaded sample orders: %s", report.summary())
    return report
