"""A clear reply when the action server cannot be reached, instead of silence.

When a custom action fails (connection refused, timeout, HTTP 5xx), Rasa 3.6 logs the error, drops the
action's events and goes on: the customer gets no answer at all. ``install()`` wraps Rasa's
``RemoteAction.run`` so that such a failure utters "temporarily unavailable" in the conversation's
language (the ``language`` slot) and the conversation goes on as usual; the next message reaches the
action server again as soon as it is back. A rejection by the action server (HTTP 400, e.g. a form
validation that rejects) is not a failure and still reaches Rasa as it did.

The words come from the domain's ``utter_action_server_unavailable`` when it defines one, else from
``MESSAGES`` below. ``bot/endpoints.py`` installs this (Rasa loads it at start-up in every profile).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import aiohttp
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

RESPONSE = "utter_action_server_unavailable"
MESSAGES = {
    "en": "Sorry, I am temporarily unavailable. Please try again in a minute.",
    "zh": "抱歉，服务暂时不可用，请稍后再试。",
}
_FAILURES = (RasaException, asyncio.TimeoutError, aiohttp.ClientError)


def unavailable_text(language: Any) -> str:
    return MESSAGES.get(language if isinstance(language, str) else "", MESSAGES["en"])


async def unavailable_reply(output_channel, nlg, tracker, domain) -> dict[str, Any]:
    """The message for this conversation: the domain's response when it has one, else ours."""
    if domain is not None and RESPONSE in getattr(domain, "responses", {}):
        try:
            generated = await nlg.generate(RESPONSE, tracker, output_channel.name())
        except Exception:  # noqa: BLE001 - a broken template must not silence the reply
            logger.exception("could not render %s", RESPONSE)
            generated = None
        if generated:
            return {**generated, "utter_action": RESPONSE}
    return {"text": unavailable_text(tracker.get_slot("language"))}


def install() -> None:
    """Wrap ``RemoteAction.run`` once (installing twice changes nothing)."""
    original = RemoteAction.run
    if getattr(original, "_orderbot_fallback", False):
        return

    @functools.wraps(original)
    async def run(self, output_channel, nlg, tracker, domain):
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except _FAILURES as failure:
            logger.error(
                "action %s failed (%s: %s): the user is told the service is temporarily unavailable",
                self.name(),
                type(failure).__name__,
                failure,
            )
            message = await unavailable_reply(output_channel, nlg, tracker, domain)
            return [create_bot_utterance(message)]

    run._orderbot_fallback = True
    RemoteAction.run = run
