"""Where ERP orders come from: files (CSV, JSON, JSON Lines, XLSX), a paginated HTTP API, a SQL query.

Every source is streamed: rows are read as the import consumes them, never all at once.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orders.adapters.erp_csv import UnreadableFile, open_csv
from orders.domain.erp_record import UnreadableRow


class UnknownSource(ValueError):
    """No file or configured source of that name."""


@dataclass
class SourceRows:
    label: str
    header: list[Any]
    rows: Iterator[tuple[int, Any]]  # (row number, list of cells or dict of fields)
    by_name: bool  # rows are dicts keyed by header names
    mapping: dict[str, Any] = field(default_factory=dict)  # extra header names of this source


def _dict_rows(
    label: str, records: Iterator[dict[str, Any]], first_row: int = 1
) -> tuple[list[str], Iterator]:
    """Peek at the first record for the header; number the records from ``first_row``."""
    records = iter(records)
    try:
        first = next(records)
    except StopIteration:
        raise UnreadableFile(f"{label} holds no orders") from None
    if not isinstance(first, dict):
        raise UnreadableFile(f"{label}: each order must be a JSON object")

    def numbered() -> Iterator[tuple[int, Any]]:
        for number, record in enumerate(itertools.chain([first], records), start=first_row):
            yield number, record if isinstance(record, dict | UnreadableRow) else {}

    return list(first), numbered()


@contextmanager
def _json_source(path: Path, on_bytes: Callable[[int], object] | None) -> Iterator[SourceRows]:
    import ijson

    from orders.adapters.erp_csv import CountingReader

    raw = path.open("rb", buffering=0)
    stream = CountingReader(raw, on_bytes) if on_bytes else raw
    try:
        if path.suffix.lower() == ".jsonl":
            import io
            import json

            text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig")

            def records() -> Iterator[dict]:
                for line_number, line in enumerate(text, start=1):
                    if line.strip():
                        try:
                            yield json.loads(line)
                        except ValueError:  # a damaged line: quarantined, the lines after it read on
                            yield UnreadableRow([line[:1000]], f"line {line_number} is not JSON")
                        except RecursionError:
                            yield UnreadableRow([line[:1000]], f"line {line_number} is nested too deeply")

            header, rows = _dict_rows(path.name, records())
        else:
            prefix = "item"
            head = path.open("rb").read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
            if head.startswith(b"{"):
                prefix = "orders.item"  # {"orders": [...]}
            try:
                header, rows = _dict_rows(path.name, ijson.items(stream, prefix, use_float=False))
            except ijson.JSONError as exc:
                raise UnreadableFile(f"{path.name} is not valid JSON: {exc}") from None

        def guarded() -> Iterator[tuple[int, Any]]:
            try:
                yield from rows
            except ijson.JSONError as exc:
                raise UnreadableFile(f"{path.name} is not valid JSON: {exc}") from None

        yield SourceRows(str(path), header, guarded(), by_name=True)
    finally:
        stream.close()


@contextmanager
def _xlsx_source(path: Path, on_bytes: Callable[[int], object] | None) -> Iterator[SourceRows]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"{path.name} is not a readable XLSX workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        cells = sheet.iter_rows(values_only=True)
        header_row = next(cells, None)
        if not header_row:
            raise UnreadableFile(f"{path.name} has no header row")
        header = ["" if h is None else str(h) for h in header_row]

        def rows() -> Iterator[tuple[int, list[str]]]:
            for number, values in enumerate(cells, start=2):
                row = [_xlsx_text(v) for v in values]
                if any(row):
                    yield number, row
            if on_bytes:
                on_bytes(path.stat().st_size)

        yield SourceRows(str(path), header, rows(), by_name=False)
    finally:
        book.close()


def _xlsx_text(value: Any) -> str:
    from datetime import datetime

    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@contextmanager
def open_file(path: Path, on_bytes: Callable[[int], object] | None = None) -> Iterator[SourceRows]:
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise UnreadableFile(f"{path.name} is empty")
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl"):
        with _json_source(path, on_bytes) as source:
            yield source
    elif suffix in (".xlsx", ".xlsm"):
        with _xlsx_source(path, on_bytes) as source:
            yield source
    else:
        with open_csv(path, on_bytes=on_bytes) as export:
            yield SourceRows(str(path), export.header, export.rows, by_name=False)


def _http_records(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=int(config.get("retries", 5)),
        backoff_factor=float(config.get("backoff", 0.5)),
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=("GET",),
        respect_retry_after_header=True,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    headers = {k: os.path.expandvars(str(v)) for k, v in (config.get("headers") or {}).items()}
    page = int(config.get("first_page", 1))
    size = int(config.get("page_size", 500))
    items_field = config.get("items")
    timeout = float(config.get("timeout", 30))
    try:
        while True:
            params = {config.get("page_param", "page"): page, config.get("size_param", "page_size"): size}
            try:
                response = session.get(config["url"], params=params, headers=headers, timeout=timeout)
                response.raise_for_status()
                body = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise UnreadableFile(f"ERP API {config['url']} page {page}: {exc}") from None
            items = body.get(items_field) if items_field and isinstance(body, dict) else body
            if not isinstance(items, list):
                raise UnreadableFile(f"ERP API {config['url']} page {page}: no list of orders in the answer")
            yield from items
            if len(items) < size:
                return
            page += 1
    finally:
        session.close()


def _sql_records(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(os.path.expandvars(config["url"]))
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=1000).execute(
                text(config["query"])
            )
            for row in result.mappings():
                yield dict(row)
    except SQLAlchemyError as exc:
        raise UnreadableFile(f"SQL source: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def load_sources(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None or not Path(path).is_file():
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UnknownSource(f"cannot read the sources file {path}: {exc}") from None
    return dict(data.get("sources") or {})


@contextmanager
def open_source(
    name_or_path: str, sources: dict[str, dict[str, Any]], on_bytes: Callable[[int], object] | None = None
) -> Iterator[SourceRows]:
    """A configured source by name, else a file by path."""
    config = sources.get(name_or_path)
    if config is None:
        if Path(name_or_path).is_file():
            with open_file(Path(name_or_path), on_bytes) as source:
                yield source
            return
        known = ", ".join(sorted(sources)) or "none configured"
        raise UnknownSource(f"{name_or_path!r} is neither a file nor a configured source ({known})")
    kind = config.get("type")
    mapping = dict(config.get("mapping") or {})
    if kind == "file":
        with open_file(Path(os.path.expandvars(config["path"])), on_bytes) as source:
            source.mapping = mapping
            yield source
    elif kind in ("http", "sql"):
        if (
            kind == "http"
            and not config.get("url")
            or kind == "sql"
            and not (config.get("url") and config.get("query"))
        ):
            raise UnknownSource(
                f"source {name_or_path!r} lacks its url{' and query' if kind == 'sql' else ''}"
            )
        records = _http_records(config) if kind == "http" else _sql_records(config)
        header, rows = _dict_rows(f"source {name_or_path}", records)
        yield SourceRows(f"source {name_or_path}", header, rows, by_name=True, mapping=mapping)
    else:
        raise UnknownSource(f"source {name_or_path!r} has an unknown type {kind!r} (file, http or sql)")
