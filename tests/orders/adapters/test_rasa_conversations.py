"""Reading and resuming a Rasa conversation over its HTTP API, against a loopback stand-in that records
the calls and answers as Rasa 3.6 does."""

from __future__ import annotations

import pytest

from orders.adapters.rasa_conversations import RasaConversations
from tests.platform_recorder import Recorder


@pytest.fixture
def rasa():
    server = Recorder()
    yield server
    server.close()


def test_resume_appends_the_resume_event_with_the_token(rasa):
    conversations = RasaConversations(rasa.url, "secret-token")
    assert conversations.resume("web/a b?c") is True
    (request,) = rasa.requests
    assert request["path"] == "/conversations/web%2Fa%20b%3Fc/tracker/events"
    assert request["query"]["token"] == "secret-token"
    assert request["json"] == [{"event": "resume"}, {"event": "action", "name": "action_listen"}]


def test_a_refusal_is_not_retried_and_a_server_error_is(rasa):
    conversations = RasaConversations(rasa.url, "wrong", attempts=3)
    rasa.answer = lambda request: (401, {"message": "NotAuthenticated"}, {})
    assert conversations.resume("c-1") is False
    assert len(rasa.requests) == 1
    rasa.answer = lambda request: (503, {}, {})
    assert conversations.resume("c-1") is False
    assert len(rasa.requests) == 1 + 3


def test_an_unreachable_rasa_is_reported_not_raised():
    assert RasaConversations("http://127.0.0.1:9", "t", timeout_s=1, attempts=1).resume("c-1") is False
    assert RasaConversations("http://127.0.0.1:9", "t", timeout_s=1).transcript("c-1") is None


TRACKER = {
    "sender_id": "web/a b?c",
    "events": [
        {"event": "session_started", "timestamp": 1764000000.0},
        {"event": "action", "name": "action_listen", "timestamp": 1764000000.5},
        {"event": "user", "text": "人工", "timestamp": 1764000001.0, "metadata": {"token": "SECRET-TOKEN"}},
        {"event": "bot", "text": "Ticket #1 is open.", "timestamp": 1764000002.0, "data": {}},
        {"event": "bot", "text": None, "timestamp": 1764000003.0, "data": {"custom": {"x": 1}}},
        {"event": "user", "text": "still there?", "timestamp": 1764000004.0},
    ],
}


def test_the_transcript_is_the_texts_and_times_of_the_conversation_only(rasa):
    rasa.answer = lambda request: (200, TRACKER, {})
    conversations = RasaConversations(rasa.url, "secret-token")
    transcript = conversations.transcript("web/a b?c")
    messages = transcript.messages
    assert [(m["speaker"], m["text"], m["at"].timestamp()) for m in messages] == [
        ("customer", "人工", 1764000001.0),
        ("bot", "Ticket #1 is open.", 1764000002.0),
        ("customer", "still there?", 1764000004.0),
    ]
    # No metadata, no token: only what is shown (a bot message's buttons, to click again).
    assert [set(m) for m in messages] == [
        {"speaker", "text", "at"},
        {"speaker", "text", "at", "buttons"},
        {"speaker", "text", "at"},
    ]
    assert transcript.tokens == {"SECRET-TOKEN"}  # for telling whose conversation it is, apart
    (request,) = rasa.requests
    assert request["path"] == "/conversations/web%2Fa%20b%3Fc/tracker"
    assert request["query"] == {"token": "secret-token", "include_events": "ALL"}
    assert [m["text"] for m in conversations.transcript("web/a b?c", limit=1).messages] == ["still there?"]


@pytest.mark.parametrize(
    "answer",
    [(401, {"message": "NotAuthenticated"}, {}), (500, {}, {}), (200, {"events": "not a list"}, {})],
)
def test_a_transcript_rasa_cannot_give_is_unavailable_not_an_error(rasa, answer):
    rasa.answer = lambda request: answer
    assert RasaConversations(rasa.url, "t").transcript("c-1") is None


def test_no_token_no_client():
    assert RasaConversations.from_settings("http://127.0.0.1:5005", None) is None
    assert RasaConversations.from_settings(None, "t") is None
    with pytest.raises(ValueError):
        RasaConversations("http://127.0.0.1:5005", "")
