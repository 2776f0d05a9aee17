"""Scheduled jobs of the order service (APScheduler): the daily settlement, its catch-up, the ERP sync."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from orders.adapters.erp_sources import load_sources
from orders.config import Settings
from orders.domain.access import SYSTEM_SCHEDULER
from orders.entrypoints.observability import count_import
from orders.service_layer import services
from orders.service_layer.setup import import_from
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)


def last_settlement_day(now_local: datetime, settlement_time) -> date:
    """The latest day whose settlement time has passed: today after the time of day, else yesterday."""
    today = now_local.date()
    return today if now_local.time() >= settlement_time else today - timedelta(days=1)


def settle(engine: Engine, day: date) -> services.SettlementReport:
    report = services.settle_day(SqlAlchemyUnitOfWork(engine), day, SYSTEM_SCHEDULER)
    log.info(
        "settlement for %s: %d order(s) settled, %d skipped, totals %s",
        day,
        report.orders,
        len(report.skipped),
        report.totals,
    )
    return report


def catch_up(
    engine: Engine, settings: Settings, now_local: datetime | None = None
) -> services.SettlementReport | None:
    """Run the settlement that was missed while the service was down. One run for the latest day covers
    every earlier missed day too, since an order is due once its due date is on or before that day."""
    now_local = now_local or datetime.now(settings.timezone)
    day = last_settlement_day(now_local, settings.settlement_time)
    uow = SqlAlchemyUnitOfWork(engine)
    with uow:
        last = uow.settlements.last_finished_day()
    if last is not None and last >= day:
        return None
    log.info("catching up the settlement for %s (last finished run: %s)", day, last)
    return settle(engine, day)


def erp_sync(engine: Engine, settings: Settings) -> None:
    report = import_from(
        engine,
        settings.erp_sync_source,
        settings.timezone,
        sources=load_sources(settings.sources_file),
        actor="erp-sync",
    )
    count_import(report)
    log.info("ERP sync: %s", report.summary())


def start_scheduler(engine: Engine, settings: Settings) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=settings.timezone)
    at = settings.settlement_time
    scheduler.add_job(
        lambda: settle(engine, datetime.now(settings.timezone).date()),
        CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone),
        id="daily-settlement",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(lambda: catch_up(engine, settings), id="settlement-catch-up")  # once, now
    if settings.erp_sync_source and settings.erp_sync_minutes > 0:
        scheduler.add_job(
            lambda: erp_sync(engine, settings),
            IntervalTrigger(minutes=settings.erp_sync_minutes),
            id="erp-sync",
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    log.info("scheduler started: settlement daily at %s %s", at.strftime("%H:%M"), settings.timezone.key)
    return scheduler
