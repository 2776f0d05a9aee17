"""A signed-in customer's chat, put together again for the chat page after a reload or in a new tab.

The talk itself is Rasa's tracker of that conversation (read through ``adapters.rasa_conversations``);
around it go what the customer was sent meanwhile (notifications, staff answers: the outbox rows the
hub pushed) and what they wrote to staff during a handoff. A conversation is shown only to the
customer it belongs to (``Owns``, as for a handoff ticket): one holding another customer's token, or
none of this customer's, is one that does not exist. When Rasa cannot be asked the history is
unavailable (not an error: the chat goes on), and only the customer's own open ticket is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from orders.adapters.rasa_conversations import RasaConversations
from orders.domain.access import Actor, NotPermitted, Role
from orders.service_layer import views
from orders.service_layer.handoff_conversations import Owns
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

MAX_ITEMS = 200
# Notifications written a moment before the conversation's first message belong to it too (the page
# was open, the hub connected, before the customer typed anything).
LEAD_IN = timedelta(minutes=5)


@dataclass(frozen=True)
class ChatHistory:
    available: bool  # Rasa could be asked (else only the open ticket is known: it is the customer's own)
    messages: list[dict[str, Any]]  # {"speaker": "customer"|"bot", "text", "at"[, "buttons"]}
    notifications: list[dict[str, Any]]  # outbox rows the customer received, in the same time span
    handoff: dict[str, Any] | None  # the conversation's open ticket: {"ticket_id", "joined"}


def history(
    uow: SqlAlchemyUnitOfWork,
    conversation_id: str,
    who: Actor,
    conversations: RasaConversations | None,
    owns: Owns,
) -> ChatHistory | None:
    """The customer's conversation ``conversation_id``, oldest first, at most MAX_ITEMS messages and as
    many notifications; None when it is not theirs."""
    if who.role is not Role.CUSTOMER or not who.customer_id:
        raise NotPermitted("Only a signed-in customer reads their own chat.")
    transcript = conversations.transcript(conversation_id, limit=MAX_ITEMS) if conversations else None
    with uow:
        tickets = uow.handoffs.of_conversation(conversation_id, who.customer_id)
    if transcript is None:  # Rasa not configured or not answering: the page says so and goes on
        return ChatHistory(False, [], [], _open_ticket(tickets))
    if not transcript.messages and not transcript.tokens:
        return ChatHistory(True, [], [], None)  # nothing said yet: a conversation just begun
    if not owns(transcript.tokens, who.customer_id):
        return None
    written = views.handoff_messages(uow, [t["id"] for t in tickets], MAX_ITEMS)
    messages = sorted(transcript.messages + written, key=lambda m: m["at"])[-MAX_ITEMS:]
    notifications = []
    if messages:
        with uow:
            notifications = uow.outbox.customer_since(who.customer_id, messages[0]["at"] - LEAD_IN, MAX_ITEMS)
    return ChatHistory(True, messages, notifications, _open_ticket(tickets))


def _open_ticket(tickets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The customer's open ticket among a conversation's, as the page needs it."""
    ticket = next((t for t in reversed(tickets) if t["status"] == "open"), None)
    return {"ticket_id": ticket["id"], "joined": ticket["joined_at"] is not None} if ticket else None
