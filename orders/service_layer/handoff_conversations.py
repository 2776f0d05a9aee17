"""A handoff ticket's conversation, read from the assistant and handed back to it.

Whoever opens a ticket names its conversation, so a conversation is shown to staff, or handed back to
the bot when the ticket closes, only if it is the ticket's customer's (for a visitor's ticket: nobody
signed in to it). That rule is ``belongs_to_ticket``, used by both.

The adapters come in as arguments: ``conversations`` reads and resumes Rasa's tracker
(``adapters.rasa_conversations``), ``owns`` tells whose tokens a conversation holds (the token signer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from orders.adapters.rasa_conversations import RasaConversations, Transcript
from orders.domain.access import Actor, check_staff
from orders.service_layer import services, views
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

Owns = Callable[[Iterable[str], str | None], bool]


def belongs_to_ticket(transcript: Transcript, ticket: dict[str, Any], owns: Owns) -> bool:
    return owns(transcript.tokens, ticket["customer_id"])


@dataclass(frozen=True)
class Conversation:
    ticket_id: int
    available: bool  # Rasa answered, and the conversation may be shown
    withheld: bool  # Rasa answered, but the conversation is not the ticket's customer's
    items: list[dict[str, Any]]  # {"speaker", "text", "at", ...}, oldest first: the chat and staff answers


def conversation(
    uow: SqlAlchemyUnitOfWork,
    engine: Engine,
    ticket_id: int,
    who: Actor,
    conversations: RasaConversations | None,
    owns: Owns,
) -> Conversation | None:
    """What was said under a ticket (None when there is no such ticket)."""
    check_staff(who)
    ticket = views.handoff(uow, ticket_id)
    if ticket is None:
        return None
    transcript = conversations.transcript(ticket["conversation_id"]) if conversations else None
    withheld = transcript is not None and not belongs_to_ticket(transcript, ticket, owns)
    messages = None if transcript is None or withheld else transcript.messages
    items = sorted(
        (messages or []) + views.handoff_messages(uow, [ticket_id]) + views.staff_answers(engine, ticket),
        key=lambda m: m["at"],
    )
    return Conversation(ticket_id, messages is not None, withheld, items)


def close(
    uow: SqlAlchemyUnitOfWork,
    ticket_id: int,
    who: Actor,
    conversations: RasaConversations | None,
    owns: Owns,
) -> tuple[dict[str, Any], bool] | None:
    """Close an open ticket and hand its conversation back to the bot when it is the ticket's
    customer's: the closed ticket and whether the bot resumed (None when no such open ticket)."""
    ticket = services.close_handoff(uow, ticket_id, who)
    if ticket is None:
        return None
    return ticket, _resume(ticket, conversations, owns)


def _resume(ticket: dict[str, Any], conversations: RasaConversations | None, owns: Owns) -> bool:
    if conversations is None:
        return False
    transcript = conversations.transcript(ticket["conversation_id"], limit=1)
    if transcript is None or not belongs_to_ticket(transcript, ticket, owns):
        return False
    return conversations.resume(ticket["conversation_id"])
