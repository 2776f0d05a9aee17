"""Conversation analytics: store the events Rasa publishes; per-turn facts and per-day figures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from orders.adapters.repositories import ConversationEventRepository
from orders.domain.conversation_turns import (
    DayFigures,
    Turn,
    assemble_turns,
    event_from_rasa,
    figures_per_day,
)

# A turn's actions come within seconds of its message; an hour is a safe margin at a range's end.
TURN_MARGIN_S = 3600.0


def record_rasa_events(engine: Engine, bodies: Iterable[Mapping[str, Any]]) -> int:
    """Store the analytics events among broker message bodies in one transaction; returns how many
    were new (a redelivered event is stored once)."""
    events = [event for body in bodies if (event := event_from_rasa(body)) is not None]
    with Session(engine) as session:
        added = ConversationEventRepository(session).add(events)
        session.commit()
    return added


def turns_between(engine: Engine, start: float, end: float) -> list[Turn]:
    """Turns whose message came in [start, end) (seconds since the epoch), oldest first."""
    with Session(engine) as session:
        events = ConversationEventRepository(session).between(start, end + TURN_MARGIN_S)
    return [turn for turn in assemble_turns(events) if start <= turn.at < end]


def daily_figures(engine: Engine, days: int, tz: tzinfo, today: date | None = None) -> list[DayFigures]:
    """Turns, fallback rate and top intents for each of the last ``days`` days (``tz``'s days), with
    days without turns included, oldest first."""
    today = today or datetime.now(tz).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(), tz).timestamp()
    end = datetime.combine(today + timedelta(days=1), time(), tz).timestamp()
    found = {figures.day: figures for figures in figures_per_day(turns_between(engine, start, end), tz)}
    return [
        found.get(day, DayFigures(day, 0, 0, []))
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]
