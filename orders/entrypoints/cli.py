"""`orderbot`: the order service's command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from orders.config import Settings


def _cmd_serve(settings: Settings, _args) -> int:
    from orders.entrypoints.server import serve

    serve(settings)
    return 0


def _cmd_db_upgrade(settings: Settings, args) -> int:
    from orders.adapters.database import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _cmd_import(settings: Settings, args) -> int:
    from tqdm import tqdm

    from orders.adapters.database import make_engine, upgrade
    from orders.adapters.erp_csv import UnreadableFile
    from orders.domain.erp_record import UnknownColumns
    from orders.service_layer.bootstrap import import_csv_file

    path = Path(args.source)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    size = path.stat().st_size if path.is_file() else None
    with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, file=sys.stderr) as bar:
        try:
            report = import_csv_file(engine, path, settings.timezone, on_bytes=bar.update)
        except (UnreadableFile, UnknownColumns) as problem:
            bar.close()
            print(f"orderbot import: {problem}", file=sys.stderr)
            return 2
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json else report.summary())
    for problem in report.problems if not args.json else []:
        print(f"  line {problem.row}: {problem.reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderbot", description="orderbot's order service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the order service (REST API)").set_defaults(run=_cmd_serve)
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db_upgrade = db.add_parser("upgrade", help="apply migrations")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(run=_cmd_db_upgrade)
    imp = commands.add_parser("import", help="import orders from an ERP CSV export")
    imp.add_argument("source", help="path of the CSV file")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(run=_cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())
