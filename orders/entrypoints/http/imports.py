"""Importing orders: from a configured ERP source by name, or from an uploaded export file."""

from __future__ import annotations

import functools
from pathlib import Path

from flask import jsonify, request

from orders.adapters.erp_csv import UnreadableFile
from orders.adapters.erp_sources import UnknownSource, load_sources
from orders.domain.access import IMPORT_ROLES, NotPermitted, check_staff
from orders.domain.erp_record import UnknownColumns
from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, deps
from orders.entrypoints.http.errors import COMMON, ERROR, error
from orders.entrypoints.http.idempotency import idempotent
from orders.entrypoints.observability import count_import
from orders.entrypoints.openapi import ApiRoutes, RequestInvalid, check_text, parse_body
from orders.service_layer import setup
from orders.service_layer.importing import ImportStopped

routes = ApiRoutes()
UPLOAD_SUFFIXES = (".csv", ".json", ".jsonl", ".xlsx", ".xlsm")


def importers_only(view):
    """Refuse a caller whose role may not import on the request's headers alone: before any of the
    body (an upload of up to 200 MB) is read, and before an Idempotency-Key is reserved for it. The
    refusal closes the connection, so that the server does not read the unsent rest of the upload to
    keep the connection for a next request."""

    @functools.wraps(view)
    def checked(**kwargs):
        try:
            check_staff(actor(), *IMPORT_ROLES)
        except NotPermitted as refused:
            response = error(403, "forbidden", str(refused))
            response.headers["Connection"] = "close"
            return response
        return view(**kwargs)

    return checked


@routes.operation(
    "/api/v1/imports",
    "POST",
    summary="Import orders: a configured source by name (JSON body) "
    "or an uploaded file (multipart field 'file')",
    tag="imports",
    raw_body={
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ImportSourceRequest"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    },
    documented_models=(schemas.ImportSourceRequest,),
    headers=(("Idempotency-Key", "makes retries safe"),),
    responses={
        200: ("the import report", schemas.ImportReportOut),
        403: ("not allowed", ERROR),
        422: ("unreadable source, or a file unreadable part-way (what is stored is in 'report')", ERROR),
        503: ("the import stopped part-way (what is stored is in 'report'); run it again", ERROR),
        **COMMON,
    },
)
@importers_only
@idempotent
def run_import():
    who = actor()  # may import (importers_only): the body is read from here on
    settings = deps().settings
    sources = load_sources(settings.sources_file)
    try:
        if request.files:
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise RequestInvalid("Send the export as the multipart field 'file'.")
            check_text(upload.filename, "file name")
            suffix = Path(upload.filename).suffix.lower()
            if suffix not in UPLOAD_SUFFIXES:
                raise RequestInvalid("The file must be .csv, .json, .jsonl or .xlsx.")
            report = setup.import_upload(
                deps().engine, upload.save, suffix, settings.timezone, sources=sources, actor=who.name
            )
            return _reported(report, label=upload.filename)
        body = parse_body(schemas.ImportSourceRequest)
        if body.source not in sources:
            message = f"No configured source {body.source!r}."
            return error(422, "unknown_source", message, known_sources=sorted(sources))
        report = setup.import_from(
            deps().engine, body.source, settings.timezone, sources=sources, actor=who.name
        )
        return _reported(report)
    except (UnreadableFile, UnknownColumns, UnknownSource) as problem:
        return error(422, "unreadable_source", str(problem))
    except ImportStopped as stop:
        # A file unreadable part-way is the sender's to fix; anything else (the database went away) ours.
        status = 422 if isinstance(stop.__cause__, UnreadableFile) else 503
        message = stop.explanation()
        return error(
            status, "import_stopped", message[0].upper() + message[1:] + ".", report=stop.report.as_dict()
        )


def _reported(report, label: str | None = None):
    count_import(report)
    result = report.as_dict()
    if label:
        result["source"] = label
    return jsonify(result)


@routes.operation(
    "/api/v1/imports/sources",
    "GET",
    summary="Names of the configured ERP sources",
    tag="imports",
    responses={200: ("names", schemas.SourceList), 403: ("not allowed", ERROR), **COMMON},
)
def import_sources():
    check_staff(actor())
    return jsonify({"items": sorted(load_sources(deps().settings.sources_file))})
