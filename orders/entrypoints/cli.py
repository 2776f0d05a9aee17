"""`orderbot`: the order service's command line."""

from __future__ import annotations

import argparse
import atexit
import getpass
import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from orders.config import Settings


def _engine(settings: Settings):
    from orders.bootstrap import migrated_engine

    return migrated_engine(settings)


def _cmd_serve(settings: Settings, _args) -> int:
    # Before prometheus-client is first imported: its multiprocess mode, so that the counters of the
    # gunicorn master (scheduler, ERP sync, sample import) reach the worker's /metrics. A fresh
    # directory per run, as the mode needs; the master removes it when it exits.
    if "prometheus_client" not in sys.modules:
        directory = tempfile.mkdtemp(prefix="orderbot-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        master = os.getpid()

        def remove_directory() -> None:
            if os.getpid() == master:  # a worker exits through atexit too; the master outlives it
                shutil.rmtree(directory, ignore_errors=True)

        atexit.register(remove_directory)
    from orders.entrypoints.server import serve

    serve(settings)
    return 0


def _cmd_db_upgrade(settings: Settings, args) -> int:
    from orders.adapters.database import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _cmd_import(settings: Settings, args) -> int:
    import yaml
    from tqdm import tqdm

    from orders.adapters.erp_csv import UnreadableFile
    from orders.adapters.erp_sources import UnknownSource, load_sources
    from orders.domain.erp_record import UnknownColumns
    from orders.entrypoints.observability import count_import
    from orders.service_layer.importing import ImportStopped
    from orders.service_layer.setup import import_from

    mapping = None
    if args.mapping:
        try:
            mapping = (yaml.safe_load(Path(args.mapping).read_text(encoding="utf-8")) or {}).get("fields", {})
        except (OSError, yaml.YAMLError) as exc:
            print(f"orderbot import: cannot read the mapping file: {exc}", file=sys.stderr)
            return 2
    path = Path(args.source)
    size = path.stat().st_size if path.is_file() else None
    engine = _engine(settings)
    # No monitor thread: an import forks its reader where the process has a single thread.
    tqdm.monitor_interval = 0
    with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, file=sys.stderr) as bar:
        try:
            report = import_from(
                engine,
                args.source,
                settings.timezone,
                sources=load_sources(settings.sources_file),
                mapping=mapping,
                on_bytes=bar.update,
                actor="cli",
                on_batch=None if size else lambda r: bar.set_postfix(rows=r.rows),
            )
        except (UnreadableFile, UnknownColumns, UnknownSource) as problem:
            bar.close()
            print(f"orderbot import: {problem}", file=sys.stderr)
            return 2
        except ImportStopped as stop:
            bar.close()
            print(f"orderbot import: {stop.explanation()}", file=sys.stderr)
            return 2 if isinstance(stop.__cause__, UnreadableFile) else 1
    count_import(report)  # this process's counters: scraped only where a collector reads them
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json else report.summary())
    for problem in report.problems if not args.json else []:
        print(f"  row {problem.row}: {problem.reason}")
    return 0


def _cmd_settle(settings: Settings, args) -> int:
    from dataclasses import asdict

    from orders.domain.access import Actor, Role, Source
    from orders.domain.errors import DomainError
    from orders.service_layer.services import settle_ended_day
    from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"orderbot settle: --date must be YYYY-MM-DD, not {args.date!r}", file=sys.stderr)
        return 2
    who = Actor(getpass.getuser(), Role.OPERATIONS, Source.CLI)
    try:
        report = settle_ended_day(SqlAlchemyUnitOfWork(_engine(settings)), day, who, settings.timezone)
    except DomainError as refused:
        print(f"orderbot settle: {refused}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    return 0


def _cmd_users_add(settings: Settings, args) -> int:
    from orders.domain.access import Role
    from orders.service_layer import users
    from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    try:
        users.add_user(
            SqlAlchemyUnitOfWork(_engine(settings)),
            args.username,
            password,
            Role(args.role),
            args.display_name or "",
        )
    except users.UserError as problem:
        print(f"orderbot users add: {problem}", file=sys.stderr)
        return 2
    print(f"added {args.role} user {args.username}")
    return 0


def _cmd_users_link(settings: Settings, args) -> int:
    from orders.service_layer import users
    from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

    try:
        users.link_platform_user(
            SqlAlchemyUnitOfWork(_engine(settings)), args.platform, args.platform_user_id, args.username
        )
    except users.UserError as problem:
        print(f"orderbot users link: {problem}", file=sys.stderr)
        return 2
    print(f"linked {args.platform} user {args.platform_user_id} to {args.username}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderbot", description="orderbot's order service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the order service (REST API, scheduler)").set_defaults(
        run=_cmd_serve
    )

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db_upgrade = db.add_parser("upgrade", help="apply migrations")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(run=_cmd_db_upgrade)

    imp = commands.add_parser("import", help="import orders from a file (CSV, JSON, JSONL, XLSX) or a source")
    imp.add_argument("source", help="a file path, or the name of a source in config/sources.yml")
    imp.add_argument("--mapping", help="YAML file: fields: {our_field: their column name or names}")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(run=_cmd_import)

    settle = commands.add_parser("settle", help="settle the orders still unpaid at the end of their due day")
    settle.add_argument("--date", required=True, help="the settlement day, YYYY-MM-DD")
    settle.set_defaults(run=_cmd_settle)

    user_commands = commands.add_parser("users", help="staff users").add_subparsers(
        dest="users_command", required=True
    )
    add = user_commands.add_parser("add", help="add a staff user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["warehouse", "finance", "operations"])
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(run=_cmd_users_add)
    link = user_commands.add_parser("link", help="link a Slack or DingTalk user id to a staff user")
    link.add_argument("username")
    link.add_argument("--platform", required=True, choices=["slack", "dingtalk"])
    link.add_argument("--id", dest="platform_user_id", required=True, help="the user id on that platform")
    link.set_defaults(run=_cmd_users_link)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())
