"""Turns from Rasa's broker events: what was asked, what the bot did, whether it fell back, how long."""

from __future__ import annotations

import random
from datetime import date
from zoneinfo import ZoneInfo

from orders.domain.conversation_turns import assemble_turns, event_from_rasa, figures_per_day

SHANGHAI = ZoneInfo("Asia/Shanghai")


def user(sender, at, intent, confidence=0.9, channel="socketio", message_id=None):
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": at,
        "text": "…",
        "parse_data": {"intent": {"name": intent, "confidence": confidence}},
        "input_channel": channel,
        "message_id": message_id or f"{sender}-{at}",
    }


def action(sender, at, name):
    return {"sender_id": sender, "event": "action", "timestamp": at, "name": name}


def conversation(sender="web-1", start=1_764_547_200.0):  # 2025-12-01 08:00 Shanghai
    return [
        action(sender, start - 5, "action_session_start"),
        action(sender, start - 5, "action_listen"),
        user(sender, start, "order_status"),
        action(sender, start + 0.04, "action_order_status"),
        {"sender_id": sender, "event": "bot", "timestamp": start + 0.05, "text": "SO-1001 shipped"},
        action(sender, start + 0.06, "action_listen"),
        user(sender, start + 10, "nlu_fallback", confidence=0.31),
        action(sender, start + 10.02, "action_two_stage_fallback"),
        action(sender, start + 10.03, "action_listen"),
        user(sender, start + 20, "greet"),
    ]


def turns_of(bodies):
    return assemble_turns([e for body in bodies if (e := event_from_rasa(body)) is not None])


def test_a_turn_is_a_message_and_what_the_bot_did_until_it_listened():
    first, second, third = turns_of(conversation())
    assert (first.intent, first.confidence, first.channel) == ("order_status", 0.9, "socketio")
    assert first.action == "action_order_status" and not first.fallback
    assert abs(first.latency_s - 0.06) < 1e-6
    assert second.intent == "nlu_fallback" and second.fallback
    assert second.action == "action_two_stage_fallback"
    assert third.intent == "greet" and third.action is None and third.latency_s is None  # unfinished


def test_order_of_arrival_and_redelivery_do_not_matter():
    bodies = conversation("a") + conversation("b", start=1_764_547_300.0)
    shuffled = bodies + bodies[:4]  # some delivered twice
    random.Random(7).shuffle(shuffled)
    events = {e.key: e for body in shuffled if (e := event_from_rasa(body)) is not None}
    assert assemble_turns(events.values()) == turns_of(bodies)


def test_a_fallback_action_marks_the_turn_even_with_a_confident_intent():
    turn, *_ = turns_of(
        [
            user("x", 1.0, "order_status"),
            action("x", 1.1, "action_default_fallback"),
            action("x", 1.2, "action_listen"),
        ]
    )
    assert turn.fallback


def test_what_is_not_a_rasa_user_or_action_event_is_ignored():
    for body in (
        {"event": "user", "timestamp": 1.0},  # no sender
        {"sender_id": "x", "event": "user", "timestamp": "yesterday"},
        {"sender_id": "x", "event": "action", "timestamp": 1.0},  # no name
        {"sender_id": "x", "event": "slot", "timestamp": 1.0, "name": "language"},
        {"sender_id": "x", "event": "user", "timestamp": True},
    ):
        assert event_from_rasa(body) is None
    odd = event_from_rasa({"sender_id": "x", "event": "user", "timestamp": 2, "parse_data": "?"})
    assert odd is not None and odd.intent is None and odd.confidence is None


def test_figures_per_day_in_the_shops_time_zone():
    start = 1_764_604_785.0  # 2025-12-01 23:59:45 Shanghai: the third message is past midnight there
    days = figures_per_day(turns_of(conversation(start=start)), SHANGHAI)
    assert [(d.day, d.turns, d.fallbacks) for d in days] == [
        (date(2025, 12, 1), 2, 1),
        (date(2025, 12, 2), 1, 0),
    ]
    assert days[0].fallback_rate == 0.5
    assert days[0].top_intents == [("order_status", 1), ("nlu_fallback", 1)]
