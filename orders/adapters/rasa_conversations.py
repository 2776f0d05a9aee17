"""Rasa's HTTP API, as far as the order service uses it: a handoff's conversation, read and resumed.

The assistant pauses a conversation when it opens a handoff ticket (the bot stays quiet while staff
answer); the console shows staff what was said (read from Rasa, whatever its tracker store: the
SQLite file of `make run`, PostgreSQL in production), and closing the ticket appends Rasa's
``resume`` event to that conversation's tracker. Rasa must run with ``--enable-api --auth-token``
(the Procfile does, with ``RASA_AUTH_TOKEN``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)

TOKEN_SLOT = "customer_token"  # the assistant's slot (actions/identity.py) for a token proved in chat


@dataclass(frozen=True)
class Transcript:
    messages: list[dict[str, Any]]  # {"speaker": "customer" | "bot", "text", "at"[, "buttons"]}
    tokens: frozenset[str]  # sent with the customer's messages, or proved in the chat: never shown


def _buttons(data: Any) -> list[dict[str, str]]:
    """A bot message's buttons as {"title", "payload"} (what the chat page offers to click again)."""
    buttons = data.get("buttons") if isinstance(data, dict) else None
    return [
        {
            "title": b["title"],
            "payload": b.get("payload") if isinstance(b.get("payload"), str) else b["title"],
        }
        for b in (buttons if isinstance(buttons, list) else [])
        if isinstance(b, dict) and isinstance(b.get("title"), str)
    ]


class RasaConversations:
    def __init__(self, base_url: str, auth_token: str, timeout_s: float = 5.0, attempts: int = 3) -> None:
        if not auth_token:
            raise ValueError("an empty Rasa auth token would leave Rasa's HTTP API open")
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.timeout_s = timeout_s
        self.attempts = attempts

    @classmethod
    def from_settings(cls, rasa_url: str | None, auth_token: str | None) -> RasaConversations | None:
        """None when either is unset: tickets still close, conversations stay as Rasa has them."""
        return cls(rasa_url, auth_token) if rasa_url and auth_token else None

    def transcript(self, conversation_id: str, limit: int = 200) -> Transcript | None:
        """The customer's and the bot's messages, oldest first (the last ``limit``), and the customer
        tokens the conversation holds (sent by the chat page with a message, or proved in the chat);
        None when Rasa cannot be asked. Only speaker, text and time are for showing: the tokens are
        for telling whose conversation it is."""
        try:
            response = requests.get(
                self._tracker_url(conversation_id),
                params={"token": self.auth_token, "include_events": "ALL"},
                timeout=self.timeout_s,
            )
            body = response.json() if response.ok else None
            events = body.get("events") if body is not None else None
        except (requests.RequestException, ValueError, AttributeError) as problem:
            log.warning("handoff: cannot read conversation %r from Rasa (%s)", conversation_id[:64], problem)
            return None
        if not isinstance(events, list):
            log.warning(
                "handoff: Rasa gave no events for %r (HTTP %s)", conversation_id[:64], response.status_code
            )
            return None
        messages, tokens = [], set()
        for event in events:
            if not isinstance(event, dict) or event.get("event") not in ("user", "bot"):
                continue
            metadata = event.get("metadata")
            token = metadata.get("token") if isinstance(metadata, dict) else None
            if event["event"] == "user" and isinstance(token, str) and token:
                tokens.add(token)
            text = event.get("text")
            if isinstance(text, str) and text:
                at = datetime.fromtimestamp(float(event.get("timestamp") or 0), timezone.utc)
                speaker = "customer" if event["event"] == "user" else "bot"
                message = {"speaker": speaker, "text": text, "at": at}
                if speaker == "bot":
                    message["buttons"] = _buttons(event.get("data"))
                messages.append(message)
        # A customer who proved who they are by typing it in the chat has their token in a slot.
        slots = body.get("slots")
        slot_token = slots.get(TOKEN_SLOT) if isinstance(slots, dict) else None
        if isinstance(slot_token, str) and slot_token:
            tokens.add(slot_token)
        return Transcript(messages[-limit:], frozenset(tokens))

    def _tracker_url(self, conversation_id: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/tracker"

    def resume(self, conversation_id: str) -> bool:
        """Let the bot answer ``conversation_id`` again; False (and a warning) when Rasa did not take it."""
        url = f"{self._tracker_url(conversation_id)}/events"
        for attempt in range(1, self.attempts + 1):
            try:
                response = requests.post(
                    url,
                    params={"token": self.auth_token, "include_events": "NONE"},
                    # Listening again, as after any bot turn: what the customer wrote meanwhile was for
                    # staff, and the next message starts a fresh turn.
                    json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                    timeout=self.timeout_s,
                )
            except requests.RequestException as problem:
                reason = f"{type(problem).__name__}"
            else:
                if response.ok:
                    return True
                reason = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break  # a wrong token or URL does not heal by retrying
            if attempt < self.attempts:
                time.sleep(0.2 * 2**attempt)
        log.warning("handoff: Rasa did not resume conversation %r (%s)", conversation_id[:64], reason)
        return False
