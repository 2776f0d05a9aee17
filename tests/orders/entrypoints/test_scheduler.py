from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from orders.entrypoints.scheduler import catch_up, last_settlement_day
from orders.service_layer.setup import import_from
from tests.orders.conftest import HEADER, SHANGHAI, order_row, settings_for, write_csv

TZ = ZoneInfo("Asia/Shanghai")


def test_the_last_settlement_day_depends_on_the_time_of_day():
    assert last_settlement_day(datetime(2026, 11, 25, 23, 31, tzinfo=TZ), time(23, 30)) == date(2026, 11, 25)
    assert last_settlement_day(datetime(2026, 11, 25, 23, 29, tzinfo=TZ), time(23, 30)) == date(2026, 11, 24)


def test_catch_up_runs_a_missed_settlement_once(engine, database_url, tmp_path):
    import_from(
        engine,
        write_csv(
            tmp_path / "o.csv",
            HEADER + ["status", "due_date"],
            [order_row("SO-1") + ["shipped", "2026-11-20"], order_row("SO-2") + ["shipped", "2026-11-23"]],
        ),
        SHANGHAI,
    )
    settings = settings_for(database_url, tmp_path)
    # The service was down on the 21st, 22nd and 23rd: one catch-up run on the 24th covers them all.
    report = catch_up(engine, settings, datetime(2026, 11, 24, 9, 0, tzinfo=TZ))
    assert report.settlement_day == "2026-11-23" and report.settled == ["SO-1", "SO-2"]
    assert catch_up(engine, settings, datetime(2026, 11, 24, 10, 0, tzinfo=TZ)) is None
