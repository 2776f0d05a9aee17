"""The web pages (web/): the customer chat page at /, the staff console at /console, their static files,
and the few JSON endpoints only the console needs: statistics for its charts, a handoff's conversation
and the staff answer to it.

Our own files come from web/src; the libraries (socket.io-client, Chart.js) from web/node_modules,
installed by `npm ci --prefix web` from web/package-lock.json. Only the files the pages load are served.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from sqlalchemy import Engine, func, select

from orders.adapters.orm import audit_log, imports, orders, outbox, settlements
from orders.config import PROJECT_ROOT, Settings
from orders.domain.access import Actor, Role, check_staff
from orders.domain.labels import STATUS_LABELS
from orders.domain.model import OrderStatus
from orders.entrypoints.api import error
from orders.entrypoints.openapi import RequestInvalid
from orders.service_layer import services
from orders.service_layer.analytics import daily_figures
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

WEB_ROOT = PROJECT_ROOT / "web"
SOURCE_DIR = WEB_ROOT / "src"
NODE_MODULES = WEB_ROOT / "node_modules"
INSTALL_HINT = "npm ci --prefix web"
HUB_PATH = "/ws/notifications"
# The library files the pages load: the name they are served under -> their place in node_modules.
VENDOR_FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}
MAX_STATS_DAYS = 366
MAX_REPLY_CHARS = 2000
# Notification delivery latency buckets (seconds, upper bounds) for the console's chart.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


def missing_vendor_files(node_modules: Path | None = None) -> list[str]:
    node_modules = node_modules or NODE_MODULES
    return [name for name, path in VENDOR_FILES.items() if not (node_modules / path).is_file()]


def rasa_public_url(environ: Mapping[str, str], request_host: str, scheme: str) -> str:
    """Where the browser finds Rasa's socket.io: RASA_PUBLIC_URL, else this host on Rasa's port."""
    configured = environ.get("RASA_PUBLIC_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    hostname = urlsplit(f"//{request_host}").hostname or "127.0.0.1"
    if ":" in hostname:  # an IPv6 address
        hostname = f"[{hostname}]"
    return f"{scheme}://{hostname}:{environ.get('RASA_PORT', '5005')}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _content_security_policy(rasa_url: str) -> str:
    """Scripts, styles and connections from this origin only, plus Rasa's socket.io (ws and http)."""
    rasa = _origin_of(rasa_url)
    rasa_ws = rasa.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    host = request.host
    hub = f"{'wss' if request.scheme == 'https' else 'ws'}://{host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {hub} {rasa} {rasa_ws}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


# --- read views for the console's charts (plain SELECTs; no unit of work needed) -------------------


def _day_window(days: int, tz, today: date | None = None) -> tuple[list[date], datetime]:
    """The last ``days`` local days, oldest first, and the UTC instant the first one starts."""
    today = today or datetime.now(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(timezone.utc)
    return [first + timedelta(days=i) for i in range(days)], start


def orders_by_state(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(orders.c.status, func.count()).group_by(orders.c.status)).all()
    counts = {OrderStatus(status): n for status, n in rows}
    return [{"status": s.value, "label": STATUS_LABELS[s], "count": counts.get(s, 0)} for s in OrderStatus]


def imports_per_day(engine: Engine, days: int, tz, today: date | None = None) -> list[dict[str, Any]]:
    """Imports started on each local day, with their rows and quarantined rows (from their reports)."""
    window, start = _day_window(days, tz, today)
    totals = {d: {"imports": 0, "rows": 0, "quarantined": 0} for d in window}
    with engine.connect() as connection:
        rows = connection.execute(
            select(imports.c.started_at, imports.c.report).where(imports.c.started_at >= start)
        ).all()
    for started_at, report in rows:
        day = started_at.astimezone(tz).date()
        if day not in totals:
            continue
        report = report if isinstance(report, dict) else json.loads(report or "{}")
        totals[day]["imports"] += 1
        totals[day]["rows"] += int(report.get("rows") or 0)
        totals[day]["quarantined"] += int(report.get("quarantined") or 0)
    return [{"day": d.isoformat(), **totals[d]} for d in window]


def settlements_per_day(engine: Engine, days: int, tz, today: date | None = None) -> list[dict[str, Any]]:
    """Orders settled per settlement day, with the amounts due per currency."""
    window, _ = _day_window(days, tz, today)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                settlements.c.settlement_day,
                settlements.c.currency,
                func.count(),
                func.sum(settlements.c.amount_due),
            )
            .where(settlements.c.settlement_day >= window[0], settlements.c.settlement_day <= window[-1])
            .group_by(settlements.c.settlement_day, settlements.c.currency)
        ).all()
    count: Counter[date] = Counter()
    amounts: dict[date, dict[str, str]] = defaultdict(dict)
    for day, currency, n, total in rows:
        count[day] += n
        amounts[day][currency] = f"{total or 0:.2f}"
    return [{"day": d.isoformat(), "orders": count[d], "amount_due": amounts.get(d, {})} for d in window]


def notification_latency(engine: Engine, days: int, now: datetime | None = None) -> dict[str, Any]:
    """How long notifications waited in the outbox (created_at -> dispatched_at), as a histogram."""
    since = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.created_at, outbox.c.dispatched_at).where(outbox.c.created_at >= since)
        ).all()
    waits = sorted(
        max((dispatched - created).total_seconds(), 0.0) for created, dispatched in rows if dispatched
    )
    labels = [f"≤ {b:g} s" for b in LATENCY_BUCKETS] + [f"> {LATENCY_BUCKETS[-1]:g} s"]
    counts = [0] * len(labels)
    for wait in waits:
        counts[next((i for i, b in enumerate(LATENCY_BUCKETS) if wait <= b), len(LATENCY_BUCKETS))] += 1

    def percentile(p: float) -> float | None:
        return round(waits[min(len(waits) - 1, int(p * len(waits)))], 3) if waits else None

    return {
        "buckets": [{"label": label, "count": n} for label, n in zip(labels, counts, strict=True)],
        "dispatched": len(waits),
        "pending": len(rows) - len(waits),
        "p50_s": percentile(0.5),
        "p95_s": percentile(0.95),
        "max_s": round(waits[-1], 3) if waits else None,
    }


# --- a handoff's conversation: what Rasa holds, and what staff answered ------------------------------


def staff_answers(engine: Engine, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    """What staff answered on this ticket (the outbox rows of services.reply_handoff)."""
    if not ticket.get("customer_id"):
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.created_at, outbox.c.message_en, outbox.c.data).where(
                outbox.c.event_type == "handoff_reply", outbox.c.customer_id == ticket["customer_id"]
            )
        ).all()
        # Who answered is in the audit trail (written in the same transaction, at the same time),
        # not in the outbox row: the customer receives that one.
        authors = dict(
            connection.execute(
                select(audit_log.c.at, audit_log.c.actor).where(
                    audit_log.c.action == "handoff_reply", audit_log.c.to_value == f"ticket {ticket['id']}"
                )
            ).all()
        )
    return [
        {"speaker": "staff", "text": text, "at": created_at, "by": authors.get(created_at)}
        for created_at, text, data in rows
        if (data or {}).get("ticket_id") == ticket["id"]
    ]


# --- the blueprint -------------------------------------------------------------------------------------


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise RequestInvalid(f"{name} must be a whole number.") from None
    if not low <= value <= high:
        raise RequestInvalid(f"{name} must be between {low} and {high}.")
    return value


def create_blueprint(
    engine: Engine, settings: Settings, environ: Mapping[str, str] = os.environ
) -> Blueprint:
    web = Blueprint("web", __name__, template_folder=str(SOURCE_DIR))

    def actor() -> Actor:
        if "actor" not in g:
            signer = current_app.extensions["orderbot"]["signer"]
            g.actor = signer.actor(request.headers.get("Authorization"))
        return g.actor

    def page(template: str):
        rasa_url = rasa_public_url(environ, request.host, request.scheme)
        missing = missing_vendor_files()
        response = current_app.make_response(
            render_template(
                template, rasa_url=rasa_url, hub_path=HUB_PATH, missing=missing, install_hint=INSTALL_HINT
            )
        )
        response.headers["Content-Security-Policy"] = _content_security_policy(rasa_url)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @web.get("/")
    def chat_page():
        return page("chat.html")

    @web.get("/console")
    def console_page():
        return page("console.html")

    @web.get("/assets/<path:filename>")
    def asset(filename: str):
        if Path(filename).suffix not in (".js", ".css", ".svg"):
            abort(404)
        response = send_from_directory(SOURCE_DIR / "assets", filename, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @web.get("/vendor/<name>")
    def vendor(name: str):
        if name not in VENDOR_FILES:
            abort(404)
        path = NODE_MODULES / VENDOR_FILES[name]
        if not path.is_file():
            return error(
                503,
                "web_libraries_missing",
                f"{VENDOR_FILES[name]} is not installed: run `{INSTALL_HINT}` (or `make run`).",
            )
        return send_from_directory(path.parent, path.name, max_age=3600)

    # --- statistics for the console's charts -------------------------------------------------------

    @web.get("/api/v1/stats/orders-by-state")
    def stats_orders_by_state():
        check_staff(actor(), Role.WAREHOUSE, Role.FINANCE)
        return jsonify({"items": orders_by_state(engine)})

    @web.get("/api/v1/stats/imports")
    def stats_imports():
        check_staff(actor())
        days = _int_arg("days", 30, 1, MAX_STATS_DAYS)
        return jsonify({"items": imports_per_day(engine, days, settings.timezone)})

    @web.get("/api/v1/stats/settlements")
    def stats_settlements():
        check_staff(actor(), Role.FINANCE)
        days = _int_arg("days", 30, 1, MAX_STATS_DAYS)
        return jsonify({"items": settlements_per_day(engine, days, settings.timezone)})

    @web.get("/api/v1/stats/notification-latency")
    def stats_notification_latency():
        check_staff(actor())
        days = _int_arg("days", 7, 1, MAX_STATS_DAYS)
        return jsonify(notification_latency(engine, days))

    @web.get("/api/v1/stats/conversations")
    def stats_conversations():
        check_staff(actor())
        days = _int_arg("days", 14, 1, MAX_STATS_DAYS)
        figures = daily_figures(engine, days, settings.timezone)
        return jsonify(
            {
                "items": [
                    {
                        "day": f.day.isoformat(),
                        "turns": f.turns,
                        "fallbacks": f.fallbacks,
                        "fallback_rate": round(f.fallback_rate, 4),
                        "top_intents": [{"intent": name, "count": n} for name, n in f.top_intents],
                    }
                    for f in figures
                ]
            }
        )

    # --- handoffs: read the conversation, answer the customer ---------------------------------------

    @web.get("/api/v1/handoffs/<int:ticket_id>/conversation")
    def handoff_conversation(ticket_id: int):
        check_staff(actor())
        with SqlAlchemyUnitOfWork(engine) as uow:
            ticket = uow.handoffs.get(ticket_id)
        if ticket is None:
            return error(404, "ticket_not_found", f"No handoff ticket #{ticket_id}.")
        conversations = current_app.extensions["orderbot"]["conversations"]  # create_app's, shared
        transcript = conversations.transcript(ticket["conversation_id"]) if conversations else None
        signer = current_app.extensions["orderbot"]["signer"]
        # Whoever opens a ticket names its conversation: staff read it only if it is the ticket's
        # customer's (or, for a visitor's ticket, nobody signed in to it).
        withheld = transcript is not None and not signer.owns(transcript.tokens, ticket["customer_id"])
        messages = None if transcript is None or withheld else transcript.messages
        items = sorted((messages or []) + staff_answers(engine, ticket), key=lambda m: m["at"])
        return jsonify(
            {
                "ticket_id": ticket_id,
                "available": messages is not None,
                "withheld": withheld,
                "items": [{**m, "at": m["at"].isoformat()} for m in items],
            }
        )

    @web.post("/api/v1/handoffs/<int:ticket_id>/reply")
    def handoff_reply(ticket_id: int):
        who = actor()
        body = request.get_json(silent=True)
        text = body.get("message") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise RequestInvalid('Send the answer as JSON: {"message": "..."}.')
        if len(text) > MAX_REPLY_CHARS:
            raise RequestInvalid(f"The answer is at most {MAX_REPLY_CHARS} characters.")
        try:
            customer_id = services.reply_handoff(SqlAlchemyUnitOfWork(engine), ticket_id, text, who)
        except services.HandoffNotFound as missing:
            return error(404, "ticket_not_found", str(missing))
        except services.HandoffClosed as closed:
            return error(409, closed.code, str(closed))
        response = jsonify({"ticket_id": ticket_id, "customer_id": customer_id, "message": text.strip()})
        response.status_code = 201
        return response

    return web


def register_web(app: Flask, engine: Engine, settings: Settings) -> None:
    app.register_blueprint(create_blueprint(engine, settings))
