"""Replies phrased by the LLM server, guarded for facts and meaning; the plain template whenever in doubt.

Actions keep replying with ``dispatcher.utter_message(response=..., **facts)``. Afterwards ``phrase``
renders each such reply's template in the user's language (as Rasa would) and, for a reply that carries
facts and is not kept plain on purpose (``orderbot_common.phrasing.KEPT_PLAIN``), asks the OpenAI-compatible
server at ``LLM_BASE_URL`` for a friendlier wording. The wording is sent only when the reply guard
(``fact_guard.check``) passes: facts exact, the template's meaning, language and form. A reply without
facts is never sent to the model, nor is a prompt longer than ``LLM_MAX_PROMPT_CHARS``. A slow
(``LLM_TIMEOUT``, default 1.5 s) or failing server, or ``LLM_PHRASING=off``, leaves the template.
Every outcome is counted in ``orderbot_phrasing_total``, every refusal's reason in
``orderbot_phrasing_rejected_total``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from orderbot_common.phrasing import KEPT_PLAIN, PLACEHOLDER
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.phraser import PHRASING, REJECTED, Phraser
from actions.replies import language

__all__ = ["PHRASING", "REJECTED", "Phraser", "phrase_replies", "phrased", "template_and_facts"]

# Keys of a collected message that are not facts of its template.
_MESSAGE_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}


def _variant(domain: Mapping[str, Any], response: str, tracker: Tracker) -> Mapping[str, Any] | None:
    """The response variant Rasa would choose for the current slots (conditional ones first)."""
    variants = (domain.get("responses") or {}).get(response) or []

    def matches(variant: Mapping[str, Any]) -> bool:
        return all(
            condition.get("type") == "slot"
            and tracker.get_slot(condition.get("name")) == condition.get("value")
            for condition in variant.get("condition") or []
        )

    conditional = [v for v in variants if v.get("condition") and matches(v)]
    plain = [v for v in variants if not v.get("condition")]
    chosen = (conditional or plain or [None])[0]
    if chosen is None or any(chosen.get(key) for key in ("buttons", "image", "custom", "attachment")):
        return None  # only plain text is rephrased
    return chosen


def template_and_facts(
    message: Mapping[str, Any], tracker: Tracker, domain: Mapping[str, Any]
) -> tuple[str, dict[str, str]] | None:
    """The text Rasa would send for ``message`` and the values it fills in, or None when the reply is
    not to be phrased (not plain text, no facts, kept plain on purpose)."""
    response = message.get("response") or ""
    variant = _variant(domain, response, tracker)
    if variant is None or not variant.get("text") or response in KEPT_PLAIN or message.get("buttons"):
        return None
    if not PLACEHOLDER.search(variant["text"]):
        return None  # no fact would hold a model to this reply's meaning: the template it is
    values = {**tracker.current_slot_values(), **{k: v for k, v in message.items() if k not in _MESSAGE_KEYS}}
    facts: dict[str, str] = {}
    for name in PLACEHOLDER.findall(variant["text"]):
        if values.get(name) is None:
            return None  # Rasa would leave the placeholder: not a reply worth rephrasing
        facts[name] = str(values[name])
    template = PLACEHOLDER.sub(lambda match: facts[match.group(1)], variant["text"]).strip()
    return template, facts


async def phrase_replies(
    phraser: Phraser, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Mapping[str, Any]
) -> None:
    """Replace the text of each templated reply collected so far by its phrasing, where it passes."""
    lang = language(tracker)
    jobs = []
    for message in dispatcher.messages:
        if not message.get("response") or message.get("text"):
            continue
        rendered = template_and_facts(message, tracker, domain)
        if rendered is not None:
            jobs.append((message, rendered))
    replies = await asyncio.gather(*(phraser.phrase(lang, facts, template) for _, (template, facts) in jobs))
    for (message, _), reply in zip(jobs, replies, strict=True):
        if reply is not None:
            message["text"] = reply
            message["response"] = message["template"] = None  # Rasa sends the text as it is


@functools.cache
def default_phraser() -> Phraser:
    return Phraser.from_env()


RunMethod = Callable[[Any, CollectingDispatcher, Tracker, dict[str, Any]], Awaitable[list[dict[str, Any]]]]


def phrased(run: RunMethod) -> RunMethod:
    """Decorate an action's ``run`` so that its replies go through ``phrase_replies``."""

    @functools.wraps(run)
    async def run_and_phrase(self, dispatcher, tracker, domain):
        events = await run(self, dispatcher, tracker, domain)
        await phrase_replies(default_phraser(), dispatcher, tracker, domain)
        return events

    return run_and_phrase
