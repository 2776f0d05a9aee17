"""Preparing a database for the order service: migrations, then the sample orders on first start."""

from __future__ import annotations

import logging
from datetime import tzinfo
from pathlib import Path

from sqlalchemy import Engine, func, select

from orders.adapters import database
from orders.adapters.erp_csv import open_csv
from orders.adapters.orm import orders
from orders.service_layer.importing import ImportReport, import_orders
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)


def import_csv_file(engine: Engine, path: Path, default_tz: tzinfo, **kwargs) -> ImportReport:
    with open_csv(path, on_bytes=kwargs.pop("on_bytes", None)) as export:
        return import_orders(
            SqlAlchemyUnitOfWork(engine), str(path), export.header, export.rows, default_tz, **kwargs
        )


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
    report = import_csv_file(engine, sample, default_tz)
    log.info("loaded sample orders: %s", report.summary())
    return report
