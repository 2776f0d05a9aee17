"""The web pages and the console's endpoints: pages and assets served, statistics on real SQLite data,
handoff answers reaching only the right customer, and who may call what."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from orders.adapters.orm import outbox
from orders.config import PROJECT_ROOT
from orders.domain.access import Actor, Role, Source
from orders.entrypoints import web
from orders.entrypoints.auth import TokenSigner
from orders.entrypoints.flask_app import create_app
from orders.entrypoints.http import dependencies
from orders.service_layer import services, views
from orders.service_layer.setup import import_from
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import HEADER, SHANGHAI, order_row, settings_for, write_csv
from tests.platform_recorder import Recorder

SAMPLES = PROJECT_ROOT / "data" / "samples" / "erp_orders.csv"
OPS = Actor("ops", Role.OPERATIONS, Source.REST)


@pytest.fixture
def app(sqlite_engine, tmp_path):
    url = str(sqlite_engine.url)
    return create_app(sqlite_engine, settings_for(url, tmp_path))


@pytest.fixture
def client(app):
    return app.test_client()


def bearer(app, role: str, customer_id: str | None = None, name: str | None = None) -> dict[str, str]:
    actor = Actor(name or role, Role(role), Source.REST, customer_id)
    return {"Authorization": f"Bearer {dependencies.of(app).signer.issue(actor)}"}


def load(engine, tmp_path, rows: list[list[str]]):
    header = HEADER + ["status", "due_date"]
    return import_from(engine, write_csv(tmp_path / f"{uuid.uuid4().hex}.csv", header, rows), SHANGHAI)


def row(order_id: str, status: str, customer: str = "C-100", due: str = "2026-11-30") -> list[str]:
    cells = order_row(order_id) + [status, due]
    cells[1] = customer
    return cells


# --- pages and assets --------------------------------------------------------------------------------


def test_the_chat_page_tells_the_browser_where_rasa_and_the_hub_are(client, monkeypatch):
    monkeypatch.delenv("RASA_PUBLIC_URL", raising=False)
    monkeypatch.setenv("RASA_PORT", "5123")
    page = client.get("/", headers={"Host": "shop.example:8080"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<meta name="orderbot-rasa-url" content="http://shop.example:5123">' in html
    assert '<meta name="orderbot-hub-path" content="/ws/notifications">' in html
    assert '<script type="module" src="/assets/js/chat.js">' in html
    assert 'data-language="zh"' in html and 'data-language="en"' in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "ws://shop.example:5123" in policy
    assert "ws://shop.example:8080" in policy  # the hub on this host


def test_rasa_public_url_overrides_the_default(client, monkeypatch):
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://chat.example.com/")
    html = client.get("/").get_data(as_text=True)
    assert '<meta name="orderbot-rasa-url" content="https://chat.example.com">' in html
    assert "wss://chat.example.com" in client.get("/").headers["Content-Security-Policy"]


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "orders.example.com",
    "X-Forwarded-For": "203.0.113.9",
}


def test_behind_a_trusted_proxy_the_page_uses_the_browsers_scheme_and_host(
    sqlite_engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://chat.example.com")
    app = create_app(
        sqlite_engine, settings_for(str(sqlite_engine.url), tmp_path, ORDERBOT_TRUSTED_PROXIES="1")
    )
    policy = (
        app.test_client()
        .get("/", headers={"Host": "orders:8080", **FORWARDED})
        .headers["Content-Security-Policy"]
    )
    assert "wss://orders.example.com" in policy and "ws://orders:8080" not in policy


def test_without_trusted_proxies_forwarded_headers_are_ignored(client, monkeypatch):
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://chat.example.com")
    policy = client.get("/", headers={"Host": "orders:8080", **FORWARDED}).headers["Content-Security-Policy"]
    assert "ws://orders:8080" in policy and "wss://orders.example.com" not in policy


@pytest.mark.parametrize("value", ["-1", "many", "9"])
def test_a_wrong_number_of_trusted_proxies_is_refused_clearly(tmp_path, value):
    with pytest.raises(ValueError, match="ORDERBOT_TRUSTED_PROXIES must be a number of proxies"):
        settings_for("sqlite://", tmp_path, ORDERBOT_TRUSTED_PROXIES=value)


def test_rasa_url_is_escaped_in_the_page(client, monkeypatch):
    monkeypatch.setenv("RASA_PUBLIC_URL", 'http://x"><script>alert(1)</script>')
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&#34;&gt;&lt;script&gt;" in html


def test_default_rasa_url_for_an_ipv6_host():
    assert web.rasa_public_url({}, "[::1]:8080", "http") == "http://[::1]:5005"
    assert web.rasa_public_url({"RASA_PORT": "6000"}, "localhost", "https") == "https://localhost:6000"


def test_the_console_page(client):
    page = client.get("/console")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<script src="/vendor/chart.umd.min.js" defer>' in html
    assert 'id="import-progress"' in html and 'id="chart-latency"' in html


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/assets/js/chat.js", "text/javascript"),
        ("/assets/js/console.js", "text/javascript"),
        ("/assets/js/hub.js", "text/javascript"),
        ("/assets/css/orderbot.css", "text/css"),
        ("/vendor/socket.io.esm.min.js", "text/javascript"),
        ("/vendor/chart.umd.min.js", "text/javascript"),
    ],
)
def test_assets_are_served(client, path, mimetype):
    if path.startswith("/vendor/") and web.missing_vendor_files():
        pytest.skip(f"web/node_modules is not installed: run `{web.INSTALL_HINT}`")
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == mimetype
    assert len(response.data) > 100


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/chart.js",  # not one of the files the pages load
        "/vendor/..%2Fpackage.json",
        "/assets/../chat.html",
        "/assets/js/../../chat.html",
        "/assets/nothing.js",
        "/assets/js/chat.js.map",
    ],
)
def test_only_the_pages_files_are_served(client, path):
    assert client.get(path).status_code == 404


def test_without_node_modules_the_pages_say_what_to_run(client, monkeypatch, tmp_path):
    monkeypatch.setattr(web, "NODE_MODULES", tmp_path / "nothing")
    for path in ("/", "/console"):
        html = client.get(path).get_data(as_text=True)
        assert "npm ci --prefix web" in html and 'role="alert"' in html
        assert "/assets/js/" not in html  # no script that would fail obscurely
    library = client.get("/vendor/chart.umd.min.js")
    assert library.status_code == 503
    assert library.json["error"]["code"] == "web_libraries_missing"
    assert "npm ci --prefix web" in library.json["error"]["message"]


# --- statistics ------------------------------------------------------------------------------------------


def test_orders_by_state_counts_the_sample_orders(app, client, sqlite_engine):
    import_from(sqlite_engine, SAMPLES, SHANGHAI)
    items = client.get("/api/v1/stats/orders-by-state", headers=bearer(app, "warehouse")).json["items"]
    counts = {item["status"]: item["count"] for item in items}
    assert counts == {
        "pending_confirmation": 5,
        "confirmed": 4,
        "awaiting_shipment": 4,
        "shipped": 4,
        "settled": 1,
        "cancelled": 2,
    }
    assert items[0]["label"] == {"en": "waiting for your confirmation", "zh": "待确认"}


def test_imports_per_day_counts_rows_and_quarantined_rows(app, client, sqlite_engine, tmp_path):
    import_from(sqlite_engine, SAMPLES, SHANGHAI)
    bad = row("SO-3001", "shipped")
    bad[5] = "not a number"
    load(sqlite_engine, tmp_path, [row("SO-3000", "confirmed"), bad])
    items = client.get("/api/v1/stats/imports?days=7", headers=bearer(app, "operations")).json["items"]
    assert len(items) == 7
    today = datetime.now(SHANGHAI).date().isoformat()
    assert items[-1] == {"day": today, "imports": 2, "rows": 22, "quarantined": 1}
    assert all(item["imports"] == 0 for item in items[:-1])


def test_imports_per_day_groups_by_local_day():
    class FakeEngine:  # the read view only needs connect(); feed it two imports around local midnight
        def connect(self):
            return self

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, _statement):
            class Result:
                def all(self):
                    return [
                        (datetime(2026, 11, 24, 15, 59, tzinfo=timezone.utc), {"rows": 3, "quarantined": 1}),
                        (datetime(2026, 11, 24, 16, 1, tzinfo=timezone.utc), '{"rows": 5}'),
                    ]

            return Result()

    items = views.imports_per_day(FakeEngine(), 2, SHANGHAI, today=date(2026, 11, 25))
    assert items == [
        {"day": "2026-11-24", "imports": 1, "rows": 3, "quarantined": 1},
        {"day": "2026-11-25", "imports": 1, "rows": 5, "quarantined": 0},
    ]


def test_settlements_per_day(app, client, sqlite_engine, tmp_path):
    today = datetime.now(SHANGHAI).date()
    yesterday = today - timedelta(days=1)
    load(
        sqlite_engine,
        tmp_path,
        [
            row("SO-1", "shipped", due=(yesterday - timedelta(days=1)).isoformat()),
            row("SO-2", "shipped", due=yesterday.isoformat()),
            row("SO-3", "shipped", due=today.isoformat()),
        ],
    )
    services.settle_day(SqlAlchemyUnitOfWork(sqlite_engine), yesterday, OPS)
    services.settle_day(SqlAlchemyUnitOfWork(sqlite_engine), today, OPS)
    items = client.get("/api/v1/stats/settlements?days=3", headers=bearer(app, "finance")).json["items"]
    assert [item["day"] for item in items] == [
        (today - timedelta(days=2)).isoformat(),
        yesterday.isoformat(),
        today.isoformat(),
    ]
    assert [item["orders"] for item in items] == [0, 2, 1]
    assert items[1]["amount_due"] == {"CNY": "200.00"}


def test_notification_latency(app, client, sqlite_engine):
    now = datetime.now(timezone.utc)
    waits = [0.05, 0.2, 0.2, 0.9, 3.0, 12.0, None]  # None: not dispatched yet
    with sqlite_engine.begin() as connection:
        for wait in waits:
            connection.execute(
                insert(outbox).values(
                    created_at=now,
                    recipient_role="customer",
                    customer_id="C-1",
                    event_type="status_changed",
                    message_en="x",
                    message_zh="x",
                    data={},
                    dispatched_at=now + timedelta(seconds=wait) if wait is not None else None,
                )
            )
    body = client.get("/api/v1/stats/notification-latency", headers=bearer(app, "operations")).json
    assert [b["count"] for b in body["buckets"]] == [1, 2, 0, 1, 0, 1, 1]
    assert body["buckets"][0]["label"] == "≤ 0.1 s" and body["buckets"][-1]["label"] == "> 5 s"
    assert (body["dispatched"], body["pending"]) == (6, 1)
    assert body["p50_s"] == 0.9 and body["max_s"] == 12.0


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        ("/api/v1/stats/orders-by-state", ["warehouse", "finance", "operations"], ["customer"]),
        ("/api/v1/stats/imports", ["operations"], ["customer", "warehouse", "finance"]),
        ("/api/v1/stats/settlements", ["finance", "operations"], ["customer", "warehouse"]),
        ("/api/v1/stats/notification-latency", ["operations"], ["customer", "warehouse", "finance"]),
        ("/api/v1/stats/conversations", ["operations"], ["customer", "warehouse", "finance"]),
    ],
)
def test_who_may_see_the_statistics(app, client, path, allowed, refused):
    assert client.get(path).status_code == 401
    for role in allowed:
        assert (
            client.get(path, headers=bearer(app, role, "C-1" if role == "customer" else None)).status_code
            == 200
        )
    for role in refused:
        response = client.get(path, headers=bearer(app, role, "C-1" if role == "customer" else None))
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_conversation_figures_per_day(app, client, sqlite_engine):
    from orders.service_layer.analytics import record_rasa_events
    from tests.orders.domain.test_conversation_turns import action, user

    now = datetime.now(SHANGHAI).replace(hour=12, minute=0).timestamp()  # noon today: one day
    record_rasa_events(
        sqlite_engine,
        [
            user("web-1", now - 60, "order_status"),
            action("web-1", now - 59.9, "action_order_status"),
            action("web-1", now - 59.8, "action_listen"),
            user("web-1", now - 30, "nlu_fallback", 0.2),
            action("web-1", now - 29.9, "action_two_stage_fallback"),
            action("web-1", now - 29.8, "action_listen"),
        ],
    )
    items = client.get("/api/v1/stats/conversations?days=3", headers=bearer(app, "operations")).json["items"]
    assert [item["turns"] for item in items] == [0, 0, 2]
    assert items[-1]["day"] == datetime.now(SHANGHAI).date().isoformat()
    assert (items[-1]["fallbacks"], items[-1]["fallback_rate"]) == (1, 0.5)
    assert items[-1]["top_intents"] == [
        {"intent": "order_status", "count": 1},
        {"intent": "nlu_fallback", "count": 1},
    ]


@pytest.mark.parametrize("days", ["0", "367", "x"])
def test_stats_refuse_bad_windows(app, client, days):
    response = client.get(f"/api/v1/stats/imports?days={days}", headers=bearer(app, "operations"))
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"


# --- handoffs: the conversation and the staff answer ------------------------------------------------------


def open_ticket(engine, customer_id: str | None, conversation_id: str = "conv-1") -> int:
    who = Actor(f"customer:{customer_id}", Role.CUSTOMER, Source.CHAT, customer_id) if customer_id else OPS
    return services.open_handoff(
        SqlAlchemyUnitOfWork(engine), conversation_id, "socketio", "I want a person", "en", who
    )


def outbox_rows(engine, event_type: str) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(outbox).where(outbox.c.event_type == event_type)).mappings().all()
    return [dict(r) for r in rows]


def test_a_staff_answer_reaches_that_customer_only(app, client, sqlite_engine):
    ticket = open_ticket(sqlite_engine, "C-001")
    other = open_ticket(sqlite_engine, "C-002", "conv-2")
    response = client.post(
        f"/api/v1/handoffs/{ticket}/reply",
        json={"message": "  Hello, your parcel leaves today.  "},
        headers=bearer(app, "operations", name="mei"),
    )
    assert response.status_code == 201
    assert response.json == {
        "ticket_id": ticket,
        "customer_id": "C-001",
        "message": "Hello, your parcel leaves today.",
    }
    [reply] = outbox_rows(sqlite_engine, "handoff_reply")
    assert reply["recipient_role"] == "customer" and reply["customer_id"] == "C-001"
    assert reply["message_en"] == reply["message_zh"] == "Hello, your parcel leaves today."
    assert reply["data"] == {"ticket_id": ticket, "conversation_id": "conv-1"}  # no staff login name

    def notifications(customer_id):
        headers = bearer(app, "customer", customer_id)
        return [n["event_type"] for n in client.get("/api/v1/notifications", headers=headers).json["items"]]

    assert "handoff_reply" in notifications("C-001")
    assert "handoff_reply" not in notifications("C-002")
    assert other  # the other customer's ticket got nothing
    audit = client.get("/api/v1/audit", headers=bearer(app, "operations")).json["items"]
    assert any(e["action"] == "handoff_reply" and e["actor"] == "mei" for e in audit)


@pytest.mark.parametrize("role", ["warehouse", "finance"])
def test_only_operations_answer_handoffs(app, client, sqlite_engine, role):
    ticket = open_ticket(sqlite_engine, "C-001")
    response = client.post(
        f"/api/v1/handoffs/{ticket}/reply", json={"message": "hi"}, headers=bearer(app, role)
    )
    assert response.status_code == 403
    customer = bearer(app, "customer", "C-001")
    assert (
        client.post(f"/api/v1/handoffs/{ticket}/reply", json={"message": "hi"}, headers=customer).status_code
        == 403
    )
    assert client.post(f"/api/v1/handoffs/{ticket}/reply", json={"message": "hi"}).status_code == 401
    assert outbox_rows(sqlite_engine, "handoff_reply") == []


def test_handoff_answer_errors(app, client, sqlite_engine):
    ops = bearer(app, "operations")
    anonymous = open_ticket(sqlite_engine, None)
    refused = client.post(f"/api/v1/handoffs/{anonymous}/reply", json={"message": "hi"}, headers=ops)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "handoff_unreachable"
    missing = client.post("/api/v1/handoffs/999/reply", json={"message": "hi"}, headers=ops)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "ticket_not_found"
    ticket = open_ticket(sqlite_engine, "C-001")
    for body in ({"message": "   "}, {"message": 5}, {}, {"message": "x" * 2001}):
        response = client.post(f"/api/v1/handoffs/{ticket}/reply", json=body, headers=ops)
        assert response.status_code == 400, body
    closing = client.post(f"/api/v1/handoffs/{ticket}/close", headers=ops)
    assert closing.status_code == 200 and closing.json["status"] == "closed"
    assert closing.json["bot_resumed"] is False  # no Rasa configured here
    closed = client.post(f"/api/v1/handoffs/{ticket}/reply", json={"message": "hi"}, headers=ops)
    assert closed.status_code == 409 and closed.json["error"]["code"] == "handoff_closed"
    assert outbox_rows(sqlite_engine, "handoff_reply") == []


SECRET = "SECRET-TOKEN"  # a customer's token in the events' metadata: never shown to staff


@pytest.fixture
def rasa_api():
    """Rasa's HTTP API on a loopback port, answering a tracker as Rasa 3.6 does (conv-1 only; a
    test may set ``server.token`` to what the chat page sent)."""
    server = Recorder()
    server.token = "SECRET-TOKEN"  # a token nobody issued: it proves no one's
    server.slot_token = None  # a token the customer proved by typing in the chat

    def tracker(request):
        if request["query"].get("token") != "rasa-token":
            return 401, {"message": "NotAuthenticated"}, {}
        sender = request["path"].split("/")[2]
        events = [
            {"event": "action", "name": "action_listen", "timestamp": 1764000000.0},
            {
                "event": "user",
                "text": "人工",
                "timestamp": 1764000001.0,
                "metadata": {"token": server.token},
            },
            {"event": "bot", "text": "Ticket #1 is open.", "timestamp": 1764000002.0},
        ]
        slots = {"customer_token": server.slot_token, "order_id": None}
        return 200, {"sender_id": sender, "events": events if sender == "conv-1" else [], "slots": slots}, {}

    server.answer = tracker
    yield server
    server.close()


def test_staff_read_the_conversation_without_its_tokens(sqlite_engine, tmp_path, rasa_api):
    settings = settings_for(
        str(sqlite_engine.url), tmp_path, RASA_URL=rasa_api.url, RASA_AUTH_TOKEN="rasa-token"
    )
    app = create_app(sqlite_engine, settings)
    client = app.test_client()
    signer = dependencies.of(app).signer
    rasa_api.token = signer.issue(Actor("c1", Role.CUSTOMER, Source.REST, "C-001"))
    ticket = open_ticket(sqlite_engine, "C-001")
    response = client.get(f"/api/v1/handoffs/{ticket}/conversation", headers=bearer(app, "operations"))
    assert response.status_code == 200
    body = response.json
    assert body["available"] is True
    assert [(m["speaker"], m["text"]) for m in body["items"]] == [
        ("customer", "人工"),
        ("bot", "Ticket #1 is open."),
    ]
    assert rasa_api.token not in response.get_data(as_text=True)
    # Staff answers join the transcript, after what was said before them.
    services.reply_handoff(SqlAlchemyUnitOfWork(sqlite_engine), ticket, "On it.", OPS)
    items = client.get(f"/api/v1/handoffs/{ticket}/conversation", headers=bearer(app, "operations")).json[
        "items"
    ]
    assert items[-1] == {"speaker": "staff", "text": "On it.", "by": "ops", "at": items[-1]["at"]}
    assert (
        client.get(
            f"/api/v1/handoffs/{ticket}/conversation", headers=bearer(app, "customer", "C-001")
        ).status_code
        == 403
    )
    assert (
        client.get("/api/v1/handoffs/999/conversation", headers=bearer(app, "operations")).status_code == 404
    )


def test_a_ticket_shows_and_resumes_only_its_own_customers_conversation(sqlite_engine, tmp_path, rasa_api):
    """Whoever opens a ticket names its conversation: staff read it, and closing resumes it, only if
    it is the ticket's customer's (their token, expired or not, rides in its messages or was proved
    in the chat) or, for a visitor's ticket, no customer signed in to it."""
    settings = settings_for(
        str(sqlite_engine.url), tmp_path, RASA_URL=rasa_api.url, RASA_AUTH_TOKEN="rasa-token"
    )
    app = create_app(sqlite_engine, settings)
    client = app.test_client()
    signer = dependencies.of(app).signer
    expired = TokenSigner(signer.secret, timedelta(seconds=-60), None)
    c2 = expired.issue(Actor("c2", Role.CUSTOMER, Source.REST, "C-002"))
    ops = bearer(app, "operations")

    def conversation(opener: str | None) -> tuple[bool, bool]:
        """(shown, resumed on closing) for a ticket of ``opener`` on conv-1."""
        ticket = open_ticket(sqlite_engine, opener)
        body = client.get(f"/api/v1/handoffs/{ticket}/conversation", headers=ops).json
        assert body["withheld"] is not body["available"]
        assert c2 not in json.dumps(body)
        assert body["available"] or body["items"] == []
        resumed = client.post(f"/api/v1/handoffs/{ticket}/close", headers=ops).json["bot_resumed"]
        return body["available"], resumed

    rasa_api.token = c2  # C-002 signed in on the page
    assert conversation("C-001") == (False, False)  # another customer's ticket
    assert conversation(None) == (False, False)  # a visitor's ticket
    assert conversation("C-002") == (True, True)
    rasa_api.token, rasa_api.slot_token = None, c2  # C-002 proved who they are by typing it
    assert conversation("C-001") == (False, False)
    assert conversation("C-002") == (True, True)
    rasa_api.slot_token = None  # nobody signed in
    assert conversation("C-001") == (False, False)  # not shown to be C-001's
    assert conversation(None) == (True, True)
    resumes = [r for r in rasa_api.requests if r["path"].endswith("/tracker/events")]
    assert len(resumes) == 3


def test_without_rasa_the_conversation_is_unavailable(sqlite_engine, tmp_path):
    app = create_app(sqlite_engine, settings_for(str(sqlite_engine.url), tmp_path))
    ticket = open_ticket(sqlite_engine, "C-001")
    response = app.test_client().get(
        f"/api/v1/handoffs/{ticket}/conversation", headers=bearer(app, "operations")
    )
    assert response.json == {"ticket_id": ticket, "available": False, "withheld": False, "items": []}
    services.reply_handoff(SqlAlchemyUnitOfWork(sqlite_engine), ticket, "Hello", OPS)
    other = open_ticket(sqlite_engine, "C-001", "conv-other")  # same customer, another ticket
    services.reply_handoff(SqlAlchemyUnitOfWork(sqlite_engine), other, "Not this one", OPS)
    body = (
        app.test_client()
        .get(f"/api/v1/handoffs/{ticket}/conversation", headers=bearer(app, "operations"))
        .json
    )
    assert [(m["speaker"], m["text"]) for m in body["items"]] == [("staff", "Hello")]
