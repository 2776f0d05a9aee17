"""The REST API (Flask). Thin: authenticate, validate, call the service layer, shape the answer."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from orders.adapters.carriers_file import load_carriers
from orders.adapters.erp_csv import UnreadableFile
from orders.adapters.erp_sources import UnknownSource, load_sources
from orders.adapters.invoice_pdf import render_invoice
from orders.adapters.rasa_conversations import RasaConversations
from orders.adapters.repository import OrderQuery
from orders.config import Settings
from orders.domain.access import Actor, NotPermitted, Role, Source, check_permitted, check_staff
from orders.domain.erp_record import UnknownColumns
from orders.domain.errors import DomainError
from orders.domain.labels import PAYMENT_LABELS, STATUS_LABELS
from orders.domain.model import Action, IllegalTransition, Order, OrderStatus
from orders.entrypoints import schemas
from orders.entrypoints.auth import TokenSigner, Unauthenticated
from orders.entrypoints.hub import register_hub
from orders.entrypoints.observability import count_import, register_observability
from orders.entrypoints.openapi import ApiSpec, RequestInvalid, parse_body
from orders.service_layer import services, users
from orders.service_layer.bootstrap import import_from
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def error(http_status: int, code: str, message: str, **details):
    """The one error shape of the API: {"error": {"code", "message", ...details}}."""
    response = jsonify({"error": {"code": code, "message": message, **details}})
    response.status_code = http_status
    return response


def permitted_actions(order: Order, who: Actor) -> list[str]:
    """The actions of the workflow that ``who`` may take on ``order`` now."""
    permitted = []
    for name in order.allowed_actions():
        try:
            check_permitted(who, order, Action(name))
        except NotPermitted:
            continue
        permitted.append(name)
    return permitted


def order_json(order: Order, who: Actor) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "customer_name": order.customer_name,
        "status": order.status.value,
        "status_label": STATUS_LABELS[order.status],
        "payment_status": order.payment_status.value,
        "payment_label": PAYMENT_LABELS[order.payment_status],
        "allowed_actions": permitted_actions(order, who),
        "amount": f"{order.amount:.2f}",
        "currency": order.currency,
        "freight": f"{order.freight:.2f}" if order.freight is not None else None,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "shipped_at": order.shipped_at.isoformat() if order.shipped_at else None,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "version": order.version,
    }


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def with_etag(order: Order, who: Actor, status: int = 200):
    response = jsonify(order_json(order, who))
    response.status_code = status
    response.headers["ETag"] = f'"{order.version}"'
    return response


def create_app(engine: Engine, settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json.ensure_ascii = False  # Chinese names and labels readable in the raw JSON
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    if settings.trusted_proxies:
        # Behind a TLS-terminating proxy the request's scheme, host and client address are the
        # proxy's; its X-Forwarded-* headers say what the browser used (the pages' hub URL and CSP).
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    carriers = load_carriers(settings.carriers_file)
    signer = TokenSigner.from_settings(
        settings.jwt_secret, settings.var_dir, settings.token_minutes, settings.service_token
    )
    spec = ApiSpec(
        "orderbot order service",
        "1",
        "Orders, their workflow, invoices, settlements, imports, notifications and users. "
        "Authenticate with a bearer token from /api/v1/auth/token (staff) or /api/v1/auth/customer.",
    )
    app.extensions["orderbot"] = {"spec": spec, "signer": signer, "carriers": carriers}
    # First of the request hooks: the request id is set before anything else logs.
    register_observability(app, engine, log_access=settings.log_format == "json")
    conversations = RasaConversations.from_settings(settings.rasa_url, settings.rasa_auth_token)
    app.extensions["orderbot"]["conversations"] = conversations  # the console reads transcripts with it

    def new_uow() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(engine)  # one per use: a unit of work holds one thread's session

    def actor() -> Actor:
        if "actor" not in g:
            g.actor = signer.actor(request.headers.get("Authorization"))
        return g.actor

    def order_version_expected() -> int | None:
        header = request.headers.get("If-Match")
        if not header:
            return None
        try:
            return int(header.strip().removeprefix("W/").strip('"'))
        except ValueError:
            raise RequestInvalid('If-Match must be the ETag of the order, like "3".') from None

    # --- errors: one JSON shape, never a 500 for a client's mistake -----------------------------

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)

    @app.errorhandler(RequestInvalid)
    def invalid_request(exc: RequestInvalid):
        return error(400, "invalid_request", str(exc), problems=exc.details)

    @app.errorhandler(Unauthenticated)
    def unauthenticated(exc: Unauthenticated):
        response = error(401, "unauthenticated", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.errorhandler(services.OrderNotFound)
    def not_found(exc: services.OrderNotFound):
        return error(404, "order_not_found", str(exc), order_id=exc.order_id)

    @app.errorhandler(NotPermitted)
    def forbidden(exc: NotPermitted):
        return error(403, "forbidden", str(exc))

    @app.errorhandler(IllegalTransition)
    def illegal(exc: IllegalTransition):
        return error(
            409,
            exc.code,
            str(exc),
            order_id=exc.order_id,
            status=exc.status.value,
            action=exc.action.value,
            allowed_actions=exc.allowed,
        )

    @app.errorhandler(services.ConcurrentUpdate)
    def concurrent(exc: services.ConcurrentUpdate):
        return error(409, "concurrent_update", str(exc))

    @app.errorhandler(services.VersionMismatch)
    def stale(exc: services.VersionMismatch):
        return error(412, "version_mismatch", str(exc), current_version=exc.current_version)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error(422, exc.code, str(exc))

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error")
        return error(500, "internal_error", "The order service failed to handle this request.")

    # --- Idempotency-Key on POST: the same key from the same caller gets the first answer ---------

    def idempotent(view):
        def wrapper(**kwargs):
            key = request.headers.get("Idempotency-Key")
            if not key:
                return view(**kwargs)
            if len(key) > 128:
                raise RequestInvalid("Idempotency-Key is at most 128 characters.")
            who = actor()
            principal = f"{who.role.value}:{who.customer_id or who.name}"
            with new_uow() as uow:
                seen = uow.idempotency.get(principal, key)
            if seen is not None:
                if (seen["method"], seen["path"]) != (request.method, request.path):
                    return error(
                        422, "idempotency_key_reused", "This Idempotency-Key was used for another request."
                    )
                replay = Response(seen["body"], status=seen["status_code"], mimetype="application/json")
                replay.headers["Idempotent-Replayed"] = "true"
                return replay
            response = app.make_response(view(**kwargs))
            if response.status_code < 500:
                try:
                    with new_uow() as uow:
                        uow.idempotency.add(
                            principal=principal,
                            key=key,
                            method=request.method,
                            path=request.path,
                            status_code=response.status_code,
                            body=response.get_data(as_text=True),
                            created_at=services.utcnow(),
                        )
                        uow.commit()
                except IntegrityError:  # a concurrent request with the same key stored its answer first
                    pass
            return response

        wrapper.__name__ = view.__name__
        return wrapper

    E = schemas.ErrorBody
    common = {400: ("invalid request", E), 401: ("not signed in", E)}

    # --- health and the API description ---------------------------------------------------------

    @spec.operation(
        app,
        "/health",
        "GET",
        summary="Health check",
        tag="service",
        auth=False,
        responses={200: ("healthy", schemas.Health), 503: ("database unavailable", E)},
    )
    def health():
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # the health check reports, it does not raise
            return error(503, "database_unavailable", f"database check failed: {type(exc).__name__}")
        return jsonify({"status": "ok", "service": "orders"})

    @app.get("/api/v1/openapi.json")
    def openapi():
        return jsonify(spec.document())

    # --- authentication ---------------------------------------------------------------------------

    @spec.operation(
        app,
        "/api/v1/auth/token",
        "POST",
        summary="Staff sign-in",
        tag="auth",
        auth=False,
        body=schemas.TokenRequest,
        responses={200: ("token", schemas.TokenResponse), **common},
    )
    def staff_token(body: schemas.TokenRequest):
        who = users.authenticate(new_uow(), body.username, body.password, Source.REST)
        if who is None:
            return error(401, "invalid_credentials", "Wrong user name or password.")
        return jsonify(_token(who))

    @spec.operation(
        app,
        "/api/v1/auth/customer",
        "POST",
        summary="Customer sign-in with an order number and the e-mail or phone on it",
        tag="auth",
        auth=False,
        body=schemas.CustomerTokenRequest,
        responses={200: ("token", schemas.TokenResponse), **common},
    )
    def customer_token(body: schemas.CustomerTokenRequest):
        customer_id = users.identify_customer(new_uow(), body.order_id, body.email, body.phone)
        if customer_id is None:
            return error(
                401, "invalid_credentials", "That order number and e-mail or phone do not match an order."
            )
        return jsonify(_token(Actor(f"customer:{customer_id}", Role.CUSTOMER, Source.REST, customer_id)))

    @spec.operation(
        app,
        "/api/v1/auth/staff-link",
        "POST",
        summary="Token for a chat user of the staff directory (action server only)",
        tag="auth",
        body=schemas.StaffLinkTokenRequest,
        responses={200: ("token", schemas.TokenResponse), 404: ("not in the staff directory", E), **common},
    )
    def staff_link_token(body: schemas.StaffLinkTokenRequest):
        if not signer.is_service(request.headers.get("Authorization")):
            raise Unauthenticated("Only the action server may exchange a chat user id for a token.")
        who = users.staff_for_platform_user(new_uow(), body.platform, body.platform_user_id)
        if who is None:
            return error(404, "unknown_staff_user", "This chat user is not in the staff directory.")
        return jsonify(_token(who))

    @spec.operation(
        app,
        "/api/v1/me",
        "GET",
        summary="Who the token belongs to",
        tag="auth",
        responses={200: ("the caller", schemas.MeOut), **common},
    )
    def me():
        who = actor()
        return jsonify({"subject": who.name, "role": who.role.value, "customer_id": who.customer_id})

    def _token(who: Actor) -> dict[str, Any]:
        return {
            "access_token": signer.issue(who),
            "token_type": "Bearer",
            "expires_in": int(signer.ttl / timedelta(seconds=1)),
            "role": who.role.value,
            "subject": who.name,
        }

    # --- orders -----------------------------------------------------------------------------------

    @spec.operation(
        app,
        "/api/v1/orders",
        "GET",
        summary="List orders (filters, search, sort, paging)",
        tag="orders",
        query=schemas.OrderListQuery,
        responses={200: ("a page", schemas.OrderPage), **common},
    )
    def list_orders(query: schemas.OrderListQuery):
        found, total = services.list_orders(
            new_uow(),
            OrderQuery(
                status=OrderStatus(query.status) if query.status else None,
                customer_id=query.customer_id,
                created_from=query.created_from,
                created_to=query.created_to,
                search=query.q,
                sort=query.sort,
                descending=query.order == "desc",
                page=query.page,
                page_size=query.page_size,
            ),
            actor(),
        )
        return jsonify(
            {
                "items": [order_json(o, actor()) for o in found],
                "total": total,
                "page": query.page,
                "page_size": query.page_size,
            }
        )

    @spec.operation(
        app,
        "/api/v1/orders/<order_id>",
        "GET",
        summary="One order",
        tag="orders",
        responses={200: ("the order", schemas.OrderOut), 404: ("no such order", E), **common},
    )
    def get_order(order_id: str):
        return with_etag(services.get_order(new_uow(), order_id, actor()), actor())

    @spec.operation(
        app,
        "/api/v1/orders/<order_id>/transitions",
        "POST",
        summary="Move an order through its workflow: confirm, cancel, stock_in, ship, pay",
        tag="orders",
        body=schemas.TransitionRequest,
        headers=(("If-Match", "the order's ETag"), ("Idempotency-Key", "makes retries safe")),
        responses={
            200: ("the changed order", schemas.OrderOut),
            403: ("not allowed", E),
            404: ("no such order", E),
            409: ("illegal in this state", E),
            412: ("version mismatch", E),
            422: ("refused by a rule", E),
            **common,
        },
    )
    @idempotent
    def transition(order_id: str, body: schemas.TransitionRequest):
        order = services.change_order(
            new_uow(),
            order_id,
            services.Change(Action(body.action), body.reason),
            actor(),
            carriers,
            order_version_expected(),
        )
        return with_etag(order, actor())

    @spec.operation(
        app,
        "/api/v1/orders/<order_id>/shipment",
        "PUT",
        summary="Record or change the carrier and tracking number (only while awaiting shipment)",
        tag="orders",
        body=schemas.ShipmentRequest,
        headers=(("If-Match", "the order's ETag"),),
        responses={
            200: ("the changed order", schemas.OrderOut),
            403: ("not allowed", E),
            404: ("no such order", E),
            409: ("not awaiting shipment", E),
            412: ("version mismatch", E),
            422: ("unknown carrier or bad number", E),
            **common,
        },
    )
    def record_shipment(order_id: str, body: schemas.ShipmentRequest):
        change = services.Change(
            Action.RECORD_SHIPMENT, carrier=body.carrier, tracking_number=body.tracking_number
        )
        order = services.change_order(
            new_uow(), order_id, change, actor(), carriers, order_version_expected()
        )
        return with_etag(order, actor())

    def _invoice_of(order_id: str) -> tuple[Order, dict[str, Any]]:
        who = actor()
        if who.role not in (Role.CUSTOMER, Role.FINANCE, Role.OPERATIONS):
            raise NotPermitted("Invoices are for the customer and finance.")
        order = services.get_order(new_uow(), order_id, who)
        with new_uow() as uow:
            invoice = uow.invoices.for_order(order.order_id)
        if invoice is None:
            return order, {}
        return order, invoice

    @spec.operation(
        app,
        "/api/v1/orders/<order_id>/invoice",
        "GET",
        summary="The invoice of an order",
        tag="invoices",
        responses={
            200: ("the invoice", schemas.InvoiceOut),
            403: ("not allowed", E),
            404: ("no order or no invoice yet", E),
            **common,
        },
    )
    def get_invoice(order_id: str):
        order, invoice = _invoice_of(order_id)
        if not invoice:
            return error(
                404,
                "invoice_not_found",
                f"Order {order.order_id} has no invoice yet: it is issued when the order is confirmed.",
            )
        return jsonify(
            {
                "number": invoice["number"],
                "order_id": order.order_id,
                "customer_name": invoice["customer_name"],
                "amount": f"{invoice['amount']:.2f}",
                "currency": invoice["currency"],
                "issued_at": invoice["issued_at"].isoformat(),
                "pdf_url": f"/api/v1/orders/{order.order_id}/invoice.pdf",
            }
        )

    @spec.operation(
        app,
        "/api/v1/orders/<order_id>/invoice.pdf",
        "GET",
        summary="The invoice as a PDF",
        tag="invoices",
        responses={
            200: ("PDF", "application/pdf"),
            403: ("not allowed", E),
            404: ("no order or no invoice yet", E),
            **common,
        },
    )
    def get_invoice_pdf(order_id: str):
        order, invoice = _invoice_of(order_id)
        if not invoice:
            return error(404, "invoice_not_found", f"Order {order.order_id} has no invoice yet.")
        pdf = render_invoice(
            invoice, {"payment_status": order.payment_status.value, "due_date": order.due_date}
        )
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{invoice["number"]}.pdf"'
        return response

    @spec.operation(
        app,
        "/api/v1/orders/<order_id>/audit",
        "GET",
        summary="Audit trail of an order",
        tag="audit",
        responses={200: ("entries", schemas.AuditPage), 404: ("no such order", E), **common},
    )
    def order_audit(order_id: str):
        who = actor()
        order = services.get_order(new_uow(), order_id, who)
        with new_uow() as uow:
            entries = uow.audit.for_order(order.order_id)
        return jsonify({"items": [_iso(e) for e in entries]})

    @spec.operation(
        app,
        "/api/v1/audit",
        "GET",
        summary="The audit log (operations)",
        tag="audit",
        query=schemas.AuditQuery,
        responses={200: ("entries", schemas.AuditPage), 403: ("not allowed", E), **common},
    )
    def audit(query: schemas.AuditQuery):
        check_staff(actor())
        with new_uow() as uow:
            entries = uow.audit.recent(query.after, query.limit)
        return jsonify({"items": [_iso(e) for e in entries]})

    # --- notifications ------------------------------------------------------------------------------

    @spec.operation(
        app,
        "/api/v1/notifications",
        "GET",
        summary="Notifications for the caller's role, after an id",
        tag="notifications",
        query=schemas.NotificationsQuery,
        responses={200: ("notifications", schemas.NotificationPage), **common},
    )
    def notifications(query: schemas.NotificationsQuery):
        who = actor()
        roles = None if who.role is Role.OPERATIONS else [who.role.value]
        with new_uow() as uow:
            rows = uow.outbox.after(
                query.after,
                query.limit,
                roles=roles,
                customer_id=who.customer_id if who.role is Role.CUSTOMER else None,
            )
        items = [
            {
                "id": r["id"],
                "created_at": r["created_at"].isoformat(),
                "recipient_role": r["recipient_role"],
                "customer_id": r["customer_id"],
                "order_id": r["order_id"],
                "event_type": r["event_type"],
                "message": {"en": r["message_en"], "zh": r["message_zh"]},
                "data": r["data"],
            }
            for r in rows
        ]
        return jsonify({"items": items, "last_id": items[-1]["id"] if items else query.after})

    # --- settlements ------------------------------------------------------------------------------

    @spec.operation(
        app,
        "/api/v1/settlements",
        "POST",
        summary="Run the settlement of unpaid orders for a day",
        tag="settlements",
        body=schemas.SettlementRequest,
        headers=(("Idempotency-Key", "makes retries safe"),),
        responses={200: ("the run's report", schemas.SettlementReportOut), 403: ("not allowed", E), **common},
    )
    @idempotent
    def run_settlement(body: schemas.SettlementRequest):
        report = services.settle_day(new_uow(), body.date, actor())
        return jsonify(asdict(report))

    @spec.operation(
        app,
        "/api/v1/settlements",
        "GET",
        summary="Settlements of a day",
        tag="settlements",
        query=schemas.SettlementsQuery,
        responses={200: ("settlements", schemas.SettlementList), 403: ("not allowed", E), **common},
    )
    def list_settlements(query: schemas.SettlementsQuery):
        check_staff(actor(), Role.FINANCE)
        with new_uow() as uow:
            rows = uow.settlements.for_day(query.date)
        return jsonify(
            {
                "items": [
                    _iso({**r, "amount_due": f"{r['amount_due']:.2f}", "freight": f"{r['freight']:.2f}"})
                    for r in rows
                ]
            }
        )

    # --- imports ------------------------------------------------------------------------------------

    @spec.operation(
        app,
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
            403: ("not allowed", E),
            422: ("unreadable source", E),
            **common,
        },
    )
    @idempotent
    def run_import():
        who = actor()
        check_staff(who)
        sources = load_sources(settings.sources_file)
        if request.files:
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise RequestInvalid("Send the export as the multipart field 'file'.")
            suffix = Path(upload.filename).suffix.lower()
            if suffix not in (".csv", ".json", ".jsonl", ".xlsx", ".xlsm"):
                raise RequestInvalid("The file must be .csv, .json, .jsonl or .xlsx.")
            with tempfile.TemporaryDirectory(prefix="orderbot-import-") as tmp:
                path = Path(tmp) / f"upload{suffix}"
                upload.save(path)
                return _import(path, sources, who, label=upload.filename)
        body = parse_body(schemas.ImportSourceRequest)
        return _import(body.source, sources, who, named_only=True)

    def _import(source: Any, sources: dict, who: Actor, label: str | None = None, named_only: bool = False):
        if named_only and source not in sources:
            return error(
                422, "unknown_source", f"No configured source {source!r}.", known_sources=sorted(sources)
            )
        try:
            report = import_from(engine, source, settings.timezone, sources=sources, actor=who.name)
        except (UnreadableFile, UnknownColumns, UnknownSource) as problem:
            return error(422, "unreadable_source", str(problem))
        count_import(report)
        result = report.as_dict()
        if label:
            result["source"] = label
        return jsonify(result)

    @spec.operation(
        app,
        "/api/v1/imports/sources",
        "GET",
        summary="Names of the configured ERP sources",
        tag="imports",
        responses={200: ("names", schemas.SourceList), 403: ("not allowed", E), **common},
    )
    def import_sources():
        check_staff(actor())
        return jsonify({"items": sorted(load_sources(settings.sources_file))})

    @spec.operation(
        app,
        "/api/v1/carriers",
        "GET",
        summary="Known carriers, their other names and tracking number formats",
        tag="orders",
        auth=False,
        responses={200: ("carriers", schemas.CarrierList)},
    )
    def list_carriers():
        return jsonify(
            {
                "items": [
                    {
                        "name": c.name,
                        "aliases": sorted(a for a, n in carriers.aliases.items() if n == c.name),
                        "tracking_pattern": c.tracking_pattern.pattern if c.tracking_pattern else None,
                        "tracking_example": c.tracking_example,
                    }
                    for c in carriers.by_name.values()
                ]
            }
        )

    @spec.operation(
        app,
        "/api/v1/carriers/check",
        "POST",
        summary="Check a carrier name and tracking number",
        tag="orders",
        auth=False,
        body=schemas.ShipmentRequest,
        responses={
            200: ("canonical carrier and number", schemas.ShipmentRequest),
            422: ("unknown carrier or bad number", E),
            400: ("invalid request", E),
        },
    )
    def check_carrier(body: schemas.ShipmentRequest):
        carrier, number = carriers.check_tracking_number(body.carrier, body.tracking_number)
        return jsonify({"carrier": carrier, "tracking_number": number})

    # --- handoffs -----------------------------------------------------------------------------------

    @spec.operation(
        app,
        "/api/v1/handoffs",
        "POST",
        summary="Open a handoff ticket (action server, or a signed-in user)",
        tag="handoffs",
        body=schemas.HandoffIn,
        responses={201: ("the ticket", schemas.HandoffOut), **common},
    )
    def open_handoff(body: schemas.HandoffIn):
        authorization = request.headers.get("Authorization")
        who = (
            Actor("assistant", Role.OPERATIONS, Source.CHAT) if signer.is_service(authorization) else actor()
        )
        ticket_id = services.open_handoff(
            new_uow(), body.conversation_id, body.channel, body.message, body.language, who
        )
        with new_uow() as uow:
            ticket = uow.handoffs.get(ticket_id)
        response = jsonify(_iso(ticket))
        response.status_code = 201
        return response

    @spec.operation(
        app,
        "/api/v1/handoffs",
        "GET",
        summary="Handoff tickets (operations)",
        tag="handoffs",
        query=schemas.HandoffQuery,
        responses={200: ("tickets", schemas.HandoffList), 403: ("not allowed", E), **common},
    )
    def list_handoffs(query: schemas.HandoffQuery):
        check_staff(actor())
        with new_uow() as uow:
            rows = uow.handoffs.list(query.status, query.limit)
        return jsonify({"items": [_iso(r) for r in rows]})

    @spec.operation(
        app,
        "/api/v1/handoffs/<int:ticket_id>/close",
        "POST",
        summary="Close a handoff ticket",
        tag="handoffs",
        responses={
            200: ("closed; the conversation is handed back to the bot", schemas.HandoffClosedOut),
            403: ("not allowed", E),
            404: ("no open ticket", E),
            **common,
        },
    )
    def close_handoff(ticket_id: int):
        ticket = services.close_handoff(new_uow(), ticket_id, actor())
        if ticket is None:
            return error(404, "ticket_not_found", f"No open ticket #{ticket_id}.")
        return jsonify({**_iso(ticket), "bot_resumed": _resume(ticket)})

    def _resume(ticket: dict) -> bool:
        """Hand the ticket's conversation back to the bot, if it is the ticket's customer's: whoever
        opened the ticket named it, and another customer's paused chat is not theirs to resume."""
        if conversations is None:
            return False
        transcript = conversations.transcript(ticket["conversation_id"], limit=1)
        if transcript is None or not signer.owns(transcript.tokens, ticket["customer_id"]):
            return False
        return conversations.resume(ticket["conversation_id"])

    # --- users ----------------------------------------------------------------------------------------

    @spec.operation(
        app,
        "/api/v1/users",
        "GET",
        summary="Staff users (operations)",
        tag="users",
        responses={200: ("users", schemas.UserList), 403: ("not allowed", E), **common},
    )
    def list_users():
        check_staff(actor())
        with new_uow() as uow:
            rows = uow.users.list()
        return jsonify(
            {"items": [{k: r[k] for k in ("username", "role", "display_name", "active")} for r in rows]}
        )

    @spec.operation(
        app,
        "/api/v1/users",
        "POST",
        summary="Add a staff user (operations)",
        tag="users",
        body=schemas.UserIn,
        responses={201: ("added", schemas.UserOut), 403: ("not allowed", E), 409: ("exists", E), **common},
    )
    def add_user(body: schemas.UserIn):
        check_staff(actor())
        try:
            users.add_user(new_uow(), body.username, body.password, Role(body.role), body.display_name or "")
        except users.UserError as problem:
            return error(409 if "exists" in str(problem) else 400, "user_refused", str(problem))
        response = jsonify(
            {
                "username": body.username,
                "role": body.role,
                "display_name": body.display_name or body.username,
                "active": True,
            }
        )
        response.status_code = 201
        return response

    @spec.operation(
        app,
        "/api/v1/users/<username>/links",
        "POST",
        summary="Link a Slack or DingTalk user id to a staff user (operations)",
        tag="users",
        body=schemas.LinkIn,
        responses={204: ("linked", None), 403: ("not allowed", E), 404: ("no such user", E), **common},
    )
    def link_user(username: str, body: schemas.LinkIn):
        check_staff(actor())
        try:
            users.link_platform_user(new_uow(), body.platform, body.platform_user_id, username)
        except users.UserError as problem:
            return error(404, "user_not_found", str(problem))
        return Response(status=204)

    from orders.entrypoints.web import register_web  # here, not on top: web.py imports this module

    register_web(app, engine, settings)  # the chat page, the staff console and their endpoints
    register_hub(app, engine, settings)  # /ws/notifications: outbox events pushed to signed-in clients
    return app
