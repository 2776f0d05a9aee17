"""GET /api/v1/me/conversation (the chat page after a reload) and the handoff routes of the chat page
and the console (join, read, the customer's messages), against Rasa's HTTP API on a loopback port."""

from __future__ import annotations

import time

import pytest

from orders.domain.access import Actor, Role, Source
from orders.entrypoints.flask_app import create_app
from orders.entrypoints.http import dependencies
from orders.service_layer import services
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from tests.orders.conftest import settings_for
from tests.platform_recorder import Recorder

OPS = Actor("mei", Role.OPERATIONS, Source.REST)
C001 = Actor("customer:C-001", Role.CUSTOMER, Source.CHAT, "C-001")


@pytest.fixture
def rasa_api():
    """Rasa's tracker endpoint: ``server.trackers[sender]`` is that conversation's events."""
    server = Recorder()
    server.trackers = {}

    def tracker(request):
        if request["query"].get("token") != "rasa-token":
            return 401, {"message": "NotAuthenticated"}, {}
        sender = request["path"].split("/")[2]
        return 200, {"sender_id": sender, "events": server.trackers.get(sender, []), "slots": {}}, {}

    server.answer = tracker
    yield server
    server.close()


@pytest.fixture
def app(sqlite_engine, tmp_path, rasa_api):
    settings = settings_for(
        str(sqlite_engine.url), tmp_path, RASA_URL=rasa_api.url, RASA_AUTH_TOKEN="rasa-token"
    )
    return create_app(sqlite_engine, settings)


def token_of(app, customer_id: str) -> str:
    return dependencies.of(app).signer.issue(
        Actor(f"customer:{customer_id}", Role.CUSTOMER, Source.REST, customer_id)
    )


def asks_for_a_person(engine, conversation_id: str) -> int:
    """C-001 asks for a person in ``conversation_id`` (as the assistant opens it for them): the ticket."""
    return services.open_handoff(
        SqlAlchemyUnitOfWork(engine), conversation_id, "socketio", "a person", "en", C001
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def said(token: str, started: float) -> list[dict]:
    """A conversation as Rasa keeps it: the customer (with the page's token), the bot with buttons."""
    return [
        {"event": "action", "name": "action_listen", "timestamp": started},
        {
            "event": "user",
            "text": "where is my order",
            "timestamp": started + 1,
            "metadata": {"token": token},
        },
        {
            "event": "bot",
            "text": "Which order?",
            "timestamp": started + 2,
            "data": {"buttons": [{"title": "SO-1001", "payload": '/order_status{"order_id":"SO-1001"}'}]},
        },
    ]


def test_the_customer_gets_their_conversation_back_with_what_they_were_sent(app, sqlite_engine, rasa_api):
    client = app.test_client()
    mine = token_of(app, "C-001")
    rasa_api.trackers["conv-a"] = said(mine, time.time() - 60)
    opened = asks_for_a_person(sqlite_engine, "conv-a")
    services.write_to_handoff(
        SqlAlchemyUnitOfWork(sqlite_engine),
        opened,
        "are you there?",
        C001,
    )
    services.reply_handoff(SqlAlchemyUnitOfWork(sqlite_engine), opened, "Yes, looking now.", OPS)

    response = client.get(
        "/api/v1/me/conversation", query_string={"conversation_id": "conv-a"}, headers=bearer(mine)
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert [(m["speaker"], m["text"]) for m in body["messages"]] == [
        ("customer", "where is my order"),
        ("bot", "Which order?"),
        ("customer", "are you there?"),
    ]
    assert body["messages"][1]["buttons"] == [
        {"title": "SO-1001", "payload": '/order_status{"order_id":"SO-1001"}'}
    ]
    kinds = [n["event_type"] for n in body["notifications"]]
    assert kinds == ["handoff_opened", "handoff_joined", "handoff_reply"]
    assert body["notifications"][-1]["message"]["en"] == "Yes, looking now."
    assert body["last_event_id"] == body["notifications"][-1]["id"]
    assert body["handoff"] == {"ticket_id": opened, "joined": True}
    assert mine not in response.get_data(as_text=True)  # the tokens in the tracker never come back


def test_another_customers_conversation_is_one_that_does_not_exist(app, rasa_api):
    client = app.test_client()
    rasa_api.trackers["conv-b"] = said(token_of(app, "C-002"), time.time())
    mine = token_of(app, "C-001")
    response = client.get(
        "/api/v1/me/conversation", query_string={"conversation_id": "conv-b"}, headers=bearer(mine)
    )
    assert response.status_code == 404 and response.json["error"]["code"] == "conversation_not_found"
    assert "where is my order" not in response.get_data(as_text=True)
    # A conversation into which someone else's token was slipped is not shown either.
    rasa_api.trackers["conv-c"] = said(mine, time.time()) + said(token_of(app, "C-002"), time.time())
    shared = client.get(
        "/api/v1/me/conversation", query_string={"conversation_id": "conv-c"}, headers=bearer(mine)
    )
    assert shared.status_code == 404
    # Staff have the console for conversations; this route is a customer's.
    ops = dependencies.of(app).signer.issue(OPS)
    staff = client.get(
        "/api/v1/me/conversation", query_string={"conversation_id": "conv-b"}, headers=bearer(ops)
    )
    assert staff.status_code == 403


def test_a_new_conversation_is_empty_and_without_rasa_it_is_unavailable(app, sqlite_engine, tmp_path):
    client = app.test_client()
    mine = token_of(app, "C-001")
    empty = client.get(
        "/api/v1/me/conversation", query_string={"conversation_id": "new"}, headers=bearer(mine)
    )
    assert empty.status_code == 200
    assert (empty.json["messages"], empty.json["notifications"], empty.json["handoff"]) == ([], [], None)
    assert empty.json["available"] is True
    # Without Rasa (not configured, or down) the history is unavailable, not an error: the chat goes
    # on, and the customer's own open ticket of that conversation is still told.
    alone = create_app(sqlite_engine, settings_for(str(sqlite_engine.url), tmp_path))
    opened = asks_for_a_person(sqlite_engine, "new")
    down = alone.test_client().get(
        "/api/v1/me/conversation",
        query_string={"conversation_id": "new"},
        headers=bearer(token_of(alone, "C-001")),
    )
    assert down.status_code == 200
    assert down.json["available"] is False and down.json["messages"] == []
    assert down.json["handoff"] == {"ticket_id": opened, "joined": False}
    theirs = alone.test_client().get(
        "/api/v1/me/conversation",
        query_string={"conversation_id": "new"},
        headers=bearer(token_of(alone, "C-002")),
    )
    assert theirs.status_code == 200 and theirs.json["handoff"] is None
    for bad in ("", "x" * 129, "a\x00b"):
        refused = client.get(
            "/api/v1/me/conversation", query_string={"conversation_id": bad}, headers=bearer(mine)
        )
        assert refused.status_code == 400, bad


def test_the_handoff_routes_of_the_page_and_the_console(app, sqlite_engine):
    client = app.test_client()
    mine, theirs = token_of(app, "C-001"), token_of(app, "C-002")
    ops = bearer(dependencies.of(app).signer.issue(OPS))
    opened = asks_for_a_person(sqlite_engine, "conv-a")
    path = f"/api/v1/handoffs/{opened}"
    sent = client.post(f"{path}/messages", json={"message": "hello?"}, headers=bearer(mine))
    assert sent.status_code == 201 and sent.json["text"] == "hello?"
    assert client.post(f"{path}/messages", json={"message": "hi"}, headers=bearer(theirs)).status_code == 404
    assert client.post(f"{path}/messages", json={"message": "hi"}, headers=ops).status_code == 403
    assert client.post(f"{path}/messages", json={"message": ""}, headers=bearer(mine)).status_code == 400
    [listed] = client.get("/api/v1/handoffs?status=open", headers=ops).json["items"]
    assert (listed["unread"], listed["joined_by"]) == (1, None) and "read_through" not in listed
    joined = client.post(f"{path}/join", headers=ops)
    assert joined.status_code == 200 and (joined.json["joined_by"], joined.json["unread"]) == ("mei", 0)
    client.post(f"{path}/messages", json={"message": "thanks"}, headers=bearer(mine))
    assert client.post(f"{path}/read", headers=ops).json["unread"] == 0
    assert client.post(f"{path}/join", headers=bearer(mine)).status_code == 403
    assert client.post("/api/v1/handoffs/999/join", headers=ops).status_code == 404
    client.post(f"{path}/close", headers=ops)
    late = client.post(f"{path}/messages", json={"message": "hi"}, headers=bearer(mine))
    assert late.status_code == 409 and late.json["error"]["code"] == "handoff_closed"
    assert client.post(f"{path}/join", headers=ops).status_code == 409
