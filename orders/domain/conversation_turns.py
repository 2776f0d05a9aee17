"""Conversation analytics: per-turn facts from the events Rasa publishes, and per-day figures.

Rasa's event broker publishes each tracker event once (``{"sender_id":…, "event":"user", …}``).
Several consumers may take them from one queue, in any order, so the events are stored as they come
and turns are put together when read: a turn is a user message and what the bot did until it
listened again.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from typing import Any

LISTEN = "action_listen"
# What Rasa and our rules run when they did not understand (config.yml: FallbackClassifier + rules).
FALLBACK_ACTIONS = frozenset(
    {
        "action_default_fallback",
        "action_two_stage_fallback",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
    }
)
FALLBACK_INTENTS = frozenset({"nlu_fallback"})
# Rasa's own bookkeeping, not what the bot decided to do.
_BOOKKEEPING_ACTIONS = frozenset({LISTEN, "action_session_start", "action_restart", "action_unlikely_intent"})


@dataclass(frozen=True)
class TurnEvent:
    """One stored broker event: a user message or an action the bot ran."""

    key: str  # the same event delivered twice has the same key
    conversation_id: str
    at: float  # Rasa's timestamp, seconds since the epoch
    kind: str  # "user" or "action"
    intent: str | None = None
    confidence: float | None = None
    action: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Turn:
    conversation_id: str
    at: float
    intent: str | None
    confidence: float | None
    channel: str | None
    action: str | None  # the first action the bot chose (not listening or bookkeeping)
    fallback: bool
    latency_s: float | None  # from the message to the bot listening again; None while unfinished


@dataclass(frozen=True)
class DayFigures:
    day: date
    turns: int
    fallbacks: int
    top_intents: list[tuple[str, int]]

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.turns if self.turns else 0.0


def event_from_rasa(body: Mapping[str, Any]) -> TurnEvent | None:
    """The event a broker message carries, or None for events analytics does not use (bot
    utterances, slots...) and for messages that are not Rasa events."""
    kind, sender, at = body.get("event"), body.get("sender_id"), body.get("timestamp")
    if kind not in ("user", "action") or not isinstance(sender, str) or not sender:
        return None
    if isinstance(at, bool) or not isinstance(at, int | float):
        return None
    if kind == "user":
        parse = body.get("parse_data") if isinstance(body.get("parse_data"), Mapping) else {}
        intent = parse.get("intent") if isinstance(parse.get("intent"), Mapping) else {}
        name = intent.get("name") if isinstance(intent.get("name"), str) else None
        confidence = intent.get("confidence")
        confidence = float(confidence) if isinstance(confidence, int | float) else None
        channel = body.get("input_channel") if isinstance(body.get("input_channel"), str) else None
        identity = str(body.get("message_id") or "")
        return TurnEvent(
            _key(sender, kind, at, identity),
            sender[:128],
            float(at),
            kind,
            intent=name[:128] if name else None,
            confidence=confidence,
            channel=channel[:32] if channel else None,
        )
    name = body.get("name")
    if not isinstance(name, str) or not name:
        return None
    return TurnEvent(_key(sender, kind, at, name), sender[:128], float(at), kind, action=name[:128])


def _key(sender: str, kind: str, at: float, identity: str) -> str:
    return hashlib.sha1(f"{sender}\x00{kind}\x00{at!r}\x00{identity}".encode()).hexdigest()


def assemble_turns(events: Iterable[TurnEvent]) -> list[Turn]:
    """Turns of the given events, oldest first. Actions before a conversation's first user message
    (session start) belong to no turn."""
    by_conversation: dict[str, list[TurnEvent]] = defaultdict(list)
    for event in events:
        by_conversation[event.conversation_id].append(event)
    turns: list[Turn] = []
    for its_events in by_conversation.values():
        its_events.sort(key=lambda e: (e.at, e.kind != "user"))  # a message before what answers it
        current: TurnEvent | None = None
        action: str | None = None
        fallback = False
        for event in its_events:
            if event.kind == "user":
                if current is not None:
                    turns.append(_turn(current, action, fallback, None))
                current, action = event, None
                fallback = event.intent in FALLBACK_INTENTS
            elif current is not None:
                if event.action == LISTEN:
                    turns.append(_turn(current, action, fallback, event.at - current.at))
                    current = None
                elif event.action not in _BOOKKEEPING_ACTIONS:
                    action = action or event.action
                    fallback = fallback or event.action in FALLBACK_ACTIONS
        if current is not None:
            turns.append(_turn(current, action, fallback, None))
    turns.sort(key=lambda t: t.at)
    return turns


def _turn(message: TurnEvent, action: str | None, fallback: bool, latency: float | None) -> Turn:
    return Turn(
        message.conversation_id,
        message.at,
        message.intent,
        message.confidence,
        message.channel,
        action,
        fallback,
        latency,
    )


def figures_per_day(turns: Iterable[Turn], tz: tzinfo, top: int = 5) -> list[DayFigures]:
    """Turns, fallbacks and the most frequent intents of each day (in ``tz``), oldest day first."""
    counts: dict[date, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    fallbacks: Counter = Counter()
    for turn in turns:
        day = datetime.fromtimestamp(turn.at, timezone.utc).astimezone(tz).date()
        totals[day] += 1
        fallbacks[day] += turn.fallback
        if turn.intent:
            counts[day][turn.intent] += 1
    return [
        DayFigures(day, totals[day], fallbacks[day], counts[day].most_common(top)) for day in sorted(totals)
    ]
