"""Resuming a Rasa conversation over its HTTP API, against a loopback stand-in that records the calls."""

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


def test_no_token_no_client():
    assert RasaConversations.from_settings("http://127.0.0.1:5005", None) is None
    assert RasaConversations.from_settings(None, "t") is None
    with pytest.raises(ValueError):
        RasaConversations("http://127.0.0.1:5005", "")
