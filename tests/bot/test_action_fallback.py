"""A failed action server gets the customer a "temporarily unavailable" reply (bot/action_fallback.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import bot.endpoints  # noqa: F401 - installs the fallback, as Rasa's start-up does
from bot import action_fallback
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def run_action(domain: Domain, url: str, language: str = "en", action: str = "action_order_status"):
    tracker = DialogueStateTracker.from_events(
        "alice", [SlotSet("language", language), UserUttered("where is SO-1003?")], domain.slots
    )
    return asyncio.run(
        RemoteAction(action, EndpointConfig(url=url)).run(
            CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
        )
    )


def test_rasa_by_itself_raises_and_its_processor_drops_the_turn_silently(domain):
    from rasa.shared.exceptions import RasaException

    tracker = DialogueStateTracker.from_events("carol", [UserUttered("hi")], domain.slots)
    rasas_own = RemoteAction.run.__wrapped__  # what install() wrapped
    with pytest.raises(RasaException, match="Couldn't connect"):
        asyncio.run(
            rasas_own(
                RemoteAction("action_order_status", EndpointConfig(url=f"http://127.0.0.1:{free_port()}/")),
                CollectingOutputChannel(),
                TemplatedNaturalLanguageGenerator(domain.responses),
                tracker,
                domain,
            )
        )


def test_an_unreachable_action_server_gets_a_reply_in_the_conversations_language(domain):
    url = f"http://127.0.0.1:{free_port()}/webhook"  # nothing listens
    (english,) = run_action(domain, url, "en")
    assert isinstance(english, BotUttered) and english.text == action_fallback.MESSAGES["en"]
    assert "temporarily unavailable" in english.text
    (chinese,) = run_action(domain, url, "zh")
    assert chinese.text == "抱歉，服务暂时不可用，请稍后再试。"


class ActionServer:
    """A stand-in action server answering every call with ``status`` and ``body``."""

    def __init__(self, status: int, body: dict) -> None:
        self.status, self.body, self.port = status, body, free_port()

    async def __aenter__(self):
        async def webhook(_request):
            return web.json_response(self.body, status=self.status)

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}/webhook"

    async def __aexit__(self, *_):
        await self.runner.cleanup()


def run_against(domain: Domain, status: int, body: dict):
    async def call():
        async with ActionServer(status, body) as url:
            tracker = DialogueStateTracker.from_events("bob", [UserUttered("hi")], domain.slots)
            return await RemoteAction("action_order_status", EndpointConfig(url=url)).run(
                CollectingOutputChannel(),
                TemplatedNaturalLanguageGenerator(domain.responses),
                tracker,
                domain,
            )

    return asyncio.run(call())


def test_an_action_server_error_gets_the_reply_too(domain):
    (reply,) = run_against(domain, 500, {"error": "boom"})
    assert reply.text == action_fallback.MESSAGES["en"]


def test_a_rejection_by_the_action_server_still_reaches_rasa(domain):
    with pytest.raises(ActionExecutionRejection):
        run_against(domain, 400, {"action_name": "action_order_status", "error": "rejected"})


def test_a_working_action_server_is_untouched(domain):
    events = run_against(domain, 200, {"events": [], "responses": [{"text": "Order SO-1003 is shipped."}]})
    assert [e.text for e in events] == ["Order SO-1003 is shipped."]


def test_the_domain_may_word_the_reply_itself(domain):
    worded = Domain.from_dict(
        {
            **domain.as_dict(),
            "responses": {
                **domain.responses,
                action_fallback.RESPONSE: [{"text": "Back in a moment, sorry!"}],
            },
        }
    )
    (reply,) = run_action(worded, f"http://127.0.0.1:{free_port()}/webhook")
    assert reply.text == "Back in a moment, sorry!"


def test_installing_twice_wraps_once():
    wrapped = RemoteAction.run
    action_fallback.install()
    assert RemoteAction.run is wrapped and wrapped._orderbot_fallback
