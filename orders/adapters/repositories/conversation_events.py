"""The assistant's conversation events, for the analytics."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    conversation_events,
)
from orders.domain.conversation_turns import TurnEvent


class ConversationEventRepository:
    """Rasa's conversation events (analytics): stored once each, read back by time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, events: Sequence[TurnEvent]) -> int:
        """Store ``events``, skipping any stored already (a redelivery); returns how many were new."""
        if not events:
            return 0
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(conversation_events).on_conflict_do_nothing(index_elements=["key"])
        rows = [
            {
                "key": e.key,
                "conversation_id": e.conversation_id,
                "at": e.at,
                "kind": e.kind,
                "intent": e.intent,
                "confidence": e.confidence,
                "action": e.action,
                "channel": e.channel,
            }
            for e in events
        ]
        stored = self.session.execute(statement.returning(conversation_events.c.id), rows)
        return len(stored.all())

    def between(self, start: float, end: float) -> list[TurnEvent]:
        rows = self.session.execute(
            select(conversation_events)
            .where(conversation_events.c.at >= start, conversation_events.c.at < end)
            .order_by(conversation_events.c.at, conversation_events.c.id)
        )
        return [
            TurnEvent(r.key, r.conversation_id, r.at, r.kind, r.intent, r.confidence, r.action, r.channel)
            for r in rows
        ]
